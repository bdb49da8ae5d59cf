package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

var nan32 = float32(math.NaN())

// guarded returns n values inside a buffer whose surrounding values are NaN,
// so a kernel that reads outside its input produces NaN and fails the test.
func guarded(n int) []float32 {
	buf := make([]float32, n+64)
	for i := range buf {
		buf[i] = nan32
	}
	return buf[32 : 32+n : 32+n]
}

// shape is one randomised input: rows of dims values at stride, whose
// padding (stride - dims values per row) is NaN, and k centroids.
type shape struct {
	rows, dims, stride, k int
	x, cent               []float32
}

func newShape(r *rand.Rand, rows, dims, pad, k int) shape {
	s := shape{rows: rows, dims: dims, stride: dims + pad, k: k}
	n := 0
	if rows > 0 {
		n = (rows-1)*s.stride + dims
	}
	s.x = guarded(n)
	s.cent = make([]float32, k*dims)
	scale := float32(1 + r.IntN(1000))
	for i := range s.cent {
		s.cent[i] = (r.Float32()*2 - 1) * scale
	}
	// Repeat some centroids so ties occur and the lowest index must win.
	if k > 2 && r.IntN(2) == 0 {
		copy(s.cent[(k-1)*dims:], s.cent[:dims])
	}
	for i := range rows {
		row := s.x[i*s.stride : i*s.stride+dims]
		switch p := r.IntN(40); {
		case p == 0:
			row[r.IntN(dims)] = nan32
		case p == 1:
			row[r.IntN(dims)] = float32(math.Inf(1 - 2*r.IntN(2)))
		case p < 8 && k > 0:
			copy(row, s.cent[r.IntN(k)*dims:][:dims]) // distance exactly zero
		default:
			base := r.IntN(k) * dims
			for j := range row {
				row[j] = s.cent[base+j] + float32(r.NormFloat64())*scale/10
			}
		}
		for j := dims; j < s.stride && i < rows-1; j++ {
			s.x[i*s.stride+j] = nan32
		}
	}
	return s
}

// newTotals is an empty Totals for k clusters of dims values.
func newTotals(k, dims int) Totals {
	t := Totals{Sums: make([]float64, k*dims), Counts: make([]int64, k), FarDist: make([]float32, k), FarRow: make([]int32, k)}
	for c := range t.FarRow {
		t.FarRow[c] = -1
	}
	return t
}

func bitsEqual(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }

// withImpl runs f with each implementation this machine has.
func withImpl(t *testing.T, f func(t *testing.T, im impl)) {
	saved := active
	defer func() { active = saved }()
	for _, im := range available() {
		active = im
		t.Run(im.name, func(t *testing.T) { f(t, im) })
	}
}

// compare runs every kernel on s with im and with the Go twin and reports
// the first difference in any output bit.
func compare(s shape, im impl) error {
	var ca, cg Centroids
	ca.set(s.cent, s.k, s.dims, im, false)
	cg.set(s.cent, s.k, s.dims, generic, false)
	la, lg := make([]int32, s.rows), make([]int32, s.rows)
	da, dg := make([]float32, s.rows), make([]float32, s.rows)
	sa, sg := make([]float32, s.rows), make([]float32, s.rows)
	if s.rows > 0 {
		im.nearest(s.x, s.rows, s.stride, &ca, la, da, sa)
		generic.nearest(s.x, s.rows, s.stride, &cg, lg, dg, sg)
	}
	for i := range s.rows {
		if la[i] != lg[i] || !bitsEqual(da[i], dg[i]) || !bitsEqual(sa[i], sg[i]) {
			return fmt.Errorf("nearest row %d: %s (%d, %g, %g), go (%d, %g, %g)", i, im.name, la[i], da[i], sa[i], lg[i], dg[i], sg[i])
		}
	}
	if err := compareExpanded(s, im, lg, dg, sg); err != nil {
		return err
	}
	// accumulate and the bounded pass on labels that are not all nearest.
	r := rand.New(rand.NewPCG(uint64(s.rows), uint64(s.k)))
	for i := range lg {
		if r.IntN(3) == 0 {
			lg[i] = int32(r.IntN(s.k))
		}
	}
	suma, sumg := make([]float64, s.k*s.dims), make([]float64, s.k*s.dims)
	if s.rows > 0 {
		im.accumulate(s.x, s.rows, s.stride, s.dims, lg, suma)
		generic.accumulate(s.x, s.rows, s.stride, s.dims, lg, sumg)
	}
	for i := range suma {
		if math.Float64bits(suma[i]) != math.Float64bits(sumg[i]) && !(math.IsNaN(suma[i]) && math.IsNaN(sumg[i])) {
			return fmt.Errorf("accumulate sum %d: %s %g, go %g", i, im.name, suma[i], sumg[i])
		}
	}
	return compareBounded(s, im, &ca, &cg, lg, dg)
}

