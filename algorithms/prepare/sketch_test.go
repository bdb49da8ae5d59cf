package prepare

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// grid is the quantiles the tests ask for: every 0.001 and the far tails.
func grid() []float64 {
	qs := []float64{0.0001, 0.0005, 0.9995, 0.9999}
	for i := range 1001 {
		qs = append(qs, float64(i)/1000)
	}
	slices.Sort(qs)
	return qs
}

// exactQuantile is the lower-rank quantile of sorted values, the definition
// Sketch.Quantile approximates.
func exactQuantile(sorted []float64, q float64) float64 {
	return sorted[int64(q*float64(len(sorted)-1))]
}

func sketchOf(vs []float64) *Sketch {
	var s Sketch
	for _, v := range vs {
		s.Add(v)
	}
	return &s
}

// distributions are the shapes a customer table's numbers take.
var distributions = []struct {
	name string
	draw func(r *rand.Rand) float64
}{
	{"normal", func(r *rand.Rand) float64 { return 50 + 10*r.NormFloat64() }},
	{"standard normal", func(r *rand.Rand) float64 { return r.NormFloat64() }},
	// Money: long-tailed, spanning several orders of magnitude.
	{"log-normal", func(r *rand.Rand) float64 { return math.Exp(3 + 1.5*r.NormFloat64()) }},
	// Refunds and balances: negatives, a block of exact zeros, a long tail.
	{"negatives and zeros", func(r *rand.Rand) float64 {
		switch r.IntN(5) {
		case 0:
			return 0
		case 1:
			return -math.Exp(2 + r.NormFloat64())
		}
		return math.Exp(1 + 2*r.NormFloat64())
	}},
}

func draw(seed uint64, n int, f func(*rand.Rand) float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = f(r)
	}
	return vs
}

func TestSketchRelativeError(t *testing.T) {
	worst := 0.0
	for i, d := range distributions {
		t.Run(d.name, func(t *testing.T) {
			vs := draw(uint64(i), 100_000, d.draw)
			s := sketchOf(vs)
			sorted := slices.Sorted(slices.Values(vs))
			if s.Count() != int64(len(vs)) {
				t.Fatalf("Count = %d, want %d", s.Count(), len(vs))
			}
			maxErr := 0.0
			for _, q := range grid() {
				got, want := s.Quantile(q), exactQuantile(sorted, q)
				if want == 0 {
					if got != 0 {
						t.Errorf("Quantile(%v) = %v, want 0", q, got)
					}
					continue
				}
				rel := math.Abs(got-want) / math.Abs(want)
				maxErr = max(maxErr, rel)
				// The bucket bound is exactly Alpha; allow for the rounding
				// of the logarithm at a bucket's edge.
				if rel > Alpha*(1+1e-9) {
					t.Errorf("Quantile(%v) = %v, exact %v: relative error %.6g > %v", q, got, want, rel, Alpha)
				}
			}
			worst = max(worst, maxErr)
			t.Logf("max relative error %.6g (Alpha %v)", maxErr, Alpha)
		})
	}
	t.Logf("max relative error over all distributions %.6g", worst)
}

