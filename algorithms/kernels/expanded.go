package kernels

import (
	"math"
	"sync"
)

// The expanded form of the nearest-centroid search, for many centroids of
// many dimensions: ‖x−c‖² = ‖x‖² − 2x·c + ‖c‖², where the middle term for a
// block of rows against all centroids is one fused multiply-add per
// dimension and centroid, a third of the work of the direct form's
// subtract, multiply and add. Its values are not the canonical distances
// (Dist), and where ‖x‖ and ‖c‖ are large beside ‖x−c‖ they can be far from
// them, so the expanded form only picks candidates: with a bound on its
// error, every centroid whose canonical distance could be the row's
// smallest or second smallest is kept, and those few are measured with
// Dist. The labels, distances and runner-ups are therefore the bits the
// direct search gives, always; what cancellation costs is time, in more
// candidates, never correctness.
//
// Two things keep the candidates few. Rows and centroids are shifted by the
// centroids' mean first, which leaves distances unchanged but makes the
// norms, and so the error, the size of the spread of the data rather than
// of its offset from the origin. And the bound is taken per row from the
// row's own norm.

const (
	// Beyond these the scratch would not fit in cache and the direct form
	// is used.
	maxExDims = 1024
	maxExK    = 4096
	// Shifted norms below this (squared) keep every value of the expanded
	// sums well inside float32's range.
	maxExNorm2 = 1e36
	// exTiles is the vectors of centroids in a group, as gen lays them out.
	exTiles = 4
)

// exPays reports whether the expanded form is faster than the direct form
// for k centroids of dims dimensions. Measured with BenchmarkForm (see
// bench/RESULTS.md): it wins from about 6,000 multiply-adds per row, when
// the FMAs it saves outweigh the fixed cost of bounding each row and
// measuring its candidates (some 50 ns), and only with full groups of
// centroids; below that the direct form is faster.
func exPays(k, dims int) bool {
	return k >= 128 && dims >= 16 && k*dims >= 6144 && k <= maxExK && dims <= maxExDims
}

// setExpanded lays the centroids out for the expanded kernel of im: the
// shift (the centroids' mean), and groups of gw shifted centroids, each
// group its norms then, per dimension, gw values; lanes past k have norm
// +Inf and values 0, so no row can pick them. It reports false, leaving
// the expanded form off, if the centroids are not finite or too large.
func (c *Centroids) setExpanded(cent []float32, im impl) bool {
	k, dims := c.K, c.Dims
	mean := make([]float64, dims)
	for q := range k {
		for j, v := range cent[q*dims : (q+1)*dims] {
			mean[j] += float64(v)
		}
	}
	c.shift = grow(c.shift, dims)
	for j := range dims {
		c.shift[j] = float32(mean[j] / float64(k))
	}
	gw := exTiles * im.w
	c.gw, c.groups = gw, (k+gw-1)/gw
	c.g = grow(c.g, c.groups*(dims+1)*gw)
	reach := 0.0
	for g := range c.groups {
		block := c.g[g*(dims+1)*gw : (g+1)*(dims+1)*gw]
		for l := range gw {
			q := g*gw + l
			if q >= k {
				block[l] = inf32
				for j := range dims {
					block[(j+1)*gw+l] = 0
				}
				continue
			}
			n2 := 0.0
			for j := range dims {
				v := cent[q*dims+j] - c.shift[j]
				block[(j+1)*gw+l] = v
				n2 += float64(v) * float64(v)
			}
			if !(n2 < maxExNorm2) { // also NaN
				return false
			}
			block[l] = float32(n2)
			reach = max(reach, math.Sqrt(n2))
		}
	}
	c.reach = reach * (1 + 1e-9)
	return true
}

// exBlock is one block's scratch: the shifted rows, their norms, the
// expanded values of every centroid per row, each row's second smallest
// value and threshold, and a row's candidates. Blocks are taken from a pool so that the
// search does not allocate and Centroids can be shared by goroutines.
type exBlock struct {
	xs, norms, f, f2, t []float32
	cand                []int32
}

