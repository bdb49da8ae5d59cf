package results

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

// assignParts are a job's assignments split as its partitions are: parts
// of rows customers with unique text ids of ten characters, segments of
// k=16 and squared distances as the kernel returns them.
type assignPart struct {
	block *partition.Block
	raw   *partition.Table
	label []int32
	dist  []float32
}

func assignParts(parts, rows int) []assignPart {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]assignPart, parts)
	for p := range out {
		raw := partition.NewTable([]partition.Field{{Name: "cid", Type: partition.Text}})
		ids := &raw.Columns[0]
		ids.Dict, ids.Codes = make([]string, rows), make([]int32, rows)
		b := &partition.Block{ID: p, Rows: rows, IDs: make([]int64, rows)}
		label, dist := make([]int32, rows), make([]float32, rows)
		for r := range rows {
			ids.Dict[r] = fmt.Sprintf("C%09d", p*rows+r)
			ids.Codes[r] = int32(r)
			b.IDs[r] = int64(r)
			label[r] = rng.Int32N(16)
			dist[r] = rng.Float32() * 40
		}
		raw.Rows = rows
		out[p] = assignPart{block: b, raw: raw, label: label, dist: dist}
	}
	return out
}

// BenchmarkAssignWrite writes 1Mi assignments as a job's assign step does:
// 8 part files of 128Ki rows, as many at once as there are cores. ns/row
// is per row of the whole job; MB/s counts the bytes of the part files.
func BenchmarkAssignWrite(b *testing.B) {
	const parts, rows = 8, 128 << 10
	data := assignParts(parts, rows)
	for _, format := range []string{"csv", "parquet"} {
		b.Run("format="+format, func(b *testing.B) {
			s := &AssignStep{Dir: b.TempDir(), Format: format, ID: "cid"}
			writeAll := func() {
				var g errgroup.Group
				g.SetLimit(runtime.GOMAXPROCS(0))
				for _, p := range data {
					g.Go(func() error {
						return s.write(p.block, p.raw, algorithms.Assigned{Segment: p.label, Score: p.dist}, algorithms.Output{Score: "distance"})
					})
				}
				if err := g.Wait(); err != nil {
					b.Fatal(err)
				}
			}
			writeAll()
			files, _ := filepath.Glob(filepath.Join(s.Dir, "assignments", "part-*"))
			var size int64
			for _, f := range files {
				st, err := os.Stat(f)
				if err != nil {
					b.Fatal(err)
				}
				size += st.Size()
			}
			if len(files) != parts {
				b.Fatalf("%d part files, want %d", len(files), parts)
			}
			b.SetBytes(size)
			for b.Loop() {
				writeAll()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*parts*rows), "ns/row")
			b.ReportMetric(float64(size)/float64(parts*rows), "B/row")
		})
	}
}

// A partition's part file, read back by the job readers, has a row per
// kept customer: its id (the data's, or its row in the piece without one),
// its segment and the square root of its squared distance, as a float32.
func TestAssignPartsReadBack(t *testing.T) {
	part := assignParts(1, 500)[0]
	part.raw.Columns[0].Codes[7] = -1 // a customer without an id
	// The preparation dropped every third row: the block's rows are the
	// others, by their index in the piece.
	var kept []int64
	for r := range int64(part.raw.Rows) {
		if r%3 != 0 {
			kept = append(kept, r)
		}
	}
	part.block.IDs, part.block.Rows = kept, len(kept)
	for _, format := range []string{"csv", "parquet"} {
		for _, idColumn := range []string{"cid", ""} {
			s := &AssignStep{Dir: t.TempDir(), Format: format, ID: idColumn}
			if err := s.write(part.block, part.raw, algorithms.Assigned{Segment: part.label, Score: part.dist}, algorithms.Output{Score: "distance"}); err != nil {
				t.Fatal(err)
			}
			got := readPart(t, s.Path(part.block.ID))
			if got.Rows != len(kept) {
				t.Fatalf("%s, id %q: %d rows, want %d", format, idColumn, got.Rows, len(kept))
			}
			for r, i := range kept {
				wantID, wantOK := strconv.FormatInt(i, 10), true
				if idColumn != "" {
					wantID, wantOK = part.raw.Columns[0].Text(int(i))
				}
				id, ok := got.Column("id").Text(r)
				seg, dist := got.Column("segment").Num[r], got.Column("distance").Num[r]
				if id != wantID || ok != wantOK || seg != float64(part.label[r]) || float32(dist) != part.dist[r] {
					t.Fatalf("%s, id %q, row %d: %q (%v) %v %v; want %q (%v) %d, %v", format, idColumn, r, id, ok, seg, dist, wantID, wantOK, part.label[r], part.dist[r])
				}
			}
		}
	}
}

func readPart(t *testing.T, path string) *partition.Table {
	t.Helper()
	if filepath.Ext(path) == ".parquet" {
		pf, err := partition.InspectParquet(path)
		if err != nil {
			t.Fatal(err)
		}
		tab, err := partition.ReadParquetColumns(context.Background(), path, 0, len(pf.GroupRows), nil)
		if err != nil {
			t.Fatal(err)
		}
		return tab
	}
	format, schema, err := partition.SniffCSV(path, partition.CSVHints{Types: map[string]string{"id": "text"}})
	if err != nil {
		t.Fatal(err)
	}
	tab, _, rejects, err := partition.ReadCSVRange(path, format, schema, 0, -1)
	if err != nil || len(rejects) > 0 {
		t.Fatalf("%s: %v, rejects %+v", path, err, rejects)
	}
	return tab
}