func TestSketchEnds(t *testing.T) {
	vs := draw(7, 10_000, distributions[3].draw)
	s := sketchOf(vs)
	lo, hi := slices.Min(vs), slices.Max(vs)
	for _, c := range []struct {
		q    float64
		want float64
	}{{0, lo}, {1, hi}, {-0.5, lo}, {1.5, hi}, {math.Inf(-1), lo}, {math.Inf(1), hi}} {
		if got := s.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if got := s.Quantile(math.NaN()); !math.IsNaN(got) {
		t.Errorf("Quantile(NaN) = %v, want NaN", got)
	}
	for _, q := range grid() {
		if got := s.Quantile(q); got < lo || got > hi {
			t.Errorf("Quantile(%v) = %v outside [%v, %v]", q, got, lo, hi)
		}
	}
}

func TestSketchEmpty(t *testing.T) {
	var s Sketch
	if s.Count() != 0 {
		t.Errorf("Count = %d", s.Count())
	}
	for _, q := range []float64{0, 0.5, 1} {
		if got := s.Quantile(q); !math.IsNaN(got) {
			t.Errorf("empty Quantile(%v) = %v, want NaN", q, got)
		}
	}
}

// A bucket's representative can lie beyond every value in it; clamping to
// the extremes makes a constant column's quantiles exact.
func TestSketchConstant(t *testing.T) {
	for _, c := range []float64{100, -3.7, 1e-300, 0, math.MaxFloat64, -math.MaxFloat64} {
		s := sketchOf([]float64{c, c, c, c, c})
		for _, q := range grid() {
			if got := s.Quantile(q); got != c {
				t.Errorf("constant %v: Quantile(%v) = %v", c, q, got)
				break
			}
		}
	}
}

func TestSketchExtremeMagnitudes(t *testing.T) {
	vs := []float64{
		-math.MaxFloat64, -1e300, -1, -1e-11, -1e-13, math.Copysign(0, -1), 0,
		math.SmallestNonzeroFloat64, 1e-13, 1e-11, 1, 1e300, math.MaxFloat64 / 2, math.MaxFloat64,
	}
	s := sketchOf(vs)
	sorted := slices.Sorted(slices.Values(vs))
	for i := range sorted {
		q := float64(i) / float64(len(sorted)-1)
		got, want := s.Quantile(q), sorted[i]
		if math.IsInf(got, 0) || math.IsNaN(got) {
			t.Fatalf("Quantile(%v) = %v", q, got)
		}
		// Magnitudes up to minMagnitude are zero for the sketch.
		if math.Abs(want) <= minMagnitude {
			if math.Abs(got) > minMagnitude {
				t.Errorf("Quantile(%v) = %v, want within %v of 0 (exact %v)", q, got, minMagnitude, want)
			}
			continue
		}
		if rel := math.Abs(got-want) / math.Abs(want); rel > Alpha*(1+1e-9) {
			t.Errorf("Quantile(%v) = %v, exact %v: relative error %.6g", q, got, want, rel)
		}
	}
}

// Values at and beside bucket edges, the lower bounds of buckets, across
// the whole range of magnitudes.
func TestSketchBucketEdges(t *testing.T) {
	worst := 0.0
	for k := minIndex; k <= maxIndex; k += 7 {
		edge := math.Float64frombits(uint64(k) << (52 - mantissaBits))
		for _, v := range []float64{math.Nextafter(edge, 0), edge, math.Nextafter(edge, math.Inf(1))} {
			if v <= minMagnitude || math.IsInf(v, 0) {
				continue
			}
			for _, sign := range []float64{1, -1} {
				// The median of three, so that the bucket answers rather
				// than the exact extremes.
				s := sketchOf([]float64{sign * v / 2, sign * v, sign * min(2*v, math.MaxFloat64)})
				got := s.Quantile(0.5)
				rel := math.Abs(got-sign*v) / v
				worst = max(worst, rel)
				if rel > Alpha*(1+1e-9) {
					t.Fatalf("median of %v, %v and its double: %v, relative error %.6g", sign*v/2, sign*v, got, rel)
				}
			}
		}
	}
	t.Logf("max relative error at bucket edges %.9g", worst)
}

func TestSketchAddRefusesNonFinite(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Add(%v) did not panic", v)
				}
			}()
			var s Sketch
			s.Add(v)
		}()
	}
}

// shards cuts vs at random points into k runs; some may be empty.
func shards(r *rand.Rand, vs []float64, k int) [][]float64 {
	cuts := []int{0, len(vs)}
	for range k - 1 {
		cuts = append(cuts, r.IntN(len(vs)+1))
	}
	slices.Sort(cuts)
	out := make([][]float64, k)
	for i := range out {
		out[i] = vs[cuts[i]:cuts[i+1]]
	}
	return out
}

