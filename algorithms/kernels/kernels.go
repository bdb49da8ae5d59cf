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
	w          int
	nearest    func(x []float32, rows, stride int, c *Centroids, label []int32, dist, second []float32)
	distTo     func(x []float32, rows, stride int, c *Centroids, label []int32, dist []float32)
	accumulate func(x []float32, rows, stride, dims int, label []int32, sums []float64)
	bounded    func(x []float32, rows, stride int, c *Centroids, label []int32, lower []float32, drop []float64, shrink, absErr float64, tot *Totals, farDist []float32, farRow []int32, rowBase int) int
}

var generic = impl{name: "go", nearest: nearestGo, distTo: distToGo, accumulate: accumulateGo, bounded: boundedGo}

// Impl names the implementation in use: "avx512", "avx2" or "go".
func Impl() string { return active.name }

// Centroids are k centroids of dims values laid out for the kernels: as
// rows, and as tiles of w centroids for the vector width, padded with +Inf
// lanes that no row can be nearest to. Set reuses the memory.
type Centroids struct {
	K, Dims int
	rows    []float32 // K × Dims
	w       int
	tiles   int
	t       []float32 // tiles × Dims × w
}

// Set lays out k centroids given as rows of dims values in cent.
func (c *Centroids) Set(cent []float32, k, dims int) {
	c.set(cent, k, dims, active.w)
}

func (c *Centroids) set(cent []float32, k, dims, w int) {
	if k < 1 || dims < 1 || len(cent) < k*dims {
		panic(fmt.Sprintf("kernels: %d centroids of %d dims from %d values", k, dims, len(cent)))
	}
	c.K, c.Dims, c.w = k, dims, w
	c.rows = append(c.rows[:0], cent[:k*dims]...)
	c.tiles, c.t = 0, c.t[:0]
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

// Row returns centroid q as laid out (dims values; do not modify).
func (c *Centroids) Row(q int) []float32 { return c.rows[q*c.Dims : (q+1)*c.Dims] }

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

func checkLabels(label []int32, k int) {
	for i, l := range label {
		if uint32(l) >= uint32(k) {
			panic(fmt.Sprintf("kernels: row %d has label %d of %d clusters", i, l, k))
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
	active.nearest(x, rows, stride, c, label, dist, second)
}

// DistTo sets dist[i] to row i's squared distance to centroid label[i].
func DistTo(x []float32, rows, stride int, c *Centroids, label []int32, dist []float32) {
	c.check(x, rows, stride, len(label), len(dist))
	if rows == 0 {
		return
	}
	checkLabels(label[:rows], c.K)
	active.distTo(x, rows, stride, c, label, dist)
}

// Accumulate adds each row, widened to float64, to sums[label[i]*dims:],
// rows in order, so the sums have the bits of the obvious scalar loop.
func Accumulate(x []float32, rows, stride, dims int, label []int32, sums []float64) {
	if rows < 0 || dims < 1 || stride < dims || len(label) < rows || (rows > 0 && len(x) < (rows-1)*stride+dims) {
		panic(fmt.Sprintf("kernels: accumulate %d rows of stride %d and %d dims over %d values", rows, stride, dims, len(x)))
	}
	if rows == 0 {
		return
	}
	k := len(sums) / dims
	checkLabels(label[:rows], k)
	active.accumulate(x, rows, stride, dims, label, sums)
}

// Totals are per-cluster float64 sums (K × Dims), counts and the sum of
// squared distances, as Assign accumulates them.
type Totals struct {
	Sums   []float64
	Counts []int64
	WCSS   float64
}

// chunk is how many rows Assign finds nearest centroids for before summing
// them: few enough that the rows are still in cache for the second pass.
const chunk = 256

// Assign is the fused Lloyd kernel: each row's nearest centroid and distance
// (into label and dist) and, per cluster, the float64 sums, counts and WCSS
// added into tot. It does not allocate.
func Assign(x []float32, rows, stride int, c *Centroids, label []int32, dist []float32, tot *Totals) {
	c.check(x, rows, stride, len(label), len(dist))
	if len(tot.Sums) < c.K*c.Dims || len(tot.Counts) < c.K {
		panic(fmt.Sprintf("kernels: totals of %d sums and %d counts for %d×%d", len(tot.Sums), len(tot.Counts), c.K, c.Dims))
	}
	var second [chunk]float32
	for lo := 0; lo < rows; lo += chunk {
		n := min(chunk, rows-lo)
		xs := x[lo*stride:]
		ls, ds := label[lo:lo+n], dist[lo:lo+n]
		active.nearest(xs, n, stride, c, ls, ds, second[:n])
		active.accumulate(xs, n, stride, c.Dims, ls, tot.Sums)
		for i, l := range ls {
			tot.Counts[l]++
			tot.WCSS += float64(ds[i])
		}
	}
}

// Bounded is a Lloyd pass that trusts bounds: for each row in order, the
// distance d to centroid label[i], and l = lower[i] − drop[label[i]], a
// lower bound on the row's distance to every other centroid. While
// 0 < l and d < shrink·l² − absErr, which the caller chooses so that no
// other centroid can be as near, the row keeps its label: lower[i] becomes
// l (rounded down to float32) and the row is added to tot, counts, WCSS and
// the cluster's farthest row (farDist, farRow; rowBase is the block row of
// x's first row, and farRow -1 means none yet). At the first row it cannot
// vouch for it stops, changing nothing for that row, and returns its index
// so the caller can search it; it returns rows when it got through. Rows
// are summed in order, so the totals have the bits of a plain pass.
func Bounded(x []float32, rows, stride int, c *Centroids, label []int32, lower []float32, drop []float64, shrink, absErr float64, tot *Totals, farDist []float32, farRow []int32, rowBase int) int {
	c.check(x, rows, stride, len(label), len(lower))
	if len(drop) < c.K || len(tot.Sums) < c.K*c.Dims || len(tot.Counts) < c.K || len(farDist) < c.K || len(farRow) < c.K {
		panic(fmt.Sprintf("kernels: bounded pass over %d centroids with %d drops, %d sums, %d counts, %d far", c.K, len(drop), len(tot.Sums), len(tot.Counts), len(farRow)))
	}
	if rows == 0 {
		return 0
	}
	checkLabels(label[:rows], c.K)
	return active.bounded(x, rows, stride, c, label, lower, drop, shrink, absErr, tot, farDist, farRow, rowBase)
}