// compareBounded runs the bounded pass with im and with the Go twin from the
// same state, with bounds loose enough that some rows pass and some stop it,
// and compares everything it returns or writes.
func compareBounded(s shape, im impl, ca, cg *Centroids, label []int32, dist []float32) error {
	r := rand.New(rand.NewPCG(uint64(s.dims), uint64(s.rows)))
	lower := make([]float32, s.rows)
	for i := range lower {
		lower[i] = float32(math.Sqrt(float64(dist[i])) * (0.5 + 2*r.Float64()))
	}
	drop := make([]float64, s.k)
	for c := range drop {
		if r.IntN(2) == 0 {
			drop[c] = r.Float64() * 0.1
		}
	}
	type state struct {
		lower     []float32
		tot       Totals
		done, end int
	}
	run := func(f impl, c *Centroids) state {
		st := state{lower: slices.Clone(lower), tot: newTotals(s.k, s.dims)}
		st.tot.WCSS = 1
		// Resume after each stop as the caller would, skipping the row.
		for st.done < s.rows {
			n := f.bounded(s.x[st.done*s.stride:], s.rows-st.done, s.stride, c, label[st.done:], st.lower[st.done:], drop,
				1-1e-5, 1e-30, &st.tot, st.done)
			st.done += n + 1
			st.end++
		}
		return st
	}
	if s.rows == 0 {
		return nil
	}
	a, g := run(im, ca), run(generic, cg)
	if a.end != g.end || math.Float64bits(a.tot.WCSS) != math.Float64bits(g.tot.WCSS) && !(math.IsNaN(a.tot.WCSS) && math.IsNaN(g.tot.WCSS)) {
		return fmt.Errorf("bounded: %s stopped %d times, WCSS %v; go %d, %v", im.name, a.end, a.tot.WCSS, g.end, g.tot.WCSS)
	}
	for i := range lower {
		if !bitsEqual(a.lower[i], g.lower[i]) {
			return fmt.Errorf("bounded lower %d: %s %v, go %v", i, im.name, a.lower[i], g.lower[i])
		}
	}
	if !slices.Equal(a.tot.Counts, g.tot.Counts) || !slices.Equal(a.tot.FarRow, g.tot.FarRow) {
		return fmt.Errorf("bounded counts or farthest rows differ: %s %v %v, go %v %v", im.name, a.tot.Counts, a.tot.FarRow, g.tot.Counts, g.tot.FarRow)
	}
	for i := range a.tot.Sums {
		if math.Float64bits(a.tot.Sums[i]) != math.Float64bits(g.tot.Sums[i]) && !(math.IsNaN(a.tot.Sums[i]) && math.IsNaN(g.tot.Sums[i])) {
			return fmt.Errorf("bounded sum %d: %s %v, go %v", i, im.name, a.tot.Sums[i], g.tot.Sums[i])
		}
	}
	for c := range a.tot.FarDist {
		if !bitsEqual(a.tot.FarDist[c], g.tot.FarDist[c]) {
			return fmt.Errorf("bounded farthest distance %d: %s %v, go %v", c, im.name, a.tot.FarDist[c], g.tot.FarDist[c])
		}
	}
	return nil
}

