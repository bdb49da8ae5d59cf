package partition

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
)

// Preparer turns a file partition's table into feature rows: a fitted
// preparation (algorithms/prepare.Pipeline), which this package cannot
// name without importing it.
type Preparer interface {
	// Width is the number of features a row becomes.
	Width() int
	// Bind prepares to encode t's rows: the returned function appends the
	// features of the kept rows among [lo, hi), Width values each, to
	// values, and their indices in t to kept.
	Bind(t *Table) (func(lo, hi int, values []float64, kept []int) ([]float64, []int), error)
	// Total is how many rows of the whole dataset are kept.
	Total() int64
	// Columns are the columns Bind reads: the only ones loaded.
	Columns() []string
}

// Opener decodes a spec's fitted preparation.
type Opener func(prepared json.RawMessage) (Preparer, error)

// fileSource reads a FileSet's pieces: raw tables (with the rows that
// could not be read), or, with a Preparer, their features.
type fileSource struct {
	files   *FileSet
	columns []string // of raw tables; nil for every column
	prep    Preparer
	resolve FileResolver
	// keep: a prepared block keeps its table (of the preparation's
	// columns and columns), so Reread needs no second read.
	keep bool
}

// local is the piece with its file as a path on this node: a file named by
// a URI is fetched, once, by the node's resolver.
func (s *fileSource) local(ctx context.Context, p Piece) (Piece, error) {
	if !strings.Contains(p.File, "://") {
		return p, nil
	}
	if s.resolve == nil {
		return p, fmt.Errorf("%s is not a path on this node, and it has no way to fetch it", p.File)
	}
	path, err := s.resolve(ctx, p.File)
	if err != nil {
		return p, err
	}
	p.File = path
	return p, nil
}

func (s *fileSource) NumPartitions() int { return len(s.files.Pieces) }

// Dims is the features' width, or the raw columns' count.
func (s *fileSource) Dims() int {
	if s.prep != nil {
		return s.prep.Width()
	}
	return len(s.files.Schema)
}

// Rows is the rows kept by the preparation; unknown (0) for raw pieces.
func (s *fileSource) Rows() int64 {
	if s.prep != nil {
		return s.prep.Total()
	}
	return 0
}

func (s *fileSource) Load(ctx context.Context, id int) (*Block, error) {
	if id < 0 || id >= len(s.files.Pieces) {
		return nil, fmt.Errorf("partition %d out of range [0, %d)", id, len(s.files.Pieces))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := s.files.Pieces[id]
	columns := s.columns
	if s.prep != nil {
		columns = s.prep.Columns()
		if s.keep {
			columns = union(columns, s.columns)
		}
	}
	lp, err := s.local(ctx, p)
	if err != nil {
		return nil, err
	}
	t, rng, rejects, err := s.files.Read(ctx, lp, columns)
	if err != nil {
		return nil, err
	}
	for i := range rejects {
		rejects[i].File = p.File // by the name the dataset knows it by
	}
	if s.prep == nil || s.keep {
		var b *Block
		if s.prep == nil {
			b = &Block{ID: id, Rows: t.Rows, Table: t, Rejects: rejects, Lines: rng.Lines}
		} else if b, err = Prepare(id, t, s.prep); err != nil {
			return nil, fmt.Errorf("prepare %s: %w", p.File, err)
		} else {
			b.Table = t
		}
		b.File, b.BytesRead, b.Reread = p.File, p.Bytes, fromMemory(t)
		return b, nil
	}
	b, err := Prepare(id, t, s.prep)
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", p.File, err)
	}
	b.File, b.BytesRead = p.File, p.Bytes
	b.Rereads, b.Reread = s.rereads(lp)
	return b, nil
}

// rereader is a Reread of piece id from the source, and its count of bytes
// read.
func (s *fileSource) rereader(ctx context.Context, id int) (*atomic.Int64, func(context.Context, []string) (*Table, error), error) {
	if id < 0 || id >= len(s.files.Pieces) {
		return nil, nil, fmt.Errorf("partition %d out of range [0, %d)", id, len(s.files.Pieces))
	}
	lp, err := s.local(ctx, s.files.Pieces[id])
	if err != nil {
		return nil, nil, err
	}
	again, reread := s.rereads(lp)
	return again, reread, nil
}

func (s *fileSource) rereads(lp Piece) (*atomic.Int64, func(context.Context, []string) (*Table, error)) {
	var again atomic.Int64
	return &again, func(ctx context.Context, columns []string) (*Table, error) {
		t, _, _, err := s.files.Read(ctx, lp, columns)
		again.Add(lp.Bytes)
		return t, err
	}
}

// fromMemory is a Reread of a table held in memory.
func fromMemory(t *Table) func(context.Context, []string) (*Table, error) {
	return func(_ context.Context, columns []string) (*Table, error) {
		if columns == nil {
			return t, nil
		}
		return t.Project(columns)
	}
}

// union is a's names then those of b not in a.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, n := range b {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// ChunkRows is how many rows a pass over a partition encodes at a time,
// into one reused buffer: a whole partition's float64 features would be
// twice the size of its block, and fresh memory costs more to fault in
// than to fill.
const ChunkRows = 1 << 14

// Prepare is the features of t's rows that prep keeps, as block id whose
// IDs are the kept rows' indices in t, quantized (Quantize). Rows are
// encoded a chunk at a time into one reused buffer and written into the
// block as float32: packed when prep says which features are one-hot
// runs (OneHotPreparer), dense otherwise, or if a row turns out not to be
// one the runs describe.
func Prepare(id int, t *Table, prep Preparer) (*Block, error) {
	w := prep.Width()
	encode, err := prep.Bind(t)
	if err != nil {
		return nil, err
	}
	// Every row may be kept.
	b := &Block{ID: id, Rows: t.Rows, Dims: w, Stride: PadDims(w), IDs: make([]int64, t.Rows)}
	if runs := oneHotRuns(prep); len(runs) > 0 {
		if b.pack, err = newPacked(w, t.Rows, runs); err != nil {
			return nil, err
		}
	} else {
		b.Data = make([]float32, t.Rows*b.Stride)
	}
	var values []float64
	var kept []int
	row := make([]float32, w) // a packed block's row before it is packed
	n := 0
	mags := newMagnitudes(w)
	for lo := 0; lo < t.Rows; lo += ChunkRows {
		values, kept = encode(lo, min(lo+ChunkRows, t.Rows), values[:0], kept[:0])
		if len(values) != len(kept)*w {
			return nil, fmt.Errorf("%d values for %d rows of %d features", len(values), len(kept), w)
		}
		for r, i := range kept {
			dst := row
			if b.pack == nil {
				dst = b.Data[n*b.Stride : n*b.Stride+w]
			}
			for j, v := range values[r*w : (r+1)*w] {
				dst[j] = float32(v)
			}
			mags.add(dst)
			if b.pack != nil && !b.pack.put(n, dst) {
				b.Data, b.pack = b.pack.unpack(n, t.Rows, b.Stride), nil
				copy(b.Data[n*b.Stride:], dst)
			}
			b.IDs[n] = int64(i)
			n++
		}
	}
	if n < t.Rows {
		b.Rows, b.IDs = n, b.IDs[:n:n]
		if b.pack != nil {
			b.pack.truncate(n)
		} else {
			b.Data = b.Data[: n*b.Stride : n*b.Stride]
		}
	}
	mags.quantize(b)
	return b, nil
}
