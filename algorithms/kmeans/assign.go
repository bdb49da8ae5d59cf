package kmeans

import "math"

// This file is the hot loop of every Lloyd iteration, kept apart so that
// SIMD versions can replace it behind the same signature.

// dist2 is the squared Euclidean distance in float32. Four accumulators
// shorten the dependency chain; the explicit float32 conversions forbid the
// compiler from fusing multiply-adds, so every build computes the same bits.
func dist2(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	j := 0
	for ; j+4 <= len(x); j += 4 {
		d0, d1, d2, d3 := x[j]-y[j], x[j+1]-y[j+1], x[j+2]-y[j+2], x[j+3]-y[j+3]
		s0 += float32(d0 * d0)
		s1 += float32(d1 * d1)
		s2 += float32(d2 * d2)
		s3 += float32(d3 * d3)
	}
	for ; j < len(x); j++ {
		d := x[j] - y[j]
		s0 += float32(d * d)
	}
	return (s0 + s1) + (s2 + s3)
}

// nearest returns the closest of k centroids (rows of stride float32 in
// cent) to x and the squared distance; ties go to the lowest index.
func nearest(x, cent []float32, k, stride int) (int, float32) {
	best, bestD := 0, float32(math.Inf(1))
	for c := 0; c < k; c++ {
		if d := dist2(x, cent[c*stride:c*stride+len(x)]); d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD
}

// assignAccumulate assigns each of rows rows (stride apart in data, dims
// real values each) to its nearest of k centroids (cent: k × stride, zero
// padded) and accumulates, per cluster, the float64 sum of its rows, its
// count, and the row farthest from its centroid (farDist, farRow; farRow -1
// when none yet). It returns the float64 sum of squared distances and does
// not allocate.
func assignAccumulate(data []float32, rows, stride, dims int, cent []float32, k int,
	sums []float64, counts []int64, farDist []float32, farRow []int32) float64 {
	var wcss float64
	for i := 0; i < rows; i++ {
		x := data[i*stride : i*stride+dims]
		c, d := nearest(x, cent, k, stride)
		counts[c]++
		s := sums[c*dims : c*dims+dims]
		for j, v := range x {
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