func TestKernelsMatchGoTwin(t *testing.T) {
	withImpl(t, func(t *testing.T, im impl) {
		r := rand.New(rand.NewPCG(1, 2))
		dims := []int{1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 64, 100}
		ks := []int{1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 256, 1000}
		for _, d := range dims {
			for _, k := range ks {
				rows := r.IntN(70)
				if k >= 256 {
					rows = r.IntN(12)
				}
				s := newShape(r, rows, d, r.IntN(9), k)
				if err := compare(s, im); err != nil {
					t.Fatalf("dims %d, k %d, rows %d, stride %d: %v", d, k, rows, s.stride, err)
				}
			}
		}
	})
}

// The nearest centroid must be the true minimum of Dist, the lowest index
// on ties, and the runner-up the second smallest: checked against a direct
// search so the twin itself is held to the definition.
func TestNearestDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		s := newShape(r, 1+r.IntN(20), 1+r.IntN(20), 0, 1+r.IntN(20))
		var c Centroids
		c.Set(s.cent, s.k, s.dims)
		label, dist, second := make([]int32, s.rows), make([]float32, s.rows), make([]float32, s.rows)
		Nearest(s.x, s.rows, s.stride, &c, label, dist, second)
		for i := range s.rows {
			ds := make([]float32, s.k)
			best := -1
			for q := range s.k {
				ds[q] = Dist(s.x[i*s.stride:i*s.stride+s.dims], s.cent[q*s.dims:(q+1)*s.dims])
				if ds[q] < inf32 && (best < 0 || ds[q] < ds[best]) {
					best = q
				}
			}
			if best < 0 { // every distance NaN or +Inf
				if label[i] != 0 || dist[i] != inf32 || second[i] != inf32 {
					t.Fatalf("row %d with no finite distance: (%d, %g, %g)", i, label[i], dist[i], second[i])
				}
				continue
			}
			run := inf32
			for q, d := range ds {
				if q != best && d < run {
					run = d
				}
			}
			if int(label[i]) != best || !bitsEqual(dist[i], ds[best]) || !bitsEqual(second[i], run) {
				t.Fatalf("row %d: got (%d, %g, %g), want (%d, %g, %g)", i, label[i], dist[i], second[i], best, ds[best], run)
			}
		}
	}
}

func TestAssignTotals(t *testing.T) {
	withImpl(t, func(t *testing.T, im impl) {
		r := rand.New(rand.NewPCG(5, 6))
		s := newShape(r, 1000, 13, 3, 9)
		for i := range s.rows { // no NaN or Inf: totals must be finite
			for j := range s.dims {
				if v := s.x[i*s.stride+j]; v != v || math.IsInf(float64(v), 0) {
					s.x[i*s.stride+j] = 0
				}
			}
		}
		var c Centroids
		c.Set(s.cent, s.k, s.dims)
		label, dist, second := make([]int32, s.rows), make([]float32, s.rows), make([]float32, s.rows)
		tot := newTotals(s.k, s.dims)
		Assign(s.x, s.rows, s.stride, &c, label, dist, second, &tot, 0)

		var want Totals
		want.Sums, want.Counts = make([]float64, s.k*s.dims), make([]int64, s.k)
		for i := range s.rows {
			row := s.x[i*s.stride : i*s.stride+s.dims]
			l := int(label[i])
			want.Counts[l]++
			want.WCSS += float64(Dist(row, s.cent[l*s.dims:(l+1)*s.dims]))
			for j, v := range row {
				want.Sums[l*s.dims+j] += float64(v)
			}
		}
		if want.WCSS != tot.WCSS {
			t.Fatalf("WCSS %v, want %v", tot.WCSS, want.WCSS)
		}
		for q := range s.k {
			if want.Counts[q] != tot.Counts[q] {
				t.Fatalf("count %d: %d, want %d", q, tot.Counts[q], want.Counts[q])
			}
		}
		for i, v := range want.Sums {
			if v != tot.Sums[i] {
				t.Fatalf("sum %d: %v, want %v", i, tot.Sums[i], v)
			}
		}
	})
}

