package kmeans

import (
	"math"

	"github.com/cohort/cohort/partition"
)

// This file is the hot loop of every pass, kept apart so that SIMD versions
// can replace it behind the same signatures.
//
// Distances run over the whole padded stride, not just the real dims: the
// padding is zero in rows and centroids alike, so it adds exact zeros, and
// the loop needs no scalar tail. Every step measures distance with nearest,
// so sampling, weights and Lloyd agree on which centroid is closest.

// dist2 is the squared Euclidean distance in float32 between two padded
// rows (len a multiple of partition.Lanes). Four accumulators shorten the
// dependency chain; the explicit float32 conversions forbid the compiler
// from fusing multiply-adds, so every architecture computes the same bits
// and a partial does not depend on which worker mapped it. nearest repeats
// this exact order of operations by hand, so a distance has the same bits
// whichever of the two computed it.
func dist2(x, y []float32) float32 {
	var s0, s1, s2, s3 float32
	for len(x) >= partition.Lanes && len(y) >= partition.Lanes {
		a, b := (*[partition.Lanes]float32)(x), (*[partition.Lanes]float32)(y)
		d0, d1, d2, d3 := a[0]-b[0], a[1]-b[1], a[2]-b[2], a[3]-b[3]
		s0 += float32(d0 * d0)
		s1 += float32(d1 * d1)
		s2 += float32(d2 * d2)
		s3 += float32(d3 * d3)
		d0, d1, d2, d3 = a[4]-b[4], a[5]-b[5], a[6]-b[6], a[7]-b[7]
		s0 += float32(d0 * d0)
		s1 += float32(d1 * d1)
		s2 += float32(d2 * d2)
		s3 += float32(d3 * d3)
		x, y = x[partition.Lanes:], y[partition.Lanes:]
	}
	return (s0 + s1) + (s2 + s3)
}

// nearest returns the closest of k centroids (rows of stride float32 in
// cent) to the padded row x (stride values) and the squared distance; ties
// go to the lowest index. A row with a NaN matches no centroid better than
// +Inf, so it lands in cluster 0 with an infinite distance, which the
// program reports rather than hiding.
func nearest(x, cent []float32, k, stride int) (int, float32) {
	best, bestD := 0, float32(math.Inf(1))
	cent = cent[:k*stride]
	c := 0
	// Two centroids per sweep of x, each loaded x value serving both, and
	// dist2 inlined by hand: together about twice as fast as a dist2 call
	// per centroid. Each centroid keeps dist2's accumulators and order.
	for ; len(cent) >= 2*stride; c += 2 {
		y, z := cent[:stride], cent[stride:2*stride]
		cent = cent[2*stride:]
		var s0, s1, s2, s3, t0, t1, t2, t3 float32
		for xs := x; len(xs) >= partition.Lanes && len(y) >= partition.Lanes && len(z) >= partition.Lanes; {
			a, b, e := (*[partition.Lanes]float32)(xs), (*[partition.Lanes]float32)(y), (*[partition.Lanes]float32)(z)
			d0, d1, d2, d3 := a[0]-b[0], a[1]-b[1], a[2]-b[2], a[3]-b[3]
			f0, f1, f2, f3 := a[0]-e[0], a[1]-e[1], a[2]-e[2], a[3]-e[3]
			s0 += float32(d0 * d0)
			s1 += float32(d1 * d1)
			s2 += float32(d2 * d2)
			s3 += float32(d3 * d3)
			t0 += float32(f0 * f0)
			t1 += float32(f1 * f1)
			t2 += float32(f2 * f2)
			t3 += float32(f3 * f3)
			d0, d1, d2, d3 = a[4]-b[4], a[5]-b[5], a[6]-b[6], a[7]-b[7]
			f0, f1, f2, f3 = a[4]-e[4], a[5]-e[5], a[6]-e[6], a[7]-e[7]
			s0 += float32(d0 * d0)
			s1 += float32(d1 * d1)
			s2 += float32(d2 * d2)
			s3 += float32(d3 * d3)
			t0 += float32(f0 * f0)
			t1 += float32(f1 * f1)
			t2 += float32(f2 * f2)
			t3 += float32(f3 * f3)
			xs, y, z = xs[partition.Lanes:], y[partition.Lanes:], z[partition.Lanes:]
		}
		if d := (s0 + s1) + (s2 + s3); d < bestD {
			best, bestD = c, d
		}
		if d := (t0 + t1) + (t2 + t3); d < bestD {
			best, bestD = c+1, d
		}
	}
	if len(cent) >= stride {
		if d := dist2(x, cent[:stride]); d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD
}

// assignAccumulate assigns each of rows rows (stride apart in data, dims
// real values each, zero padded) to its nearest of k centroids (cent:
// k × stride, zero padded) and accumulates, per cluster, the float64 sum of
// its rows, its count, and the row farthest from its centroid (farDist,
// farRow; farRow -1 when none yet, and the first row wins a tie). It
// returns the float64 sum of squared distances and does not allocate.
func assignAccumulate(data []float32, rows, stride, dims int, cent []float32, k int,
	sums []float64, counts []int64, farDist []float32, farRow []int32) float64 {
	var wcss float64
	for i := 0; i < rows; i++ {
		x := data[i*stride : i*stride+stride]
		c, d := nearest(x, cent, k, stride)
		counts[c]++
		s := sums[c*dims : c*dims+dims]
		for j, v := range x[:len(s)] {
			s[j] += float64(v)
		}
		wcss += float64(d)
		if farRow[c] < 0 || d > farDist[c] {
			farDist[c], farRow[c] = d, int32(i)
		}
	}
	return wcss
}

// padCentroids lays float64 centroids out as float32 rows of stride values,
// the shape the kernels read.
func padCentroids(cent [][]float64, stride int) []float32 {
	out := make([]float32, len(cent)*stride)
	for c, row := range cent {
		for j, v := range row {
			out[c*stride+j] = float32(v)
		}
	}
	return out
}
