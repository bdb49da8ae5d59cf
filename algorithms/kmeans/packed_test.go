package kmeans

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cohort/cohort/algorithms/kernels"
	"github.com/cohort/cohort/partition"
)

// customersPrep makes features as a customers preparation does: a number,
// one-hot runs of 3, 9 and 4 categories, four numbers; standardized, the
// runs' features scaled down as balanceOneHot scales them. Rows fall in
// five loose groups, which the numbers and the categories both lean to.
type customersPrep struct {
	part uint64
	runs []customersRun
}

type customersRun struct {
	at        int
	cold, hot []float64
}

const customersWidth = 21

func newCustomersPrep(part uint64) customersPrep {
	rng := rand.New(rand.NewPCG(77, 77)) // one preparation for every partition
	p := customersPrep{part: part}
	for _, r := range [][2]int{{1, 3}, {4, 9}, {13, 4}} {
		u := customersRun{at: r[0], cold: make([]float64, r[1]), hot: make([]float64, r[1])}
		for f := range r[1] {
			mean := 0.05 + 0.9*rng.Float64() // hot or cold the larger magnitude
			sd := math.Sqrt(mean*(1-mean)) * math.Sqrt(float64(r[1]))
			u.cold[f], u.hot[f] = (0-mean)/sd, (1-mean)/sd
		}
		p.runs = append(p.runs, u)
	}
	return p
}

func (p customersPrep) Width() int        { return customersWidth }
func (p customersPrep) Total() int64      { return 0 }
func (p customersPrep) Columns() []string { return []string{"x"} }

func (p customersPrep) Bind(t *partition.Table) (func(lo, hi int, values []float64, kept []int) ([]float64, []int), error) {
	return func(lo, hi int, values []float64, kept []int) ([]float64, []int) {
		for r := lo; r < hi; r++ {
			rng := rand.New(rand.NewPCG(p.part, uint64(r)))
			group := rng.IntN(5)
			row := make([]float64, customersWidth)
			for _, j := range []int{0, 17, 18, 19, 20} {
				row[j] = rng.NormFloat64() + float64(group*(j%3))*0.7
			}
			for _, u := range p.runs {
				copy(row[u.at:], u.cold)
				h := rng.IntN(len(u.hot))
				if rng.IntN(3) > 0 {
					h = group % len(u.hot)
				}
				row[u.at+h] = u.hot[h]
			}
			values, kept = append(values, row...), append(kept, r)
		}
		return values, kept
	}, nil
}

func (p customersPrep) OneHot() []partition.OneHot {
	var out []partition.OneHot
	for _, u := range p.runs {
		o := partition.OneHot{At: u.at, Cold: make([]float32, len(u.hot)), Hot: make([]float32, len(u.hot))}
		for f := range u.hot {
			o.Cold[f], o.Hot[f] = float32(u.cold[f]), float32(u.hot[f])
		}
		out = append(out, o)
	}
	return out
}

// hiddenRuns is a Preparer without its one-hot runs: its blocks are dense.
type hiddenRuns struct{ partition.Preparer }

// customersTwins are parts prepared customers blocks, packed, and the same
// blocks dense.
func customersTwins(t testing.TB, parts, rows int) (packed, dense []*partition.Block) {
	t.Helper()
	tab := partition.NewTable([]partition.Field{{Name: "x", Type: partition.Number}})
	tab.Columns[0].Num, tab.Rows = make([]float64, rows), rows
	for p := range parts {
		prep := newCustomersPrep(uint64(p))
		pb, err := partition.Prepare(p, tab, prep)
		if err != nil {
			t.Fatal(err)
		}
		db, err := partition.Prepare(p, tab, hiddenRuns{prep})
		if err != nil {
			t.Fatal(err)
		}
		if !pb.Packed() || db.Packed() || !pb.SumExact || !db.SumExact {
			t.Fatalf("partition %d: packed %v and %v, quantized %v and %v", p, pb.Packed(), db.Packed(), pb.SumExact, db.SumExact)
		}
		packed, dense = append(packed, pb), append(dense, db)
	}
	return packed, dense
}

// A whole k-means run over packed blocks (k-means‖, Lloyd's lazy passes,
// the final exact pass) has the bits of the same run over the dense
// blocks, with few centroids and with enough that a lazy pass measures a
// row before searching it.
func TestPackedBlocksGiveTheDenseBlocksResult(t *testing.T) {
	packed, dense := customersTwins(t, 3, 5000)
	for _, k := range []int{5, tightenAbove + 8} {
		cfg := Config{K: k, Seed: 3, MaxIter: 25}
		got, want := run(t, cfg, packed, 2), run(t, cfg, dense, 2)
		if math.Float64bits(got.WCSS) != math.Float64bits(want.WCSS) || !slices.Equal(got.Sizes, want.Sizes) || got.Iterations != want.Iterations {
			t.Fatalf("k %d: packed WCSS %v sizes %v after %d; dense %v %v after %d", k, got.WCSS, got.Sizes, got.Iterations, want.WCSS, want.Sizes, want.Iterations)
		}
		if want.Iterations < 3 {
			t.Fatalf("k %d: %d iterations, too few for lazy passes", k, want.Iterations)
		}
		for c := range want.Centroids {
			for j := range want.Centroids[c] {
				if math.Float64bits(got.Centroids[c][j]) != math.Float64bits(want.Centroids[c][j]) {
					t.Fatalf("k %d: centroid %d feature %d is %v, dense %v", k, c, j, got.Centroids[c][j], want.Centroids[c][j])
				}
			}
		}
	}
}