func mustMarshal(t *testing.T, s *Sketch) []byte {
	t.Helper()
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameSketch checks got and want answer every quantile with the same bits
// and encode to the same bytes.
func sameSketch(t *testing.T, what string, got, want *Sketch) {
	t.Helper()
	if got.Count() != want.Count() {
		t.Errorf("%s: Count = %d, want %d", what, got.Count(), want.Count())
	}
	for _, q := range grid() {
		g, w := got.Quantile(q), want.Quantile(q)
		if math.Float64bits(g) != math.Float64bits(w) && !(math.IsNaN(g) && math.IsNaN(w)) {
			t.Errorf("%s: Quantile(%v) = %v, want %v", what, q, g, w)
			return
		}
	}
	if g, w := mustMarshal(t, got), mustMarshal(t, want); !bytes.Equal(g, w) {
		t.Errorf("%s: encodings differ:\n got %x\nwant %x", what, g, w)
	}
}

func TestSketchMergeOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for i, d := range distributions {
		t.Run(d.name, func(t *testing.T) {
			vs := draw(uint64(100+i), 20_000, d.draw)
			whole := sketchOf(vs)
			parts := make([]*Sketch, 0, 9)
			for _, p := range shards(r, vs, 9) {
				parts = append(parts, sketchOf(p))
			}

			var forward, reverse, shuffled Sketch
			for _, p := range parts {
				forward.Merge(p)
			}
			for _, p := range slices.Backward(parts) {
				reverse.Merge(p)
			}
			for _, j := range r.Perm(len(parts)) {
				shuffled.Merge(parts[j])
			}
			// Pairwise, as a tree of merges would go.
			tree := make([]*Sketch, len(parts))
			for j, p := range parts {
				var c Sketch
				c.Merge(p)
				tree[j] = &c
			}
			for len(tree) > 1 {
				var next []*Sketch
				for j := 0; j+1 < len(tree); j += 2 {
					tree[j].Merge(tree[j+1])
					next = append(next, tree[j])
				}
				if len(tree)%2 == 1 {
					next = append(next, tree[len(tree)-1])
				}
				tree = next
			}

			sameSketch(t, "forward", &forward, whole)
			sameSketch(t, "reverse", &reverse, whole)
			sameSketch(t, "shuffled", &shuffled, whole)
			sameSketch(t, "tree", tree[0], whole)
		})
	}
}

func TestSketchMergeEmpty(t *testing.T) {
	full := sketchOf(draw(3, 1000, distributions[3].draw))
	want := mustMarshal(t, full)

	var empty Sketch
	full.Merge(&empty)
	if got := mustMarshal(t, full); !bytes.Equal(got, want) {
		t.Errorf("merging an empty sketch changed it")
	}

	var into Sketch
	into.Merge(full)
	sameSketch(t, "non-empty into empty", &into, full)

	var e1, e2 Sketch
	e1.Merge(&e2)
	if e1.Count() != 0 || !math.IsNaN(e1.Quantile(0.5)) {
		t.Errorf("empty into empty: Count %d, median %v", e1.Count(), e1.Quantile(0.5))
	}
}

func TestSketchMarshalRoundTrip(t *testing.T) {
	cases := map[string]*Sketch{
		"empty":      sketchOf(nil),
		"one":        sketchOf([]float64{42}),
		"zeros only": sketchOf([]float64{0, 0, 1e-13}),
		"negative":   sketchOf([]float64{-5, -1e6, -0.25}),
		"mixed":      sketchOf(draw(5, 5000, distributions[3].draw)),
		"extremes":   sketchOf([]float64{-math.MaxFloat64, math.MaxFloat64, 1e-11}),
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			b := mustMarshal(t, s)
			// Decoding replaces whatever the receiver held.
			got := sketchOf([]float64{1, 2, 3})
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			sameSketch(t, name, got, s)
		})
	}
}

// enc builds encodings by hand, valid or not.
type enc []byte

func (e enc) u(v uint64) enc  { return binary.AppendUvarint(e, v) }
func (e enc) i(v int64) enc   { return binary.AppendVarint(e, v) }
func (e enc) f(v float64) enc { return binary.LittleEndian.AppendUint64(e, math.Float64bits(v)) }

