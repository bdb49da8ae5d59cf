package kernels

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// compareExpanded holds im's expanded form, where it has one, to the Go
// twin kernel by kernel, and its search to the direct one (label, dist and
// second from the Go twin of the direct search) bit for bit.
func compareExpanded(s shape, im impl, label []int32, dist, second []float32) error {
	if im.exRows == 0 || s.rows == 0 {
		return nil
	}
	var c Centroids
	c.set(s.cent, s.k, s.dims, im, true)
	if !c.ex {
		return nil // centroids too large for the expanded form
	}
	rb, fstride := im.exRows, c.groups*c.gw
	xa, xg := make([]float32, rb*s.dims), make([]float32, rb*s.dims)
	na, ng := make([]float32, rb), make([]float32, rb)
	fa, fg := make([]float32, rb*fstride), make([]float32, rb*fstride)
	f2a, f2g := make([]float32, rb), make([]float32, rb)
	ca, cg := make([]int32, fstride), make([]int32, fstride)
	for lo := 0; lo < s.rows; lo += rb {
		n := min(rb, s.rows-lo)
		x := s.x[lo*s.stride:]
		im.shift(x, n, s.stride, &c, xa, na)
		shiftGo(x, n, s.stride, &c, xg, ng)
		for i := range n * s.dims {
			if !sameFloat(xa[i], xg[i]) {
				return fmt.Errorf("shift row %d value %d: %s %g, go %g", lo+i/s.dims, i%s.dims, im.name, xa[i], xg[i])
			}
		}
		for r := range n {
			if !sameFloat(na[r], ng[r]) {
				return fmt.Errorf("shift row %d norm: %s %g, go %g", lo+r, im.name, na[r], ng[r])
			}
		}
		im.expanded(xa, &c, fa, f2a)
		expandedGo(n, xa, &c, fg, f2g)
		for r := range n {
			if !finite(xa[r*s.dims : (r+1)*s.dims]) {
				continue // NaN and infinities: the row is searched directly
			}
			for q := range fstride {
				if !sameFloat(fa[r*fstride+q], fg[r*fstride+q]) {
					return fmt.Errorf("expanded row %d centroid %d: %s %g, go %g", lo+r, q, im.name, fa[r*fstride+q], fg[r*fstride+q])
				}
			}
			if f2a[r] != f2g[r] {
				return fmt.Errorf("expanded row %d second smallest: %s %g, go %g", lo+r, im.name, f2a[r], f2g[r])
			}
		}
		// finish on thresholds that admit one, some or no candidates,
		// NaN rows too.
		t := make([]float32, rb)
		for r := range n {
			switch row := fg[r*fstride : r*fstride+s.k]; rand.IntN(4) {
			case 0:
				t[r] = float32(math.NaN())
			case 1:
				t[r] = slices.Min(row)
			default:
				t[r] = row[rand.IntN(len(row))]
			}
		}
		out := func() ([]int32, []float32, []float32) {
			return make([]int32, rb), make([]float32, rb), make([]float32, rb)
		}
		la, da, sa := out()
		lg, dg, sg := out()
		im.finish(fa, n, t, x, s.stride, &c, la, da, sa, ca)
		finishGo(fa, n, t, x, s.stride, &c, lg, dg, sg, cg)
		for r := range n {
			if la[r] != lg[r] || la[r] >= 0 && (!sameFloat(da[r], dg[r]) || !sameFloat(sa[r], sg[r])) {
				return fmt.Errorf("finish row %d at %g: %s (%d, %g, %g), go (%d, %g, %g)", lo+r, t[r], im.name, la[r], da[r], sa[r], lg[r], dg[r], sg[r])
			}
		}
	}
	l, d, sec := make([]int32, s.rows), make([]float32, s.rows), make([]float32, s.rows)
	nearestExpanded(im, s.x, s.rows, s.stride, &c, l, d, sec)
	for i := range s.rows {
		if l[i] != label[i] || !bitsEqual(d[i], dist[i]) || !bitsEqual(sec[i], second[i]) {
			return fmt.Errorf("expanded search row %d: %s (%d, %g, %g), direct (%d, %g, %g)", i, im.name, l[i], d[i], sec[i], label[i], dist[i], second[i])
		}
	}
	return nil
}

