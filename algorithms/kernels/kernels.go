package kernels

import (
	"fmt"
	"math"
)

var inf32 = float32(math.Inf(1))

// impl is one implementation of the kernels; the active one is chosen at
// start-up (dispatch_*.go). Slices have been checked by the exported
// wrappers, so implementations may index without bounds checks.
type impl struct {
	name string
	// w is the tile width Centroids lays out for nearest: centroids per
	// vector. Zero means no tiles (the Go twin reads centroid rows).
	w       int
	nearest func(x []float32, rows, stride int, c *Centroids, label []int32, dist, second []float32)
	// The expanded form's kernels (expanded.go); exRows is the rows of a
	// block, zero if there are none.
	exRows     int
	shift      func(x []float32, rows, stride int, c *Centroids, xs, norms []float32)
	expanded   func(xs []float32, c *Centroids, f, f2 []float32)
	finish     func(f []float32, rows int, t, x []float32, stride int, c *Centroids, label []int32, dist, second []float32, cand []int32)
	accumulate func(x []float32, rows, stride, dims int, label []int32, sums []float64)
	bounded    func(x []float32, rows, stride int, c *Centroids, label []int32, lower []float32, drop []float64, shrink, absErr float64, tot *Totals, rowBase int) int
	// distanceSums is DistanceSums (distsums.go).
	distanceSums func(x []float64, yt []float64, ld, n int, ends []int32, manhattan bool, sums []float64)
	// distanceBlock is DistanceBlock (distblock.go).
	distanceBlock func(x []float64, dims int, yt []float64, ld, n int, manhattan bool, sums, acc []float64, off []int)
}

var generic = impl{name: "go", nearest: nearestGo, accumulate: accumulateGo, bounded: boundedGo, distanceSums: distanceSumsGo, distanceBlock: distanceBlockGo}

// Impl names the implementation in use: "avx512", "avx2" or "go".
func Impl() string { return active.name }

// Centroids are k centroids of dims values laid out for the kernels: as
// rows, and as tiles of w centroids for the vector width, padded with +Inf
// lanes that no row can be nearest to; and, where the shape makes the
// expanded form pay, shifted and grouped for it. Set reuses the memory;
// once set, Centroids may be used by any number of goroutines.
type Centroids struct {
	K, Dims int
	rows    []float32 // K × Dims
	w       int
	tiles   int
	t       []float32 // tiles × Dims × w

	// The expanded form (expanded.go): on if ex.
	ex     bool
	shift  []float32 // Dims: subtracted from rows and centroids alike
	gw     int       // centroids per group
	groups int
	g      []float32 // groups × (Dims+1) × gw: norms, then values by dimension
	reach  float64   // at least every shifted centroid's norm
}

// Set lays out k centroids given as rows of dims values in cent.
func (c *Centroids) Set(cent []float32, k, dims int) {
	c.set(cent, k, dims, active, exPays(k, dims))
}