func TestSketchUnmarshalRejects(t *testing.T) {
	valid := mustMarshal(t, sketchOf(draw(9, 2000, distributions[3].draw)))
	v := enc{sketchVersion}
	one := int64(index(1)) // the bucket of 1
	cases := map[string][]byte{
		"nil":              nil,
		"version 0":        append([]byte{0}, valid[1:]...),
		"version 1":        append([]byte{1}, valid[1:]...),
		"version 3":        append([]byte{3}, valid[1:]...),
		"trailing byte":    append(slices.Clone(valid), 0),
		"garbage":          []byte("this is not a sketch at all"),
		"all ones":         bytes.Repeat([]byte{0xff}, 64),
		"overlong varint":  append(enc{sketchVersion}, bytes.Repeat([]byte{0x80}, 11)...),
		"count too high":   v.u(3).u(0).f(1).f(2).i(one).u(1).u(2).i(0).u(0),
		"count too low":    v.u(1).u(0).f(1).f(2).i(one).u(1).u(2).i(0).u(0),
		"zero over count":  v.u(1).u(2).f(0).f(0).i(0).u(0).i(0).u(0),
		"min above max":    v.u(1).u(1).f(1).f(0).i(0).u(0).i(0).u(0),
		"NaN min":          v.u(1).u(1).f(math.NaN()).f(0).i(0).u(0).i(0).u(0),
		"Inf max":          v.u(1).u(1).f(0).f(math.Inf(1)).i(0).u(0).i(0).u(0),
		"offset too low":   v.u(1).u(0).f(1).f(1).i(int64(minIndex) - 1).u(1).u(1).i(0).u(0),
		"offset too high":  v.u(1).u(0).f(1).f(1).i(int64(maxIndex) + 1).u(1).u(1).i(0).u(0),
		"buckets past top": v.u(2).u(0).f(1).f(1).i(int64(maxIndex)).u(2).u(1).u(1).i(0).u(0),
		"huge offset":      v.u(1).u(0).f(1).f(1).i(math.MaxInt64).u(1).u(1).i(0).u(0),
		"huge length":      v.u(1).u(0).f(1).f(1).i(one).u(math.MaxUint64 >> 1).u(1).i(0).u(0),
		"count overflows":  v.u(math.MaxUint64).u(0).i(0).u(0).i(0).u(0),
		"bucket sums wrap": v.u(math.MaxInt64).u(0).f(1).f(1).i(one).u(2).u(math.MaxInt64).u(math.MaxInt64).i(0).u(0),
	}
	// Every truncation of a valid encoding.
	for n := range len(valid) {
		cases[fmt.Sprintf("truncated to %d bytes", n)] = valid[:n]
	}
	for name, b := range cases {
		before := sketchOf([]float64{1, 2, 3})
		s := sketchOf([]float64{1, 2, 3})
		err := s.UnmarshalBinary(b)
		if err == nil {
			t.Errorf("%s: decoded %x without error", name, b)
			continue
		}
		if !errors.Is(err, errSketch) {
			t.Errorf("%s: error %v does not wrap errSketch", name, err)
		}
		sameSketch(t, name+" (receiver after error)", s, before)
	}
	// The hand-built encoder agrees with MarshalBinary on a valid one.
	good := v.u(2).u(0).f(1).f(2).i(one).u(1).u(2).i(0).u(0)
	var s Sketch
	if err := s.UnmarshalBinary(good); err != nil {
		t.Fatalf("hand-built valid encoding: %v", err)
	}
}

func FuzzSketchUnmarshal(f *testing.F) {
	for _, vs := range [][]float64{nil, {0}, {1, -1, 0}, draw(1, 300, distributions[2].draw), draw(2, 300, distributions[3].draw)} {
		b, err := sketchOf(vs).MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{sketchVersion, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Sketch
		if err := s.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, errSketch) {
				t.Fatalf("error %v does not wrap errSketch", err)
			}
			return
		}
		// A decoded sketch answers, merges and re-encodes without panicking,
		// its quantiles never decrease and stay within its extremes.
		prev := math.Inf(-1)
		for _, q := range []float64{0, 0.01, 0.25, 0.5, 0.75, 0.99, 1} {
			v := s.Quantile(q)
			if s.Count() == 0 {
				if !math.IsNaN(v) {
					t.Fatalf("empty sketch: Quantile(%v) = %v", q, v)
				}
				continue
			}
			if math.IsNaN(v) || v < prev || v < s.Quantile(0) || v > s.Quantile(1) {
				t.Fatalf("Quantile(%v) = %v after %v, extremes %v, %v", q, v, prev, s.Quantile(0), s.Quantile(1))
			}
			prev = v
		}
		b1, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var again Sketch
		if err := again.UnmarshalBinary(b1); err != nil {
			t.Fatalf("re-decoding %x: %v", b1, err)
		}
		if b2, _ := again.MarshalBinary(); !bytes.Equal(b1, b2) {
			t.Fatalf("re-encoding differs:\n%x\n%x", b1, b2)
		}
		var m Sketch
		m.Merge(&s)
		m.Merge(&again)
		if m.Count() != 2*s.Count() && s.Count() < math.MaxInt64/2 {
			t.Fatalf("merged Count %d, want %d", m.Count(), 2*s.Count())
		}
	})
}