func sameFloat(a, b float32) bool { return bitsEqual(a, b) || a != a && b != b }

func finite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}

// Centroids far from the origin and close together: the worst case for
// cancellation in ‖x‖² − 2x·c + ‖c‖². The shift and the candidate bound
// must still give exactly the direct search's answer, for rows near the
// centroids and rows far off.
func TestExpandedUnderCancellation(t *testing.T) {
	withImpl(t, func(t *testing.T, im impl) {
		if im.exRows == 0 {
			t.Skip("no expanded form")
		}
		r := rand.New(rand.NewPCG(8, 9))
		for _, sh := range []struct {
			dims, k         int
			offset, spread  float64
			rowSpread, rows float64
		}{
			{16, 64, 1e4, 1e-2, 1e-2, 300},
			{33, 100, 1e4, 1e-2, 1, 300},
			{32, 256, 1e3, 1e-3, 1e-3, 100},
			{9, 40, -5e5, 1, 1e3, 300},
			{64, 33, 1e-3, 1e-6, 1e-6, 100},
			{17, 50, 1e15, 1e12, 1e12, 100},
			// Rows far from centroids close together: distances differ
			// by less than their own rounding, and the runner-up is
			// decided by the canonical sums' last bits.
			{16, 64, 0, 1e-2, 1e4, 300},
			{32, 256, 7, 1e-3, 1e5, 100},
			{8, 64, 1, 1e-4, 1e2, 300},
		} {
			s := shape{rows: int(sh.rows), dims: sh.dims, stride: sh.dims, k: sh.k}
			s.cent = make([]float32, sh.k*sh.dims)
			for i := range s.cent {
				s.cent[i] = float32(sh.offset + r.NormFloat64()*sh.spread)
			}
			s.x = guarded(s.rows * s.dims)
			for i := range s.rows {
				q := r.IntN(sh.k)
				for j := range sh.dims {
					s.x[i*sh.dims+j] = s.cent[q*sh.dims+j] + float32(r.NormFloat64()*sh.rowSpread)
				}
			}
			label, dist, second := make([]int32, s.rows), make([]float32, s.rows), make([]float32, s.rows)
			var cg Centroids
			cg.set(s.cent, s.k, s.dims, generic, false)
			generic.nearest(s.x, s.rows, s.stride, &cg, label, dist, second)
			if err := compareExpanded(s, im, label, dist, second); err != nil {
				t.Fatalf("offset %g, spread %g, %d×%d: %v", sh.offset, sh.spread, sh.k, sh.dims, err)
			}
		}
	})
}

// Rows the expanded form cannot bound (huge values, NaN, infinities) and
// centroids it cannot lay out are searched directly, with the same answer.
func TestExpandedFallsBack(t *testing.T) {
	withImpl(t, func(t *testing.T, im impl) {
		if im.exRows == 0 {
			t.Skip("no expanded form")
		}
		dims, k := 8, 40
		cent := make([]float32, k*dims)
		for i := range cent {
			cent[i] = float32(i%7) - 3
		}
		x := make([]float32, 6*dims)
		x[0] = 3e19                     // the norm overflows float32
		x[dims+1] = nan32               // NaN
		x[2*dims] = inf32               // +Inf
		x[3*dims+2] = -3e38             // beyond the expanded form's range
		copy(x[4*dims:], cent[5*dims:]) // an ordinary row
		var ce, cd Centroids
		ce.set(cent, k, dims, im, true)
		cd.set(cent, k, dims, generic, false)
		if !ce.ex {
			t.Fatal("expanded form not laid out")
		}
		got := [3][]float32{make([]float32, 6), make([]float32, 6), make([]float32, 6)}
		want := [3][]float32{make([]float32, 6), make([]float32, 6), make([]float32, 6)}
		gl, wl := make([]int32, 6), make([]int32, 6)
		nearestExpanded(im, x, 6, dims, &ce, gl, got[0], got[1])
		generic.nearest(x, 6, dims, &cd, wl, want[0], want[1])
		for i := range 6 {
			if gl[i] != wl[i] || !bitsEqual(got[0][i], want[0][i]) || !bitsEqual(got[1][i], want[1][i]) {
				t.Fatalf("row %d: (%d, %g, %g), want (%d, %g, %g)", i, gl[i], got[0][i], got[1][i], wl[i], want[0][i], want[1][i])
			}
		}
		huge := slices.Clone(cent)
		huge[3] = 1e20
		ce.set(huge, k, dims, im, true)
		if ce.ex {
			t.Fatal("centroids beyond float32's safe range laid out for the expanded form")
		}
		huge[3] = nan32
		ce.set(huge, k, dims, im, true)
		if ce.ex {
			t.Fatal("NaN centroid laid out for the expanded form")
		}
	})
}