// set lays the centroids out for im, and for its expanded form if ex and
// im has one.
func (c *Centroids) set(cent []float32, k, dims int, im impl, ex bool) {
	w := im.w
	if k < 1 || dims < 1 || len(cent) < k*dims {
		panic(fmt.Sprintf("kernels: %d centroids of %d dims from %d values", k, dims, len(cent)))
	}
	c.K, c.Dims, c.w = k, dims, w
	c.rows = append(c.rows[:0], cent[:k*dims]...)
	c.tiles, c.t = 0, c.t[:0]
	c.ex = ex && im.exRows > 0 && c.setExpanded(cent, im)
	if w == 0 {
		return
	}
	c.tiles = (k + w - 1) / w
	c.t = grow(c.t, c.tiles*dims*w)
	for tile := range c.tiles {
		for j := range dims {
			lanes := c.t[(tile*dims+j)*w : (tile*dims+j+1)*w]
			for l := range lanes {
				if q := tile*w + l; q < k {
					lanes[l] = cent[q*dims+j]
				} else {
					lanes[l] = inf32
				}
			}
		}
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func (c *Centroids) check(x []float32, rows, stride int, outs ...int) {
	if c.K < 1 {
		panic("kernels: centroids not set")
	}
	if rows < 0 || stride < c.Dims || (rows > 0 && len(x) < (rows-1)*stride+c.Dims) {
		panic(fmt.Sprintf("kernels: %d rows of stride %d and %d dims need more than %d values", rows, stride, c.Dims, len(x)))
	}
	for _, n := range outs {
		if n < rows {
			panic(fmt.Sprintf("kernels: output of %d for %d rows", n, rows))
		}
	}
}

// Nearest finds, for each of rows rows of x (row i at x[i*stride:], dims
// values used), the nearest centroid (the lowest index on ties), the
// squared distance to it, and the squared distance to the runner-up (+Inf
// when k = 1). A row containing NaN is nearest to centroid 0 at +Inf.
func Nearest(x []float32, rows, stride int, c *Centroids, label []int32, dist, second []float32) {
	c.check(x, rows, stride, len(label), len(dist), len(second))
	if rows == 0 {
		return
	}
	c.nearest(active, x, rows, stride, label, dist, second)
}

// nearest is Nearest by im, in the expanded form where c is laid out for
// it and there are rows enough to fill a block.
func (c *Centroids) nearest(im impl, x []float32, rows, stride int, label []int32, dist, second []float32) {
	if c.ex && rows >= im.exRows {
		nearestExpanded(im, x, rows, stride, c, label, dist, second)
		return
	}
	im.nearest(x, rows, stride, c, label, dist, second)
}

// Totals are what a Lloyd pass adds up per cluster: float64 sums of the rows
// (K × Dims), counts, the float64 sum of squared distances, and the row
// farthest from its centroid (FarDist, FarRow; FarRow -1 means none yet,
// and FarDist is then meaningless; the first row wins a tie), where an
// empty cluster can be re-seeded.
type Totals struct {
	Sums    []float64
	Counts  []int64
	WCSS    float64
	FarDist []float32
	FarRow  []int32
}

func (t *Totals) check(c *Centroids) {
	if len(t.Sums) < c.K*c.Dims || len(t.Counts) < c.K || len(t.FarDist) < c.K || len(t.FarRow) < c.K {
		panic(fmt.Sprintf("kernels: totals of %d sums, %d counts and %d farthest rows for %d×%d",
			len(t.Sums), len(t.Counts), len(t.FarRow), c.K, c.Dims))
	}
}

// chunk is how many rows Assign finds nearest centroids for before summing
// them: few enough that the rows are still in cache for the second pass.
const chunk = 256

// Assign is the fused Lloyd kernel: each row's nearest centroid, distance
// and runner-up distance (into label, dist and second, as Nearest), and the
// rows added into tot in row order, so the sums have the bits of the obvious
// scalar loop. rowBase is the block row of x's first row, for FarRow. It
// does not allocate.
func Assign(x []float32, rows, stride int, c *Centroids, label []int32, dist, second []float32, tot *Totals, rowBase int) {
	c.check(x, rows, stride, len(label), len(dist), len(second))
	tot.check(c)
	for lo := 0; lo < rows; lo += chunk {
		n := min(chunk, rows-lo)
		xs := x[lo*stride:]
		ls, ds := label[lo:lo+n], dist[lo:lo+n]
		c.nearest(active, xs, n, stride, ls, ds, second[lo:lo+n])
		active.accumulate(xs, n, stride, c.Dims, ls, tot.Sums)
		for i, l := range ls {
			d := ds[i]
			tot.Counts[l]++
			tot.WCSS += float64(d)
			if tot.FarRow[l] < 0 || d > tot.FarDist[l] {
				tot.FarDist[l], tot.FarRow[l] = d, int32(rowBase+lo+i)
			}
		}
	}
}

// Error terms of a computed squared distance D̃ against the true one D:
// |D̃ − D| ≤ relErr·D + absErr. Each term of the canonical sum is rounded
// three times (difference, square, lane sum) and passes through at most
// ⌈dims/8⌉ + 3 additions; relErr = (dims+8)·2⁻²³ covers that with room to
// spare, and absErr covers squares that underflow.
func distErr(dims int) (relErr, absErr float64) {
	return float64(dims+8) * 0x1p-23, float64(dims+8) * 0x1p-126
}

// LowerBound turns a runner-up distance from Nearest or Assign into a lower
// bound on the row's true (real-number) distance to every centroid but its
// nearest, the bound Bounded consumes. +Inf from the search means no
// runner-up when k = 1, but overflow otherwise.
func LowerBound(second float32, c *Centroids) float32 {
	if math.IsInf(float64(second), 1) {
		if c.K == 1 {
			return second
		}
		second = math.MaxFloat32
	}
	relErr, absErr := distErr(c.Dims)
	v := (float64(second) - absErr) / (1 + relErr)
	if !(v > 0) {
		return 0
	}
	return roundDown(math.Sqrt(v) * (1 - 1e-9))
}

// roundDown converts a positive v to float32 without rounding up.
func roundDown(v float64) float32 {
	f := float32(v)
	if float64(f) > v {
		f = math.Float32frombits(math.Float32bits(f) - 1)
	}
	return f
}

// Bounded is a Lloyd pass that trusts bounds (Hamerly's): for each row in
// order, the distance d to centroid label[i], and l = lower[i] −
// drop[label[i]], where lower[i] came from LowerBound (or an earlier
// Bounded) and drop[c] is how far any centroid other than c has moved since.
// While 0 < l and d is provably below the computed distance to any other
// centroid — d < (1−relErr)·l² − absErr, with distErr's terms — the row keeps
// its label: lower[i] becomes l (rounded down) and the row is added to tot.
// At the first row it cannot vouch for (or whose label is not a centroid)
// it stops, changing nothing for that row, and returns its index so the caller can search it (Assign on one row)
// and resume after it; it returns rows when it got through. Rows are summed
// in order, so the totals have the bits of a plain pass.
func Bounded(x []float32, rows, stride int, c *Centroids, label []int32, lower []float32, drop []float64, tot *Totals, rowBase int) int {
	c.check(x, rows, stride, len(label), len(lower))
	tot.check(c)
	if len(drop) < c.K {
		panic(fmt.Sprintf("kernels: bounded pass over %d centroids with %d drops", c.K, len(drop)))
	}
	if rows == 0 {
		return 0
	}
	// The kernels compare a row's distance with its cluster's farthest so
	// far and need not test for a cluster that has none: none is −Inf.
	for q, r := range tot.FarRow[:c.K] {
		if r < 0 {
			tot.FarDist[q] = float32(math.Inf(-1))
		}
	}
	relErr, absErr := distErr(c.Dims)
	shrink := (1 - relErr) * (1 - 1e-9)
	return active.bounded(x, rows, stride, c, label, lower, drop, shrink, absErr, tot, rowBase)
}

// UpperBound turns a canonical squared distance d (from Nearest, Assign or
// Dist) into an upper bound on the true (real-number) distance, not
// squared: +Inf when d is NaN or infinite.
func UpperBound(d float32, dims int) float64 {
	relErr, absErr := distErr(dims)
	v := (float64(d) + absErr) / (1 - relErr)
	if !(v < math.Inf(1)) {
		return math.Inf(1)
	}
	return math.Sqrt(v) * (1 + 1e-9)
}

// UpperBounds writes UpperBound(d, dims) for each d of dist to out as
// float32, rounded up: a whole chunk's bounds in one loop.
func UpperBounds(dist []float32, dims int, out []float32) {
	relErr, absErr := distErr(dims)
	scale := 1 / (1 - relErr) * (1 + 1e-12)
	out = out[:len(dist)]
	for i, d := range dist {
		v := math.Sqrt((float64(d)+absErr)*scale) * (1 + 1e-9)
		f := float32(v)
		if float64(f) < v { // also false for NaN, which stays NaN: no bound
			f = math.Float32frombits(math.Float32bits(f) + 1)
		}
		out[i] = f
	}
}

// Separated reports whether a row whose true distance to its centroid is at
// most u, and to every other centroid at least l, is one the search keeps
// in its cluster: its canonical distance to its own centroid is then
// strictly below its canonical distance to any other, whatever the
// rounding (distErr), so it is the search's answer without being measured.
func Separated(u, l float64, dims int) bool { return SeparationOf(dims).Holds(u, l) }

// Separation is Separated's test for one number of dimensions, worked out
// once for a pass that applies it to every row.
type Separation struct{ up, abs2, down float64 }

// SeparationOf returns Separated's test for rows of dims values.
func SeparationOf(dims int) Separation {
	relErr, absErr := distErr(dims)
	return Separation{up: (1 + relErr) * (1 + 1e-9), abs2: 2 * absErr, down: 1 - relErr}
}

// Holds is Separated(u, l, dims) for the dims of s.
func (s Separation) Holds(u, l float64) bool {
	return l > 0 && u*u*s.up+s.abs2 < l*l*s.down
}

// Accumulate adds each of rows rows of x (row i at x[i*stride:], dims
// values) to the float64 sums of the cluster its label names and counts it,
// rows in order, so the sums have the bits Assign and Bounded give a
// cluster's rows. Every label must be below k = len(counts).
func Accumulate(x []float32, rows, stride, dims int, label []int32, sums []float64, counts []int64) {
	k := len(counts)
	if rows < 0 || dims < 1 || stride < dims || (rows > 0 && len(x) < (rows-1)*stride+dims) || len(label) < rows || len(sums) < k*dims {
		panic(fmt.Sprintf("kernels: accumulate %d rows of stride %d and %d dims from %d values into %d sums", rows, stride, dims, len(x), len(sums)))
	}
	for _, l := range label[:rows] {
		if uint(l) >= uint(k) {
			panic(fmt.Sprintf("kernels: accumulate label %d with %d clusters", l, k))
		}
		counts[l]++
	}
	if rows > 0 {
		active.accumulate(x, rows, stride, dims, label, sums)
	}
}
