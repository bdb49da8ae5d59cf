package results

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sync/errgroup"

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
					g.Go(func() error { return s.write(p.block, p.raw, p.label, p.dist) })
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