var exPool = sync.Pool{New: func() any { return new(exBlock) }}

// nearestExpanded is Nearest by the expanded form with im's kernels.
func nearestExpanded(im impl, x []float32, rows, stride int, c *Centroids, label []int32, dist, second []float32) {
	dims, rb := c.Dims, im.exRows
	fstride := c.groups * c.gw
	s := exPool.Get().(*exBlock)
	defer exPool.Put(s)
	s.xs = grow(s.xs, rb*dims)
	s.norms, s.f2 = grow(s.norms, rb), grow(s.f2, rb)
	s.f = grow(s.f, rb*fstride)
	s.cand = grow(s.cand, fstride)
	bound := c.exBound()
	s.t = grow(s.t, rb)
	t := s.t
	for lo := 0; lo < rows; lo += rb {
		n := min(rb, rows-lo)
		xs := x[lo*stride:]
		im.shift(xs, n, stride, c, s.xs, s.norms)
		im.expanded(s.xs, c, s.f, s.f2)
		for r := range n {
			var ok bool
			if t[r], ok = bound.threshold(float64(s.norms[r]), float64(s.f2[r])); !ok {
				t[r] = float32(math.NaN()) // no candidates: searched directly below
			}
		}
		l, d, sec := label[lo:lo+n], dist[lo:lo+n], second[lo:lo+n]
		im.finish(s.f, n, t, xs, stride, c, l, d, sec, s.cand)
		for r, q := range l {
			if q < 0 { // NaN, infinities or huge values: no bound
				im.nearest(xs[r*stride:], 1, stride, c, l[r:r+1], d[r:r+1], sec[r:r+1])
			}
		}
	}
}

// exBound holds what threshold needs of a search's shape, worked out once
// per search: the coefficients of the threshold, which is linear in the
// row's norm and in the runner-up's value, each rounded up.
type exBound struct {
	g, reach2  float64
	c1, c2, c3 float64
}

func (c *Centroids) exBound() exBound {
	relErr, absErr := distErr(c.Dims)
	g := float64(2*c.Dims+8) * 0x1p-24
	rho := (1 + relErr) / (1 - relErr)
	up, down := 1+relErr, 1+1/relErr
	const margin = 1 + 1e-12
	return exBound{
		g:      g,
		reach2: c.reach * c.reach,
		c1:     up * up * rho * margin,
		c2:     (g + (up*rho+2)*down*0x1p-46) * margin,
		c3:     down * 4 * absErr / (1 - relErr) * margin,
	}
}

// threshold is the largest expanded value a centroid can have and still be
// a row's nearest or runner-up by canonical distance, given the row's
// shifted squared norm a2 and its second smallest expanded value f2. It
// reports false when the row's values cannot be bounded (NaN, infinities,
// or norms large enough to overflow float32).
//
// The error model, with u = 2⁻²⁴ and a, b the shifted norms of row and
// centroid (b ≤ reach): each expanded value f̂ = ‖c‖² − 2x·c in float32 is
// within γ(b² + 2ab) of the exact one on the shifted vectors, and the norm
// a2 within γa², γ ≈ (dims+1)u, so ê = a2 + f̂ is within E = 2γ(a+b)² ≤
// g·s2, s2 = 2(a² + b²), of the exact ‖x′−c′‖²; rounding in the shift
// itself moves the square root of that by at most t = 2u(a+b), t² ≤ 4u²·s2;
// and the canonical distance D̃ is within relErr·D + absErr of the true D
// (distErr). So the runner-up's canonical distance is at most hi²·(1 +
// relErr) + absErr with hi = √(ê₂+E) + t, and a centroid can only beat it
// if √(ê−E) − t is at most S = √((hi²(1+relErr) + 2absErr)/(1−relErr)):
// if ê ≤ (S+t)² + E. Every such centroid is kept; no other can be nearest
// or second.
//
// Square roots would put a chain of them on every row, so the squares are
// bounded instead with (p+q)² ≤ (1+τ)p² + (1+1/τ)q², τ = relErr: the
// threshold grows by about 2τ·D, of the order of the canonical error
// itself, and the few extra candidates cost less than the roots.
func (b *exBound) threshold(a2, f2 float64) (float32, bool) {
	s2 := 2 * (a2*(1+b.g) + b.reach2)
	if !(s2 < maxExNorm2) || math.IsInf(f2, 0) || f2 != f2 {
		return 0, false
	}
	y := max(0, a2+f2+b.g*s2)
	// te = up·ρ·(up·y + down·tt) + 2·down·(κ² + tt) + e, tt = 2⁻⁴⁶·s2, e = g·s2
	te := b.c1*y + b.c2*s2 + b.c3
	tf := te*(1+1e-12) - a2*(1-1e-12)
	// Up by more than float32 rounds: the threshold must not shrink.
	return float32(tf + math.Abs(tf)*0x1p-22 + 0x1p-140), true
}

