package evaluate

import (
	"math"

	"github.com/cohort/cohort/algorithms/kernels"
)

// transposed is a chunk of rows as kernels.DistanceSums takes them:
// float64, column-major, grouped by segment (runs in segment order, noise
// left out), each segment's rows in row order.
type transposed struct {
	yt   []float64
	ld   int
	ends []int32
}

// set lays out a chunk of rows (stride values apart, the first dims used)
// labelled label among k segments, and returns how many rows it kept.
func (t *transposed) set(chunk []float32, stride, dims int, label []int32, k int) int {
	t.ends = append(t.ends[:0], make([]int32, k)...)
	for _, c := range label {
		if c >= 0 {
			t.ends[c]++
		}
	}
	var n int32
	for c, m := range t.ends {
		t.ends[c] = n // the run's start, for now
		n += m
	}
	t.ld = (int(n) + kernels.DistLanes - 1) / kernels.DistLanes * kernels.DistLanes
	t.yt = append(t.yt[:0], make([]float64, dims*t.ld)...)
	for r, c := range label {
		if c < 0 {
			continue
		}
		at := int(t.ends[c])
		t.ends[c]++
		for j, v := range chunk[r*stride : r*stride+dims] {
			t.yt[j*t.ld+at] = float64(v)
		}
	}
	return int(n)
}

// sqEuclidean is the squared Euclidean distance between a and b.
func sqEuclidean(a, b []float64) float64 {
	var d float64
	for j, v := range a {
		t := v - b[j]
		d = math.FMA(t, t, d)
	}
	return d
}

func manhattan(a, b []float64) float64 {
	var d float64
	for j, v := range a {
		d += math.Abs(v - b[j])
	}
	return d
}

func euclidean(a, b []float64) float64 { return math.Sqrt(sqEuclidean(a, b)) }

// distanceFunc is the distance named by a Config.
func distanceFunc(name string) func(a, b []float64) float64 {
	if name == Manhattan {
		return manhattan
	}
	return euclidean
}