// Pass by pass, a packed block and its dense twin agree on every label,
// sum, count, WCSS and farthest row, and search the same rows: seeding,
// a fresh pass, lazy passes that gather rows or search whole chunks and
// move rows between sums, or sum the block again when its sums are not
// exact, and exact passes; while centroids move a little, a lot or not
// at all.
func TestPackedPassesMatchDense(t *testing.T) {
	for _, exactSums := range []bool{true, false} {
		for _, k := range []int{5, tightenAbove + 8} {
			packed, dense := customersTwins(t, 1, 6000)
			p, d := packed[0], dense[0]
			p.SumExact, d.SumExact = exactSums, exactSums
			rng := rand.New(rand.NewPCG(uint64(k), 8))
			cent := make([][]float64, k)
			for c := range cent {
				cent[c] = rowValues(d, rng.IntN(d.Rows))
			}
			ps, ds := seed(p, initSample{Frac: 1}, cent, customersWidth), seed(d, initSample{Frac: 1}, cent, customersWidth)
			if !slices.Equal(ps.label, ds.label) || !slices.Equal(ps.dist, ds.dist) {
				t.Fatalf("k %d: seeding differs", k)
			}
			p.PutScratch(ps)
			d.PutScratch(ds)
			lazies := 0
			for pass := range 24 {
				exact := pass%5 == 4
				totals := func(b *partition.Block) (kernels.Totals, int, bool) {
					tot := kernels.Totals{Sums: make([]float64, k*customersWidth), Counts: make([]int64, k), FarDist: make([]float32, k), FarRow: make([]int32, k)}
					for c := range tot.FarRow {
						tot.FarRow[c] = -1
					}
					searched, lazy := lloydPass(b, cent, customersWidth, &tot, exact)
					return tot, searched, lazy
				}
				got, gs, gl := totals(p)
				want, ws, wl := totals(d)
				if gs != ws || gl != wl || math.Float64bits(got.WCSS) != math.Float64bits(want.WCSS) || !slices.Equal(got.Sums, want.Sums) || !slices.Equal(got.Counts, want.Counts) ||
					!slices.Equal(got.FarRow, want.FarRow) || !slices.Equal(got.FarDist, want.FarDist) {
					t.Fatalf("k %d pass %d (exact sums %v): packed searched %d (lazy %v), WCSS %v; dense %d (%v), %v", k, pass, exactSums, gs, gl, got.WCSS, ws, wl, want.WCSS)
				}
				pst, dst := p.TakeScratch().(*bounds), d.TakeScratch().(*bounds)
				if !slices.Equal(pst.label, dst.label) || pst.moved != dst.moved || pst.resummed != dst.resummed {
					t.Fatalf("k %d pass %d: labels differ, or moved %d and %d rows", k, pass, pst.moved, dst.moved)
				}
				if wl {
					lazies++
				}
				p.PutScratch(pst)
				d.PutScratch(dst)
				// Next centroids: Lloyd's update, sometimes jolted far;
				// or the same, or one of them nudged by the smallest step,
				// which leaves a few rows to gather and search.
				switch pass % 6 {
				case 0, 1, 3:
					next := updateCentroids(cent, &lloydPartial{K: k, Dims: customersWidth, Sums: want.Sums, Counts: want.Counts, Far: make([]farPoint, k)})
					if pass == 1 {
						next[rng.IntN(k)][0] += 5
					}
					cent = next
				case 2, 4:
					v := &cent[rng.IntN(k)][customersWidth-1]
					*v = float64(math.Nextafter32(float32(*v), float32(math.Inf(1))))
				}
			}
			if lazies < 12 {
				t.Fatalf("k %d: %d lazy passes", k, lazies)
			}
		}
	}
}

// BenchmarkLloydCustomers is Lloyd's passes on a customers-like block
// (five numbers, one-hot runs of 3, 9 and 4) of 2²⁰ rows, packed and
// dense: from the same five rows, 19 lazy passes and an exact one. Most
// rows stay near a boundary, so the lazy passes search many every time.
func BenchmarkLloydCustomers(b *testing.B) {
	packed, dense := customersTwins(b, 1, 1<<20)
	const k = 5
	rng := rand.New(rand.NewPCG(1, 1))
	start := make([][]float64, k)
	for c := range start {
		start[c] = rowValues(dense[0], rng.IntN(dense[0].Rows))
	}
	for _, c := range []struct {
		name string
		blk  *partition.Block
	}{{"packed", packed[0]}, {"dense", dense[0]}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.blk.TakeScratch()
				cent := start
				for pass := range 20 {
					tot := kernels.Totals{Sums: make([]float64, k*customersWidth), Counts: make([]int64, k), FarDist: make([]float32, k), FarRow: make([]int32, k)}
					for c := range tot.FarRow {
						tot.FarRow[c] = -1
					}
					lloydPass(c.blk, cent, customersWidth, &tot, pass == 19)
					cent = updateCentroids(cent, &lloydPartial{K: k, Dims: customersWidth, Sums: tot.Sums, Counts: tot.Counts, Far: make([]farPoint, k)})
				}
			}
		})
	}
}