// The pure-Go twin of the expanded kernel, bit for bit: what the assembly
// is tested against. It is not used to search (the direct form is faster in
// Go), so it need not be fast.

func shiftGo(x []float32, rows, stride int, c *Centroids, xs, norms []float32) {
	dims := c.Dims
	for r := range rows {
		var a [8]float32
		for j, v := range x[r*stride : r*stride+dims] {
			d := v - c.shift[j]
			a[j%8] = fma32(d, d, a[j%8])
			xs[r*dims+j] = -2 * d
		}
		norms[r] = ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
	}
}

func expandedGo(rows int, xs []float32, c *Centroids, f, f2 []float32) {
	dims, gw := c.Dims, c.gw
	fstride := c.groups * gw
	for r := range rows {
		m1, m2 := inf32, inf32
		for g := range c.groups {
			block := c.g[g*(dims+1)*gw : (g+1)*(dims+1)*gw]
			for l := range gw {
				v := block[l]
				for j := range dims {
					v = fma32(xs[r*dims+j], block[(j+1)*gw+l], v)
				}
				f[r*fstride+g*gw+l] = v
				if v < m1 {
					m1, m2 = v, m1
				} else if v < m2 {
					m2 = v
				}
			}
		}
		f2[r] = m2
	}
}

func finishGo(f []float32, rows int, t, x []float32, stride int, c *Centroids, label []int32, dist, second []float32, cand []int32) {
	fstride := c.groups * c.gw
	for r := range rows {
		nc := 0
		for q, v := range f[r*fstride : (r+1)*fstride] {
			if v <= t[r] {
				cand[nc] = int32(q)
				nc++
			}
		}
		if nc < min(2, c.K) {
			label[r] = -1
			continue
		}
		row := x[r*stride : r*stride+c.Dims]
		best, d1, d2 := int32(0), inf32, inf32
		for _, q := range cand[:nc] {
			d := Dist(row, c.rows[int(q)*c.Dims:(int(q)+1)*c.Dims])
			if d < d1 {
				best, d1, d2 = q, d, d1
			} else if d < d2 {
				d2 = d
			}
		}
		label[r], dist[r], second[r] = best, d1, d2
	}
}

// fma32 is a·b + c rounded once to float32, as VFMADD231PS computes it. The
// product is exact in float64 and the sum's rounding error is recovered
// exactly (TwoSum), which settles the one case where rounding the float64
// sum again to float32 would differ: a sum that lands on a midpoint.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	bb := s - p
	e := (p - (s - bb)) + (float64(c) - bb)
	r := float32(s)
	if e == 0 || float64(r) == s || math.IsInf(s, 0) || s != s {
		return r
	}
	o := math.Nextafter32(r, inf32)
	if float64(r) > s {
		o = math.Nextafter32(r, -inf32)
	}
	if math.Abs(float64(o)-s) == math.Abs(float64(r)-s) && (e > 0) == (float64(o) > float64(r)) {
		return o
	}
	return r
}
