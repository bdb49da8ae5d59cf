package coordinator_test

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/bench/synth"
	"github.com/cohort/cohort/clustertest"
	"github.com/cohort/cohort/partition"
)

// customersFile writes n synthetic customers (bench/synth): numbers with
// missing values, and text columns of 3, 12 and 4 values, one with blanks.
func customersFile(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "customers.csv")
	w, err := partition.CreateTable(path, synth.CustomerFields)
	if err != nil {
		t.Fatal(err)
	}
	for first := 0; first < n; first += 1 << 14 {
		if err := w.Write(synth.Customers(7, first>>14, int64(first+1), min(1<<14, n-first))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// segments are the assignments' segment and distance by customer id.
func segments(t *testing.T, dir string) map[string]string {
	t.Helper()
	return assignmentFields(t, dir, func(r []string) string { return strings.Join(r[1:], ",") })
}

// A customers job whose workers pack their prepared blocks (the text
// columns' one-hot features as a code each) ends with the centroids,
// WCSS, sizes and assignments, bit for bit, of one whose workers keep
// them dense; and its workers hold less.
func TestPackedBlocksGiveTheDenseResult(t *testing.T) {
	const rows = 30000
	path := customersFile(t, rows)
	spec := func(out string) string {
		return fmt.Sprintf(`name: packed
data: {path: %s, id: CustomerID}
prepare:
  columns: [Age, Gender, Country, Channel, Income, Orders, TotalSpend, DaysSinceLastOrder]
  missing: {default: median}
  outliers: {method: clip, quantiles: [0.01, 0.99]}
  log1p: [Income, TotalSpend]
  top_n: 8
cluster: {k: 5, max_iter: 30}
output: {dir: %s, format: csv}
`, path, out)
	}
	type run struct {
		out   string
		held  int64 // what the workers held during Lloyd
		wcss  float64
		cent  [][]float64
		sizes []int64
		iters int32
	}
	runs := map[bool]*run{}
	for _, dense := range []bool{false, true} {
		c := clustertest.Start(t, clustertest.Options{Coordinators: 1, Workers: 2, DenseBlocks: dense})
		r := &run{out: t.TempDir()}
		var held atomic.Int64
		c.OnStep(func(p algorithms.Progress) {
			if p.Phase == "lloyd" && held.Load() == 0 {
				var n int64
				for _, w := range c.Workers {
					_, _, bytes := w.Store().Stats()
					n += bytes
				}
				held.Store(n)
			}
		})
		res := c.Run(0, spec(r.out), nil)
		c.OnStep(nil)
		r.held, r.wcss, r.sizes, r.iters = held.Load(), res.Metrics["wcss"], res.Sizes, res.Iterations
		for _, v := range res.Centroids {
			r.cent = append(r.cent, v.Values)
		}
		if res.Rows != rows || len(r.cent) != 5 || len(r.cent[0]) != 21 || r.iters < 3 {
			t.Fatalf("dense %v: %d rows, %d centroids, %d iterations", dense, res.Rows, len(r.cent), r.iters)
		}
		runs[dense] = r
	}
	p, d := runs[false], runs[true]
	if math.Float64bits(p.wcss) != math.Float64bits(d.wcss) || !slices.Equal(p.sizes, d.sizes) || p.iters != d.iters {
		t.Fatalf("packed WCSS %v sizes %v after %d iterations; dense %v %v after %d", p.wcss, p.sizes, p.iters, d.wcss, d.sizes, d.iters)
	}
	for i := range d.cent {
		for j := range d.cent[i] {
			if math.Float64bits(p.cent[i][j]) != math.Float64bits(d.cent[i][j]) {
				t.Fatalf("centroid %d feature %d: packed %v, dense %v", i, j, p.cent[i][j], d.cent[i][j])
			}
		}
	}
	pa, da := segments(t, p.out), segments(t, d.out)
	if len(da) != rows || len(pa) != rows {
		t.Fatalf("%d customers assigned packed, %d dense, of %d", len(pa), len(da), rows)
	}
	for id, s := range da {
		if pa[id] != s {
			t.Fatalf("customer %s: packed %s, dense %s", id, pa[id], s)
		}
	}
	// 96 bytes of features a row dense, 5 float32 and 3 codes packed,
	// and a few hundred bytes a block of what the codes stand for.
	if saved := d.held - p.held; saved > rows*(96-23) || saved < rows*(96-23)-1<<12 {
		t.Fatalf("workers held %d bytes packed, %d dense", p.held, d.held)
	}
}
