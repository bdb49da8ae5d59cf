package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/cohort/cohort/bench/synth"
	"github.com/cohort/cohort/partition"
)

// GenConfig is one `cohort gen` run.
type GenConfig struct {
	Kind string // blobs | customers | transactions
	Rows int64
	Out  string // .csv, .csv.gz or .parquet
	Seed uint64
	// Blobs only: the Gaussian mixture (partition.SyntheticSpec).
	Dims, Clusters int
	Spread         float64
	// ID, for blobs, names a text id column written first (BlobID of the
	// row's number), so a job over the file has customers to name in its
	// assignments; empty writes the dims alone.
	ID string
}

// GenReport is what a generation wrote.
type GenReport struct {
	Kind    string  `json:"kind"`
	Rows    int64   `json:"rows"`
	Out     string  `json:"out"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
}

// genChunk is the unit of generation: customers rows, or the customers whose
// invoices make a transaction chunk (about 25 rows each).
const (
	customerChunk    = 1 << 16
	transactionChunk = 2048
)

// Gen writes a synthetic customers table or transaction log. Chunks are
// generated on every core and written in order, so the file is the same
// for a seed whatever the machine. A failed run removes the partial file.
func Gen(ctx context.Context, cfg GenConfig) (rep GenReport, err error) {
	if cfg.Rows < 1 {
		return rep, fmt.Errorf("--rows must be at least 1 (got %d)", cfg.Rows)
	}
	var fields []partition.Field
	var blobs *partition.Blobs
	switch cfg.Kind {
	case "customers":
		fields = synth.CustomerFields
	case "transactions":
		fields = synth.TransactionFields
	case "blobs":
		var err error
		blobs, err = partition.NewBlobs(partition.SyntheticSpec{Kind: "blobs", Rows: cfg.Rows, Dims: cfg.Dims,
			Clusters: cfg.Clusters, Spread: cfg.Spread, Seed: cfg.Seed}, customerChunk)
		if err != nil {
			return rep, err
		}
		if cfg.ID != "" {
			fields = append(fields, partition.Field{Name: cfg.ID, Type: partition.Text})
		}
		for j := range cfg.Dims {
			fields = append(fields, partition.Field{Name: fmt.Sprintf("x%d", j+1), Type: partition.Number})
		}
	default:
		return rep, fmt.Errorf("unknown kind %q: generate blobs, customers or transactions", cfg.Kind)
	}
	start := time.Now()
	w, err := partition.CreateTable(cfg.Out, fields)
	if err != nil {
		return rep, err
	}
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				w.Close()
			}
			os.Remove(cfg.Out)
		}
	}()

	type result struct {
		t        *partition.Table
		invoices int64
		err      error
	}
	generate := func(chunk int) result {
		switch cfg.Kind {
		case "blobs":
			b, err := blobs.Load(ctx, chunk)
			if err != nil {
				return result{err: err}
			}
			return result{t: blockTable(b, fields, cfg.ID != "")}
		case "customers":
			first := int64(chunk) * customerChunk
			return result{t: synth.Customers(cfg.Seed, chunk, first+1, int(min(customerChunk, cfg.Rows-first)))}
		}
		t, n := synth.Transactions(cfg.Seed, chunk, int64(chunk)*transactionChunk, transactionChunk)
		return result{t: t, invoices: n}
	}
	// A window of chunks in flight, each on its own goroutine, consumed in
	// order.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	window := 2 * runtime.GOMAXPROCS(0)
	pending := make([]chan result, 0, window)
	next := 0
	launch := func() {
		ch := make(chan result, 1)
		chunk := next
		next++
		go func() {
			select {
			case ch <- generate(chunk):
			case <-ctx.Done():
			}
		}()
		pending = append(pending, ch)
	}
	var written int64
	invoice := int64(synth.FirstInvoice)
	// Blobs and customers have a known number of chunks; a log's chunks
	// have a random number of rows, so it makes them until it has enough.
	chunks := int((cfg.Rows + customerChunk - 1) / customerChunk)
	if cfg.Kind == "transactions" {
		chunks = math.MaxInt
	}
	for written < cfg.Rows {
		for len(pending) < window && next < chunks {
			launch()
		}
		var res result
		select {
		case res = <-pending[0]:
		case <-ctx.Done():
			return rep, ctx.Err()
		}
		pending = pending[1:]
		if res.err != nil {
			return rep, res.err
		}
		if cfg.Kind == "transactions" {
			synth.Renumber(res.t, invoice)
			invoice += res.invoices
		}
		if left := cfg.Rows - written; int64(res.t.Rows) > left {
			res.t.Head(int(left))
		}
		if err := w.Write(res.t); err != nil {
			return rep, fmt.Errorf("write %s: %w", cfg.Out, err)
		}
		written += int64(res.t.Rows)
	}
	cancel()
	closed = true
	if err := w.Close(); err != nil {
		return rep, fmt.Errorf("close %s: %w", cfg.Out, err)
	}
	st, err := os.Stat(cfg.Out)
	if err != nil {
		return rep, err
	}
	return GenReport{Kind: cfg.Kind, Rows: written, Out: cfg.Out, Bytes: st.Size(), Seconds: time.Since(start).Seconds()}, nil
}

// blockTable is a block's rows as a table of its real dimensions, after
// their ids if withID. Each float32 becomes the float64 of its shortest
// decimal form, so a file holds 0.1 rather than 0.10000000149011612 and
// reads back to the same float32.
func blockTable(b *partition.Block, fields []partition.Field, withID bool) *partition.Table {
	t := partition.NewTable(fields)
	dims := t.Columns
	if withID {
		// Every id is distinct: the dictionary is the ids in row order.
		ids := &t.Columns[0]
		ids.Dict, ids.Codes = make([]string, b.Rows), make([]int32, b.Rows)
		for i, id := range b.IDs {
			ids.Dict[i], ids.Codes[i] = BlobID(id), int32(i)
		}
		dims = t.Columns[1:]
	}
	for j := range dims {
		col := make([]float64, b.Rows)
		for i := range col {
			v := b.Data[i*b.Stride+j]
			col[i], _ = strconv.ParseFloat(strconv.FormatFloat(float64(v), 'g', -1, 32), 64)
		}
		dims[j].Num = col
	}
	t.Rows = b.Rows
	return t
}

// BlobID is the id GenConfig.ID writes for blob row i (from 0). The letter
// keeps a CSV reader, ours or pandas', from taking the ids for numbers.
func BlobID(i int64) string { return fmt.Sprintf("B%09d", i) }