func TestBadInputPanicsWithReason(t *testing.T) {
	var c Centroids
	c.Set(make([]float32, 4*3), 4, 3)
	for name, f := range map[string]func(){
		"short x": func() {
			Nearest(make([]float32, 5), 2, 3, &c, make([]int32, 2), make([]float32, 2), make([]float32, 2))
		},
		"short out": func() {
			Nearest(make([]float32, 6), 2, 3, &c, make([]int32, 1), make([]float32, 2), make([]float32, 2))
		},
		"stride": func() {
			tot := newTotals(4, 3)
			Bounded(make([]float32, 6), 2, 2, &c, []int32{0, 0}, make([]float32, 2), make([]float64, 4), &tot, 0)
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// A label that names no centroid (state from another k, say) must not be
// trusted or used as an index: the bounded pass stops there for the caller
// to search the row.
func TestBoundedStopsAtForeignLabel(t *testing.T) {
	withImpl(t, func(t *testing.T, im impl) {
		for _, dims := range []int{3, 16} {
			var c Centroids
			c.Set(make([]float32, 4*dims), 4, dims)
			for _, bad := range []int32{4, -1, 1 << 30} {
				x := make([]float32, 3*dims)
				lower := []float32{9, 9, 9}
				tot := newTotals(4, dims)
				if n := Bounded(x, 3, dims, &c, []int32{0, bad, 0}, lower, make([]float64, 4), &tot, 0); n != 1 {
					t.Fatalf("dims %d, label %d: bounded pass stopped at row %d, want 1", dims, bad, n)
				}
				if tot.Counts[0] != 1 || lower[1] != 9 {
					t.Fatalf("dims %d, label %d: counts %v, lower %v", dims, bad, tot.Counts, lower)
				}
			}
		}
	})
}

func FuzzKernels(f *testing.F) {
	f.Add(uint64(1), uint8(16), uint8(16), uint16(100), uint8(0))
	f.Add(uint64(2), uint8(3), uint8(1), uint16(7), uint8(5))
	f.Add(uint64(3), uint8(33), uint8(200), uint16(3), uint8(1))
	f.Fuzz(func(t *testing.T, seed uint64, dims, k uint8, rows uint16, pad uint8) {
		if dims == 0 || k == 0 {
			return
		}
		r := rand.New(rand.NewPCG(seed, 7))
		s := newShape(r, int(rows%512), int(dims), int(pad%16), int(k))
		for _, im := range available() {
			if err := compare(s, im); err != nil {
				t.Fatalf("%s: dims %d, k %d, rows %d: %v", im.name, dims, k, s.rows, err)
			}
		}
	})
}

// Two rows at the same, largest distance from their centroid: the farthest
// row must be the first of them, in the search and in the bounded pass.
func TestFarthestRowTieKeepsTheFirst(t *testing.T) {
	withImpl(t, func(t *testing.T, im impl) {
		x := []float32{1, 0, 3, 0, 3, 0, -3, 0} // rows 1 and 2 tie at distance 9 from (0, 0); row 3 is also 9 away
		var c Centroids
		c.Set([]float32{0, 0, 100, 100}, 2, 2)
		label, dist, second := make([]int32, 4), make([]float32, 4), make([]float32, 4)
		tot := newTotals(2, 2)
		Assign(x, 4, 2, &c, label, dist, second, &tot, 10)
		if tot.FarRow[0] != 11 || tot.FarDist[0] != 9 {
			t.Fatalf("Assign: farthest row %d at %v, want 11 at 9", tot.FarRow[0], tot.FarDist[0])
		}
		lower := []float32{50, 50, 50, 50}
		tot = newTotals(2, 2)
		if n := Bounded(x, 4, 2, &c, label, lower, make([]float64, 2), &tot, 10); n != 4 {
			t.Fatalf("bounded pass stopped at row %d", n)
		}
		if tot.FarRow[0] != 11 || tot.FarDist[0] != 9 {
			t.Fatalf("Bounded: farthest row %d at %v, want 11 at 9", tot.FarRow[0], tot.FarDist[0])
		}
	})
}

// A cluster's first row becomes its farthest even at distance zero, and
// later rows at distance zero do not replace it.
func TestFarthestRowAtDistanceZero(t *testing.T) {
	withImpl(t, func(t *testing.T, im impl) {
		for _, dims := range []int{3, 16} {
			var c Centroids
			cent := make([]float32, 2*dims)
			cent[dims] = 100
			c.Set(cent, 2, dims)
			rows := 40
			x := make([]float32, rows*dims)
			label := make([]int32, rows)
			lower := make([]float32, rows)
			for i := range rows {
				label[i] = int32(i % 2)
				copy(x[i*dims:], cent[int(label[i])*dims:][:dims])
				lower[i] = 50
			}
			tot := newTotals(2, dims)
			if n := Bounded(x, rows, dims, &c, label, lower, make([]float64, 2), &tot, 7); n != rows {
				t.Fatalf("dims %d: bounded pass stopped at row %d", dims, n)
			}
			if tot.FarRow[0] != 7 || tot.FarRow[1] != 8 || tot.FarDist[0] != 0 || tot.FarDist[1] != 0 {
				t.Fatalf("dims %d: farthest rows %v at %v, want [7 8] at 0", dims, tot.FarRow, tot.FarDist)
			}
		}
	})
}

// Bounds on distances that underflow must allow for the absolute error:
// d = 1e-38 is below shrink·l² for l² = 1e-37, but not below it minus
// absErr (about 2.8e-37 at 16 dims), so the row must be searched.
func TestBoundedAllowsForUnderflow(t *testing.T) {
	withImpl(t, func(t *testing.T, im impl) {
		for _, dims := range []int{3, 16} {
			var c Centroids
			c.Set(make([]float32, 2*dims), 2, dims)
			x := make([]float32, dims)
			x[0] = 1e-19
			lower := []float32{float32(math.Sqrt(1e-37))}
			tot := newTotals(2, dims)
			if n := Bounded(x, 1, dims, &c, []int32{0}, lower, make([]float64, 2), &tot, 0); n != 0 {
				t.Fatalf("dims %d: row with d = %g and l² = 1e-37 vouched for", dims, Dist(x, make([]float32, dims)))
			}
		}
	})
}

// UpperBounds is UpperBound for a chunk, rounded up to float32: never
// below it, and not far above.
func TestUpperBoundsRoundUp(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 15))
	for _, dims := range []int{1, 16, 100} {
		d := make([]float32, 1000)
		for i := range d {
			d[i] = float32(math.Exp(r.NormFloat64() * 20))
		}
		d[0], d[1], d[2], d[3] = 0, inf32, nan32, math.MaxFloat32
		out := make([]float32, len(d))
		UpperBounds(d, dims, out)
		for i, v := range d {
			want := UpperBound(v, dims)
			switch {
			case math.IsNaN(float64(v)):
				if !math.IsNaN(float64(out[i])) && !math.IsInf(float64(out[i]), 1) {
					t.Fatalf("NaN distance bounded by %v", out[i])
				}
			case float64(out[i]) < want || float64(out[i]) > want*(1+1e-6)+1e-30:
				t.Fatalf("dims %d, d %v: bound %v, UpperBound %v", dims, v, out[i], want)
			}
		}
	}
}
