package kmeans

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/kernels"
	"github.com/cohort/cohort/partition"
)

// blobs builds parts blocks of rows each around well-separated centres.
func blobs(t testing.TB, centres [][]float64, spread float64, parts, rows int, seed uint64) []*partition.Block {
	rng := rand.New(rand.NewPCG(seed, 1))
	dims := len(centres[0])
	var out []*partition.Block
	for p := range parts {
		b := partition.NewBlock(p, rows, dims)
		for i := range rows {
			c := centres[rng.IntN(len(centres))]
			for j := range dims {
				b.Data[i*b.Stride+j] = float32(c[j] + spread*rng.NormFloat64())
			}
			b.IDs[i] = int64(p*rows + i)
		}
		out = append(out, b)
	}
	return out
}

func randomCentres(k, dims int, box float64, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 2))
	out := make([][]float64, k)
	for c := range out {
		out[c] = make([]float64, dims)
		for j := range out[c] {
			out[c][j] = (2*rng.Float64() - 1) * box
		}
	}
	return out
}

func run(t testing.TB, cfg Config, blocks []*partition.Block, par int) Result {
	t.Helper()
	var rows int64
	for _, b := range blocks {
		rows += int64(b.Rows)
	}
	p, err := New(cfg.WithDefaults(), rows, blocks[0].Dims)
	if err != nil {
		t.Fatal(err)
	}
	if err := algorithms.Drive(context.Background(), p, &algorithms.LocalExecutor{Blocks: blocks, Parallelism: par}, nil); err != nil {
		t.Fatal(err)
	}
	res, err := p.Result()
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// roundTrip sends a step and its partial through the codec, as the cluster does.
func roundTrip(t testing.TB, s algorithms.Step, b *partition.Block) algorithms.Partial {
	t.Helper()
	params, _ := s.MarshalBinary()
	s2, err := Codec{}.DecodeStep(s.Kind(), params)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s2.Map(b)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := p.MarshalBinary()
	p2, err := Codec{}.DecodePartial(s.Kind(), data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, p2) {
		t.Fatalf("%s partial changed on the wire:\n%+v\n%+v", s.Kind(), p, p2)
	}
	return p2
}

func bruteNearest(x []float32, cent [][]float64) (int, float64) {
	best, bestD := 0, math.Inf(1)
	for c, y := range cent {
		var d float64
		for j := range x {
			d += (float64(x[j]) - y[j]) * (float64(x[j]) - y[j])
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD
}

func TestLloydStepMatchesBruteForce(t *testing.T) {
	for _, dims := range []int{1, 3, 8, 13} {
		blocks := blobs(t, randomCentres(4, dims, 5, 1), 1, 3, 500, 2)
		cent := randomCentres(6, dims, 5, 3)
		var merged algorithms.Partial
		for _, b := range blocks {
			p := roundTrip(t, &lloydStep{Dims: dims, Cent: cent}, b)
			if merged == nil {
				merged = p
			} else if err := merged.Merge(p); err != nil {
				t.Fatal(err)
			}
		}
		got := merged.(*lloydPartial)
		want := newLloydPartial(6, dims)
		for _, b := range blocks {
			for i := range b.Rows {
				c, d := bruteNearest(b.Row(i), cent)
				want.Counts[c]++
				want.WCSS += d
				for j, v := range b.Row(i) {
					want.Sums[c*dims+j] += float64(v)
				}
			}
		}
		if !reflect.DeepEqual(got.Counts, want.Counts) {
			t.Fatalf("dims %d: counts %v, want %v", dims, got.Counts, want.Counts)
		}
		for i := range want.Sums {
			if math.Abs(got.Sums[i]-want.Sums[i]) > 1e-9*math.Max(1, math.Abs(want.Sums[i])) {
				t.Fatalf("dims %d: sum %d = %v, want %v", dims, i, got.Sums[i], want.Sums[i])
			}
		}
		if math.Abs(got.WCSS-want.WCSS) > 1e-5*want.WCSS {
			t.Fatalf("dims %d: wcss %v, want %v", dims, got.WCSS, want.WCSS)
		}
		// The farthest row of each cluster really is the farthest.
		for c, f := range got.Far {
			if !f.Has {
				if want.Counts[c] != 0 {
					t.Fatalf("cluster %d has rows but no farthest row", c)
				}
				continue
			}
			for _, b := range blocks {
				for i := range b.Rows {
					if cc, d := bruteNearest(b.Row(i), cent); cc == c && d > f.Dist*(1+1e-5)+1e-9 {
						t.Fatalf("cluster %d: row %d/%d at %v beyond recorded farthest %v", c, b.ID, i, d, f.Dist)
					}
				}
			}
		}
	}
}

func TestPickIsTheMinimumHashOverAllRows(t *testing.T) {
	blocks := blobs(t, randomCentres(2, 3, 5, 1), 1, 4, 100, 2)
	var merged algorithms.Partial
	for _, b := range blocks {
		p := roundTrip(t, &pickStep{Seed: 9, Restart: 1, Dims: 3}, b)
		if merged == nil {
			merged = p
		} else {
			merged.Merge(p)
		}
	}
	bestKey, bestRow := uint64(math.MaxUint64), []float64(nil)
	for _, b := range blocks {
		for i := range b.Rows {
			if h := rowHash(9, 1, pickRound, b.ID, i); h < bestKey {
				bestKey, bestRow = h, rowValues(b, i)
			}
		}
	}
	if got := merged.(*pickPartial); got.Key != bestKey || !reflect.DeepEqual(got.Row, bestRow) {
		t.Fatalf("picked %v, want %v", got.Row, bestRow)
	}
}

func TestSampleAndWeightsSteps(t *testing.T) {
	blocks := blobs(t, randomCentres(3, 4, 5, 1), 1, 2, 400, 2)
	cand := [][]float64{rowValues(blocks[0], 0), rowValues(blocks[1], 5)}
	var cost float64
	counts := make([]int64, 2)
	for _, b := range blocks {
		for i := range b.Rows {
			c, d := bruteNearest(b.Row(i), cand)
			cost += d
			counts[c]++
		}
	}
	// Cost-only pass: Phi 0 samples nothing.
	p := roundTrip(t, &sampleStep{Seed: 1, Dims: 4, L: 6, Cand: cand}, blocks[0]).(*samplePartial)
	p.Merge(roundTrip(t, &sampleStep{Seed: 1, Dims: 4, L: 6, Cand: cand}, blocks[1]))
	if len(p.Rows) != 0 || math.Abs(p.Cost-cost) > 1e-5*cost {
		t.Fatalf("cost pass: %d rows sampled, cost %v want %v", len(p.Rows), p.Cost, cost)
	}
	// Sampling with ℓ = 6 keeps about 6 rows.
	var sampled int
	for seed := range uint64(50) {
		for _, b := range blocks {
			sp := roundTrip(t, &sampleStep{Seed: seed, Round: 1, Dims: 4, L: 6, Phi: cost, Cand: cand}, b).(*samplePartial)
			sampled += len(sp.Rows)
		}
	}
	if mean := float64(sampled) / 50; mean < 4 || mean > 8 {
		t.Fatalf("sampled %.1f rows per pass on average, want about 6", mean)
	}
	w := roundTrip(t, &weightsStep{Dims: 4, Cand: cand}, blocks[0]).(*weightsPartial)
	w.Merge(roundTrip(t, &weightsStep{Dims: 4, Cand: cand}, blocks[1]))
	if !reflect.DeepEqual(w.Counts, counts) {
		t.Fatalf("weights %v, want %v", w.Counts, counts)
	}
}

func TestBitIdenticalAcrossParallelism(t *testing.T) {
	blocks := blobs(t, randomCentres(6, 7, 10, 1), 2, 6, 700, 2)
	cfg := Config{K: 6, Seed: 11, Restarts: 2}
	want := run(t, cfg, blocks, 1)
	for _, par := range []int{2, 4, 6} {
		if got := run(t, cfg, blocks, par); !reflect.DeepEqual(got, want) {
			t.Fatalf("parallelism %d changed the result", par)
		}
	}
}

// Resuming from the checkpoint after any step finishes exactly as an
// uninterrupted run: this is what a new leader does.
func TestResumeAfterEveryStepIsBitIdentical(t *testing.T) {
	blocks := blobs(t, randomCentres(4, 3, 10, 1), 2, 3, 300, 2)
	cfg := Config{K: 4, Seed: 5, Restarts: 2, MaxIter: 8}.WithDefaults()
	want := run(t, cfg, blocks, 2)
	ex := &algorithms.LocalExecutor{Blocks: blocks, Parallelism: 2}
	cps := checkpoints(t, cfg, 900, 3, ex)
	if len(cps) < 10 {
		t.Fatalf("only %d steps", len(cps))
	}
	for i, cp := range cps {
		r, err := Resume(cp)
		if err != nil {
			t.Fatal(err)
		}
		if err := algorithms.Drive(context.Background(), r, ex, nil); err != nil {
			t.Fatal(err)
		}
		got, err := r.Result()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("resumed after step %d: result differs", i)
		}
	}
	if _, err := Resume([]byte(`{"version":99}`)); err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Fatalf("unknown checkpoint version: %v", err)
	}
}

func TestEmptyClusterIsReseededAtTheFarthestRow(t *testing.T) {
	// Two tight groups and a far outlier; centroid 2 starts where no row is
	// nearest to it, so it must take the worst-served row.
	b := partition.NewBlock(0, 7, 1)
	for i, v := range []float32{0, 0.1, 0.2, 10, 10.1, 10.2, 30} {
		b.Data[i*b.Stride] = v
	}
	old := [][]float64{{0.1}, {12}, {-100}}
	m := roundTrip(t, &lloydStep{Dims: 1, Cent: old}, b).(*lloydPartial)
	if m.Counts[2] != 0 {
		t.Fatal("test set-up: cluster 2 not empty")
	}
	next := updateCentroids(old, m)
	if next[2][0] != 30 {
		t.Fatalf("empty cluster re-seeded at %v, want the outlier 30", next[2])
	}
	// And a whole run with k = rows still gives every row its own cluster.
	res := run(t, Config{K: 7, Seed: 1}, []*partition.Block{b}, 1)
	if res.WCSS != 0 {
		t.Fatalf("k = rows left WCSS %v, sizes %v", res.WCSS, res.Sizes)
	}
}

func TestRestartsKeepTheLowestWCSS(t *testing.T) {
	blocks := blobs(t, randomCentres(5, 2, 3, 7), 1.5, 2, 500, 8)
	cfg := Config{K: 5, Seed: 2, Restarts: 4}.WithDefaults()
	p, _ := New(cfg, 1000, 2)
	var perRestart []float64
	err := algorithms.Drive(context.Background(), p, &algorithms.LocalExecutor{Blocks: blocks}, func(pr algorithms.Progress, _ []byte) error {
		if p.s.Phase == phasePick || p.s.Phase == phaseDone {
			perRestart = append(perRestart, p.s.Objective)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := p.Result()
	if len(perRestart) != 4 {
		t.Fatalf("saw %d restarts finish", len(perRestart))
	}
	best := 0
	for r, w := range perRestart {
		if w < perRestart[best] {
			best = r
		}
	}
	if res.Restart != best || res.WCSS != perRestart[best] {
		t.Fatalf("kept restart %d (WCSS %v) of %v", res.Restart, res.WCSS, perRestart)
	}
}

func TestConfigErrorsNameTheProblem(t *testing.T) {
	cases := []struct {
		cfg  Config
		rows int64
		dims int
		want string
	}{
		{Config{K: 0}, 10, 2, "k must be at least 1"},
		{Config{K: 11}, 10, 2, "k 11 exceeds the number of rows (10)"},
		{Config{K: 2}, 10, 0, "dims must be at least 1"},
		{Config{K: 2, MaxIter: -1}, 10, 2, "max_iter"},
		{Config{K: 2, Tol: math.NaN()}, 10, 2, "tol"},
		{Config{K: 2, Restarts: -1}, 10, 2, "restarts"},
	}
	for _, c := range cases {
		_, err := New(c.cfg.WithDefaults(), c.rows, c.dims)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestMalformedWireInputIsAnError(t *testing.T) {
	for _, kind := range []string{kindPick, kindSample, kindWeights, kindLloyd} {
		for _, data := range [][]byte{nil, {1}, make([]byte, 16), {255, 255, 255, 255, 255, 255, 255, 255, 1, 0, 0, 0, 0, 0, 0, 0}} {
			if _, err := (Codec{}).DecodeStep(kind, data); err == nil {
				t.Errorf("%s step decoded from %v", kind, data)
			}
			_, _ = Codec{}.DecodePartial(kind, data)
		}
	}
	if _, err := (Codec{}).DecodeStep("kmeans/nope", nil); err == nil {
		t.Error("unknown kind decoded")
	}
}

func FuzzDecodePartial(f *testing.F) {
	blocks := blobs(f, randomCentres(3, 3, 5, 1), 1, 1, 50, 2)
	cent := randomCentres(3, 3, 5, 3)
	for _, s := range []algorithms.Step{&pickStep{Dims: 3}, &sampleStep{Dims: 3, L: 6, Phi: 10, Round: 1, Cand: cent}, &weightsStep{Dims: 3, Cand: cent}, &lloydStep{Dims: 3, Cent: cent}} {
		p, _ := s.Map(blocks[0])
		data, _ := p.MarshalBinary()
		f.Add(s.Kind(), data)
	}
	f.Fuzz(func(t *testing.T, kind string, data []byte) {
		p, err := Codec{}.DecodePartial(kind, data)
		if err != nil {
			return
		}
		again, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (Codec{}).DecodePartial(kind, again); err != nil {
			t.Fatalf("re-encoded partial does not decode: %v", err)
		}
	})
}

func FuzzDecodeStep(f *testing.F) {
	cent := randomCentres(3, 3, 5, 3)
	for _, s := range []algorithms.Step{&pickStep{Dims: 3}, &sampleStep{Dims: 3, Cand: cent}, &weightsStep{Dims: 3, Cand: cent}, &lloydStep{Dims: 3, Cent: cent}} {
		data, _ := s.MarshalBinary()
		f.Add(s.Kind(), data)
	}
	b := partition.NewBlock(0, 4, 3)
	f.Fuzz(func(t *testing.T, kind string, data []byte) {
		s, err := Codec{}.DecodeStep(kind, data)
		if err != nil {
			return
		}
		// A decoded step either maps or refuses the block; it never panics.
		_, _ = s.Map(b)
	})
}

// BenchmarkLloydMap times one Lloyd pass over a 131,072-row block by shape:
// "search" measures every distance (a first pass), "bounded" is an exact
// pass whose centroids did not move, where the bounds let rows skip the
// search, and "lazy" the same as a lazy pass, which need not read the rows.
func BenchmarkLloydMap(b *testing.B) {
	for _, sh := range []struct{ dims, k int }{{16, 16}, {32, 256}} {
		blocks := blobs(b, randomCentres(sh.k, sh.dims, 10, 1), 1, 1, 131072, 2)
		cent := randomCentres(sh.k, sh.dims, 10, 3)
		for _, mode := range []string{"search", "bounded", "lazy"} {
			s := &lloydStep{Dims: sh.dims, Cent: cent, Exact: mode != "lazy"}
			b.Run(fmt.Sprintf("N131072_D%d_K%d/%s", sh.dims, sh.k, mode), func(b *testing.B) {
				b.SetBytes(int64(131072 * sh.dims * 4))
				if _, err := s.Map(blocks[0]); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if mode == "search" {
						blocks[0].TakeScratch()
					}
					if _, err := s.Map(blocks[0]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// labelledBlobs is blobs that also returns, per true centre, the mean and
// count of the rows drawn around it.
func labelledBlobs(centres [][]float64, spread float64, parts, rows int, seed uint64) ([]*partition.Block, [][]float64, []int64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	dims := len(centres[0])
	sums := make([][]float64, len(centres))
	for c := range sums {
		sums[c] = make([]float64, dims)
	}
	counts := make([]int64, len(centres))
	var out []*partition.Block
	for p := range parts {
		b := partition.NewBlock(p, rows, dims)
		for i := range rows {
			c := rng.IntN(len(centres))
			counts[c]++
			for j := range dims {
				v := float32(centres[c][j] + spread*rng.NormFloat64())
				b.Data[i*b.Stride+j] = v
				sums[c][j] += float64(v)
			}
		}
		out = append(out, b)
	}
	for c := range sums {
		for j := range sums[c] {
			sums[c][j] /= float64(counts[c])
		}
	}
	return out, sums, counts
}

// On well-separated blobs the optimum is known: each centroid is the mean
// of one blob's rows. That is a far sharper check than distance to the
// generating centre, which sampling noise alone moves by ≈ spread·sqrt(d/n).
func TestSeparatedBlobsGiveTheirExactMeans(t *testing.T) {
	const spread, dims = 0.5, 5
	centres := randomCentres(8, dims, 20, 4)
	for a := range centres {
		for b := range a {
			if d := math.Sqrt(sq(centres[a], centres[b])); d < 20*spread {
				t.Fatalf("test set-up: centres %d and %d only %.1f apart", a, b, d)
			}
		}
	}
	blocks, means, counts := labelledBlobs(centres, spread, 4, 2000, 5)
	for _, seed := range []uint64{1, 2, 3} {
		res := run(t, Config{K: 8, Seed: seed}, blocks, 2)
		var total int64
		for _, s := range res.Sizes {
			total += s
		}
		if total != 8000 || !res.Converged {
			t.Fatalf("seed %d: sizes sum to %d, converged %v", seed, total, res.Converged)
		}
		for i, m := range means {
			best := nearestTo(m, res.Centroids)
			if d := math.Sqrt(sq(m, res.Centroids[best])); d > 1e-6 || res.Sizes[best] != counts[i] {
				t.Errorf("seed %d, blob %d: centroid %.2g from the blob mean, size %d want %d", seed, i, d, res.Sizes[best], counts[i])
			}
			if d := math.Sqrt(sq(centres[i], res.Centroids[best])); d > 0.05*spread*math.Sqrt(dims) {
				t.Errorf("seed %d, blob %d: centroid %.3f from the true centre", seed, i, d)
			}
		}
	}
}

// checkpoints runs a program to the end and returns its checkpoint after
// every step.
func checkpoints(t *testing.T, cfg Config, rows int64, dims int, ex algorithms.Executor) [][]byte {
	t.Helper()
	p, err := New(cfg, rows, dims)
	if err != nil {
		t.Fatal(err)
	}
	var cps [][]byte
	if err := algorithms.Drive(context.Background(), p, ex, func(_ algorithms.Progress, cp []byte) error {
		cps = append(cps, cp)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return cps
}

// nearestTo is the index of the centroid nearest m.
func nearestTo(m []float64, cent [][]float64) int {
	best := 0
	for c, f := range cent {
		if sq(m, f) < sq(m, cent[best]) {
			best = c
		}
	}
	return best
}

type passShape struct{ rows, dims, k int }

var passShapes = []passShape{{3000, 2, 1}, {3000, 3, 5}, {4000, 16, 16}, {2000, 33, 40}}

// passFixture is a one-partition blob source, a loaded block of it that
// keeps its bounds from pass to pass, and k centroids drawn from its rows.
func passFixture(t *testing.T, rng *rand.Rand, tc passShape, seed uint64) (*partition.Blobs, *partition.Block, [][]float64) {
	t.Helper()
	spec := partition.SyntheticSpec{Kind: "blobs", Rows: int64(tc.rows), Dims: tc.dims, Clusters: max(tc.k, 2), Spread: 1, Seed: seed}
	src, err := partition.NewBlobs(spec, tc.rows)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := src.Load(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	cent := make([][]float64, tc.k)
	for c := range cent {
		cent[c] = rowValues(kept, rng.IntN(tc.rows))
	}
	return src, kept, cent
}

// Bounds carried from pass to pass must never change a result: every pass
// on a block that keeps its bounds gives the bits of a pass that searches
// every row, while centroids move a little, a lot, or not at all.
func TestBoundedPassesMatchFullSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, tc := range passShapes {
		src, kept, cent := passFixture(t, rng, tc, 3)
		skipped := false
		for pass := range 12 {
			fresh, _ := src.Load(context.Background(), 0)
			step := &lloydStep{Dims: tc.dims, Cent: cent}
			want, err := step.Map(fresh)
			if err != nil {
				t.Fatal(err)
			}
			k := len(cent)
			got := kernels.Totals{Sums: make([]float64, k*tc.dims), Counts: make([]int64, k), FarDist: make([]float32, k), FarRow: make([]int32, k)}
			for c := range got.FarRow {
				got.FarRow[c] = -1
			}
			searched, _ := lloydPass(kept, cent, tc.dims, &got, true)
			farDist, farRow := got.FarDist, got.FarRow
			if pass > 0 && searched < tc.rows {
				skipped = true
			}
			w := want.(*lloydPartial)
			if math.Float64bits(w.WCSS) != math.Float64bits(got.WCSS) || !slices.Equal(w.Counts, got.Counts) || !slices.Equal(w.Sums, got.Sums) {
				t.Fatalf("%+v pass %d: bounded pass differs (WCSS %v vs %v)", tc, pass, got.WCSS, w.WCSS)
			}
			for c := range k {
				if w.Far[c].Has != (farRow[c] >= 0) || (farRow[c] >= 0 && (int64(farRow[c]) != w.Far[c].Row || float64(farDist[c]) != w.Far[c].Dist)) {
					t.Fatalf("%+v pass %d: farthest row of %d differs", tc, pass, c)
				}
			}
			// Next centroids: Lloyd's update, sometimes jolted far or
			// nudged by the smallest step, so bounds meet every case.
			next := updateCentroids(cent, w)
			switch pass % 4 {
			case 1:
				next[rng.IntN(k)][0] += 50
			case 2:
				v := &next[rng.IntN(k)][tc.dims-1]
				*v = float64(math.Nextafter32(float32(*v), float32(math.Inf(1))))
			}
			cent = next
		}
		if !skipped {
			t.Errorf("%+v: bounds never skipped a row", tc)
		}
	}
}

// startLloyd is a program that skips initialisation and starts Lloyd from
// the given centroids, to force situations k-means‖ would avoid.
func startLloyd(t *testing.T, cfg Config, rows int64, cent [][]float64) *Program {
	t.Helper()
	p, err := New(cfg.WithDefaults(), rows, len(cent[0]))
	if err != nil {
		t.Fatal(err)
	}
	p.s.Phase, p.s.Centroids = phaseLloyd, cent
	return p
}

func TestSeveralEmptyClustersTakeDistinctRowsByDistanceThenPartition(t *testing.T) {
	// Two partitions, each a group near 0 with the same two outliers: the
	// outliers tie across partitions, and partition 0 must win each tie.
	mk := func(id int) *partition.Block {
		b := partition.NewBlock(id, 5, 1)
		for i, v := range []float32{0, 0.5, 1, 8, -6} {
			b.Data[i*b.Stride] = v
		}
		return b
	}
	blocks := []*partition.Block{mk(0), mk(1)}
	old := [][]float64{{0.5}, {100}, {-100}, {200}}
	ex := &algorithms.LocalExecutor{Blocks: blocks, Parallelism: 2}
	m, err := ex.Run(context.Background(), &lloydStep{Dims: 1, Cent: old})
	if err != nil {
		t.Fatal(err)
	}
	lp := m.(*lloydPartial)
	if lp.Counts[1] != 0 || lp.Counts[2] != 0 || lp.Counts[3] != 0 {
		t.Fatalf("test set-up: counts %v", lp.Counts)
	}
	// Only cluster 0 has rows, so one donor: its farthest row, 8 (distance
	// 7.5² beats -6's 6.5²), from partition 0. The other two wait a pass.
	if f := lp.Far[0]; f.Part != 0 || f.Row != 3 || f.X[0] != 8 {
		t.Fatalf("farthest row %+v", f)
	}
	next := updateCentroids(old, lp)
	if next[1][0] != 8 || next[2][0] != -100 || next[3][0] != 200 {
		t.Fatalf("re-seeded to %v", next)
	}
	// The full run spreads the centroids over the groups and finishes the
	// same way at any parallelism.
	var want Result
	for i, par := range []int{1, 2} {
		p := startLloyd(t, Config{K: 4, Seed: 1}, 10, old)
		if err := algorithms.Drive(context.Background(), p, &algorithms.LocalExecutor{Blocks: blocks, Parallelism: par}, nil); err != nil {
			t.Fatal(err)
		}
		res, err := p.Result()
		if err != nil {
			t.Fatal(err)
		}
		for c, n := range res.Sizes {
			if n == 0 {
				t.Fatalf("cluster %d still empty: %+v", c, res)
			}
		}
		if i == 0 {
			want = res
		} else if !reflect.DeepEqual(res, want) {
			t.Fatalf("parallelism %d: %+v, want %+v", par, res, want)
		}
	}
}

func TestNonFiniteDataIsAnError(t *testing.T) {
	b := partition.NewBlock(0, 4, 2)
	b.Data[1*b.Stride] = float32(math.NaN())
	p, _ := New(Config{K: 2, Seed: 1}.WithDefaults(), 4, 2)
	err := algorithms.Drive(context.Background(), p, &algorithms.LocalExecutor{Blocks: []*partition.Block{b}}, nil)
	if err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("error %v does not name NaN", err)
	}
}

func TestResumeRefusesInconsistentState(t *testing.T) {
	p, _ := New(Config{K: 3, Seed: 1}.WithDefaults(), 100, 2)
	p.s.Phase, p.s.Centroids = phaseLloyd, [][]float64{{1, 2}, {3, 4}}
	cp, _ := p.Checkpoint()
	if _, err := Resume(cp); err == nil || !strings.Contains(err.Error(), "2 centroids for k = 3") {
		t.Fatalf("error %v", err)
	}
	p.s.Phase = "warp"
	cp, _ = p.Checkpoint()
	if _, err := Resume(cp); err == nil || !strings.Contains(err.Error(), "warp") {
		t.Fatalf("error %v", err)
	}
	if _, err := p.Result(); err == nil {
		t.Fatal("result of an unfinished program")
	}
}

// Lazy passes, which read only the rows their bounds cannot separate, must
// leave the labels, sums and counts a full search gives, pass after pass,
// mixed with exact passes, while centroids move a little, a lot or not at
// all; and must skip rows once centroids settle.
func TestLazyPassesMatchFullSearch(t *testing.T) {
	for _, quantized := range []bool{false, true} {
		lazyPassesMatchFullSearch(t, quantized)
	}
}

// lazyPassesMatchFullSearch is TestLazyPassesMatchFullSearch on blocks
// quantized or not: sums of a quantized block are kept up to date by the
// rows that moved, the others' summed again, and both must have the bits
// of a full search.
func lazyPassesMatchFullSearch(t *testing.T, quantized bool) {
	rng := rand.New(rand.NewPCG(10, 10))
	for _, tc := range passShapes {
		src, kept, cent := passFixture(t, rng, tc, 4)
		if quantized {
			partition.Quantize(kept)
		}
		skipped, moved := 0, 0
		for pass := range 16 {
			fresh, _ := src.Load(context.Background(), 0)
			if quantized {
				partition.Quantize(fresh)
			}
			want, err := (&lloydStep{Dims: tc.dims, Cent: cent, Exact: true}).Map(fresh)
			if err != nil {
				t.Fatal(err)
			}
			k := len(cent)
			got := kernels.Totals{Sums: make([]float64, k*tc.dims), Counts: make([]int64, k), FarDist: make([]float32, k), FarRow: make([]int32, k)}
			for c := range got.FarRow {
				got.FarRow[c] = -1
			}
			exact := pass%5 == 4
			searched, lazy := lloydPass(kept, cent, tc.dims, &got, exact)
			if (pass > 0 && lazy == exact) || (pass == 0 && lazy) {
				t.Fatalf("%+v pass %d: lazy %v for exact %v", tc, pass, lazy, exact)
			}
			if lazy && searched < tc.rows/10 {
				skipped++
			}
			w := want.(*lloydPartial)
			if !slices.Equal(w.Counts, got.Counts) || !slices.Equal(w.Sums, got.Sums) {
				t.Fatalf("%+v pass %d (lazy %v): sums or counts differ from a full search", tc, pass, lazy)
			}
			if !lazy && math.Float64bits(w.WCSS) != math.Float64bits(got.WCSS) {
				t.Fatalf("%+v pass %d: exact pass WCSS %v, full search %v", tc, pass, got.WCSS, w.WCSS)
			}
			st := kept.TakeScratch().(*bounds)
			kept.PutScratch(st)
			if lazy && (st.moved > 0) != (quantized && !st.resummed && st.moved > 0) {
				t.Fatalf("%+v pass %d: %d rows moved between sums of a block quantized %v (summed again %v)", tc, pass, st.moved, quantized, st.resummed)
			}
			if lazy && st.moved > 0 {
				moved++
			}
			for i, c := range seed(fresh, initSample{Frac: 1}, cent, tc.dims).label {
				if st.label[i] != c {
					t.Fatalf("%+v pass %d (lazy %v): row %d labelled %d, nearest is %d", tc, pass, lazy, i, st.label[i], c)
				}
			}
			next := updateCentroids(cent, w)
			switch pass % 4 {
			case 1:
				next[rng.IntN(k)][0] += 50
			case 2:
				v := &next[rng.IntN(k)][tc.dims-1]
				*v = float64(math.Nextafter32(float32(*v), float32(math.Inf(1))))
			case 3:
				next = cent // unmoved: the cheapest pass of all
			}
			cent = next
		}
		if skipped == 0 {
			t.Errorf("%+v: lazy passes never skipped most rows", tc)
		}
		if quantized && tc.k > 1 && moved == 0 {
			t.Errorf("%+v: no lazy pass moved rows between the sums of a quantized block", tc)
		}
	}
}

// A whole k-means run with lazy passes gives the result, bit for bit, of
// one whose every pass measures every row, including when a lazy pass
// leaves a cluster empty and is repeated exactly.
func TestLazyRunMatchesExactRun(t *testing.T) {
	for _, tc := range []struct {
		k     int
		parts int
		seed  uint64
	}{{8, 3, 1}, {16, 4, 2}, {40, 2, 3}} {
		cfg := Config{K: tc.k, Seed: tc.seed, MaxIter: 30, Tol: 0}.WithDefaults()
		cfg.Tol = 0
		results := make([]Result, 2)
		for i, exact := range []bool{true, false} {
			p, err := New(cfg, int64(tc.parts*3000), 5)
			if err != nil {
				t.Fatal(err)
			}
			p.exact = exact
			fresh := blobs(t, randomCentres(6, 5, 10, tc.seed), 1.5, tc.parts, 3000, tc.seed)
			if err := algorithms.Drive(context.Background(), p, &algorithms.LocalExecutor{Blocks: fresh, Parallelism: 2}, nil); err != nil {
				t.Fatal(err)
			}
			if results[i], err = p.Result(); err != nil {
				t.Fatal(err)
			}
		}
		e, l := results[0], results[1]
		if math.Float64bits(e.WCSS) != math.Float64bits(l.WCSS) || !slices.Equal(e.Sizes, l.Sizes) || e.Iterations != l.Iterations {
			t.Fatalf("%+v: lazy run WCSS %v sizes %v after %d; exact %v %v after %d", tc, l.WCSS, l.Sizes, l.Iterations, e.WCSS, e.Sizes, e.Iterations)
		}
		for c := range e.Centroids {
			for j := range e.Centroids[c] {
				if math.Float64bits(e.Centroids[c][j]) != math.Float64bits(l.Centroids[c][j]) {
					t.Fatalf("%+v: centroid %d differs", tc, c)
				}
			}
		}
	}
}

// A lazy pass that leaves a cluster empty has no farthest rows to re-seed
// it with, so the iteration is repeated as an exact pass.
func TestLazyPassWithAnEmptyClusterIsRepeatedExactly(t *testing.T) {
	p := startLloyd(t, Config{K: 2, Seed: 1}, 4, [][]float64{{0}, {10}})
	step, _, err := p.Next()
	if err != nil || step.(*lloydStep).Exact {
		t.Fatalf("first Lloyd step: %+v, %v", step, err)
	}
	lazy := newLloydPartial(2, 1)
	lazy.Lazy, lazy.Counts[0], lazy.Sums[0] = true, 4, 2
	if err := p.Update(lazy); err != nil {
		t.Fatal(err)
	}
	step, _, err = p.Next()
	if err != nil || !step.(*lloydStep).Exact || p.s.Iteration != 0 {
		t.Fatalf("after a lazy pass with an empty cluster: step %+v at iteration %d, %v", step, p.s.Iteration, err)
	}
	exact := newLloydPartial(2, 1)
	exact.Counts[0], exact.Sums[0], exact.WCSS = 4, 2, 1
	exact.Far[0] = farPoint{Has: true, Dist: 1, X: []float64{3}}
	if err := p.Update(exact); err != nil {
		t.Fatal(err)
	}
	if p.s.NeedExact || p.s.Iteration != 1 || p.s.Centroids[1][0] != 3 {
		t.Fatalf("after the exact repeat: need exact %v, iteration %d, centroids %v", p.s.NeedExact, p.s.Iteration, p.s.Centroids)
	}
}

// The k-means‖ passes measure only the candidates added since the last
// pass; the labels and distances must be a full search's over all of them,
// ties (duplicate candidates) and NaN rows included, and a block handed a
// different sequence of candidates must start over rather than mix them.
func TestSeedingMeasuresNewCandidatesAsAFullSearchWould(t *testing.T) {
	for _, dims := range []int{3, 24} {
		b := blobs(t, randomCentres(6, dims, 5, 7), 1, 1, 3000, 8)[0]
		b.Data[17*b.Stride] = float32(math.NaN())
		rng := rand.New(rand.NewPCG(9, uint64(dims)))
		var cand [][]float64
		for round := range 8 {
			for range 1 + rng.IntN(20) {
				if len(cand) > 0 && rng.IntN(4) == 0 {
					cand = append(cand, slices.Clone(cand[rng.IntN(len(cand))])) // a tie
				} else {
					cand = append(cand, rowValues(b, rng.IntN(b.Rows)))
				}
			}
			if round == 5 { // another restart: a new sequence, longer than the last
				fresh := make([][]float64, len(cand)+3)
				for i := range fresh {
					fresh[i] = rowValues(b, 100+i)
				}
				cand = fresh
			}
			sd := seed(b, initSample{Frac: 1}, cand, dims)
			b.PutScratch(sd)
			kc, _ := centroids32(cand, dims)
			label := make([]int32, b.Rows)
			dist, second := make([]float32, b.Rows), make([]float32, b.Rows)
			kernels.Nearest(b.Data, b.Rows, b.Stride, kc, label, dist, second)
			if !slices.Equal(label, sd.label) {
				t.Fatalf("dims %d round %d (%d candidates): labels differ from a full search", dims, round, len(cand))
			}
			for i := range dist {
				if math.Float32bits(dist[i]) != math.Float32bits(sd.dist[i]) {
					t.Fatalf("dims %d round %d: row %d distance %v, full search %v", dims, round, i, sd.dist[i], dist[i])
				}
			}
		}
	}
}

// BenchmarkLloydContinuum is k-means where there are no clusters to find,
// as on customers: five standardized columns and a one-hot one of 16
// values, k = 5, 20 Lloyd iterations on quantized blocks. Most rows stay
// near a boundary, so the lazy passes search many of them every time.
func BenchmarkLloydContinuum(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	const rows, dims = 1 << 19, 21 // four blocks: 200 MB, past the caches
	var blocks []*partition.Block
	for p := range 4 {
		blk := partition.NewBlock(p, rows, dims)
		for i := range rows {
			r := blk.Data[i*blk.Stride:]
			for j := range 5 {
				r[j] = float32(rng.NormFloat64())
			}
			r[5+rng.IntN(16)] = 0.5
		}
		partition.Quantize(blk)
		blocks = append(blocks, blk)
	}
	cfg := Config{K: 5, MaxIter: 20, Seed: 1}.WithDefaults()
	cfg.Tol = 0
	for b.Loop() {
		for _, blk := range blocks {
			blk.TakeScratch()
		}
		run(b, cfg, blocks, 2)
	}
}

// The initialisation sample is drawn by where a row is, so it is the same
// whatever runs the passes, and it is about the share asked for; its passes
// are the full passes restricted to its rows.
func TestInitSampleIsADeterministicShareOfTheRows(t *testing.T) {
	blocks := blobs(t, randomCentres(3, 4, 5, 1), 1, 3, 4000, 2)
	smp := initSample{Seed: 7, Restart: 1, Frac: 0.1}
	var n int
	for _, b := range blocks {
		idx := smp.rows(b)
		if !slices.Equal(idx, smp.rows(b)) {
			t.Fatal("the sample changed between two draws")
		}
		if other := (initSample{Seed: 7, Restart: 2, Frac: 0.1}).rows(b); slices.Equal(idx, other) {
			t.Fatal("two restarts drew the same sample")
		}
		n += len(idx)
	}
	if n < 1000 || n > 1400 {
		t.Fatalf("sampled %d of 12000 rows at 0.1", n)
	}
	cand := [][]float64{rowValues(blocks[0], 0), rowValues(blocks[2], 9)}
	var counts [2]int64
	var cost float64
	for _, b := range blocks {
		for _, i := range smp.rows(b) {
			c, d := bruteNearest(b.Row(int(i)), cand)
			counts[c]++
			cost += d
		}
	}
	var w weightsPartial
	var sp samplePartial
	for _, b := range blocks {
		p := roundTrip(t, &weightsStep{Dims: 4, Cand: cand, Seed: 7, Restart: 1, Frac: 0.1}, b).(*weightsPartial)
		if w.Counts == nil {
			w = *p
		} else if err := w.Merge(p); err != nil {
			t.Fatal(err)
		}
		if err := sp.Merge(roundTrip(t, &sampleStep{Seed: 7, Restart: 1, Dims: 4, L: 6, Cand: cand, Frac: 0.1}, b)); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(w.Counts, counts[:]) || math.Abs(sp.Cost-cost) > 1e-5*cost {
		t.Fatalf("weights %v cost %v over the sample, want %v and %v", w.Counts, sp.Cost, counts, cost)
	}
}

// A run initialised on a sample has the same bits for any parallelism and
// through checkpoints, and on separated blobs finds the blobs' means as a
// run initialised on every row does.
func TestSampledInitialisationIsExactAndDeterministic(t *testing.T) {
	const spread, dims = 0.5, 5
	centres := randomCentres(8, dims, 20, 4)
	blocks, means, counts := labelledBlobs(centres, spread, 4, 5000, 5)
	cfg := Config{K: 8, Seed: 3, InitSample: 2000}
	want := run(t, cfg, blocks, 1)
	if got := run(t, cfg, blocks, 4); !reflect.DeepEqual(got, want) {
		t.Fatal("parallelism 4 changed a sampled run's result")
	}
	if f := cfg.initFrac(20000); f != 0.1 {
		t.Fatalf("init sample of 2000 in 20000 rows is a share of %v", f)
	}
	for i, m := range means {
		best := nearestTo(m, want.Centroids)
		if d := math.Sqrt(sq(m, want.Centroids[best])); d > 1e-6 || want.Sizes[best] != counts[i] {
			t.Errorf("blob %d: centroid %.2g from the blob mean, size %d want %d", i, d, want.Sizes[best], counts[i])
		}
	}
	cps := checkpoints(t, cfg.WithDefaults(), 20000, dims, &algorithms.LocalExecutor{Blocks: blocks, Parallelism: 2})
	for _, i := range []int{0, 1, 3} { // mid-initialisation
		r, err := Resume(cps[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := algorithms.Drive(context.Background(), r, &algorithms.LocalExecutor{Blocks: blocks, Parallelism: 3}, nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := r.Result(); !reflect.DeepEqual(got, want) {
			t.Fatalf("resumed after step %d: result differs", i)
		}
	}
}

func TestInitSampleSmallerThanKIsRefused(t *testing.T) {
	if _, err := New(Config{K: 8, InitSample: 5}.WithDefaults(), 100, 2); err == nil || !strings.Contains(err.Error(), "init_sample") {
		t.Fatalf("init_sample 5 for k = 8: %v", err)
	}
}