// Assign in the expanded form neither allocates in the steady state nor
// minds sharing its Centroids between goroutines (run with -race).
func TestExpandedSharedAndAllocationFree(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 11))
	s := newShape(r, 1000, 32, 0, 256)
	var c Centroids
	c.Set(s.cent, s.k, s.dims)
	if !c.ex && active.exRows > 0 {
		t.Fatalf("%s: 256 centroids of 32 dims not laid out for the expanded form", active.name)
	}
	want := make([]int32, s.rows)
	d, sec := make([]float32, s.rows), make([]float32, s.rows)
	Nearest(s.x, s.rows, s.stride, &c, want, d, sec)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			label, dist, second := make([]int32, s.rows), make([]float32, s.rows), make([]float32, s.rows)
			tot := newTotals(s.k, s.dims)
			for range 5 {
				Assign(s.x, s.rows, s.stride, &c, label, dist, second, &tot, 0)
				if !slices.Equal(label, want) {
					errs <- fmt.Errorf("labels differ between goroutines")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if raceOn {
		return
	}
	label := make([]int32, s.rows)
	tot := newTotals(s.k, s.dims)
	if n := testing.AllocsPerRun(20, func() {
		Assign(s.x, s.rows, s.stride, &c, label, d, sec, &tot, 0)
	}); n != 0 {
		t.Fatalf("Assign allocates %v times per call", n)
	}
}

// fma32 must round a·b + c once, as the hardware does: held to an exact
// sum rounded by math/big, including sums on a float32 midpoint.
func TestFMA32RoundsOnce(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 13))
	check := func(a, b, c float32) {
		exact := new(big.Float).SetPrec(200).SetFloat64(float64(a))
		exact.Mul(exact, new(big.Float).SetPrec(200).SetFloat64(float64(b)))
		exact.Add(exact, new(big.Float).SetPrec(200).SetFloat64(float64(c)))
		want, _ := exact.Float32()
		if got := fma32(a, b, c); !bitsEqual(got, want) {
			t.Fatalf("fma32(%g, %g, %g) = %g, want %g", a, b, c, got, want)
		}
	}
	for range 200000 {
		a, b, c := float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64()*math.Exp(r.NormFloat64()*5))
		check(a, b, c)
	}
	// a·b = s·2⁻²⁴·(1 − i²·2⁻⁴⁶) against c = 1 + j·2⁻²³: the float64 sum
	// is c + s·2⁻²⁴, a float32 midpoint, but the exact sum is not, so
	// rounding the float64 sum to even would be wrong half the time.
	for range 100000 {
		i, j := float32(1+r.IntN(1000)), float32(r.IntN(1<<22))
		sign := float32(1 - 2*r.IntN(2))
		scale := float32(math.Ldexp(1, r.IntN(40)-20))
		a := (1 + i*0x1p-23) * scale
		b := sign * 0x1p-24 * (1 - i*0x1p-23)
		check(a, b, (1+j*0x1p-23)*scale)
	}
}
