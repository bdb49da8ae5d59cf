package kmeans

import (
	"math"

	"github.com/cohort/cohort/algorithms/kernels"
	"github.com/cohort/cohort/partition"
)

// This file is the hot path of every pass: it drives algorithms/kernels over
// a block in chunks, and keeps Hamerly-style distance bounds with the block
// so that a Lloyd pass can prove most rows keep their centroid without
// measuring every distance.

// chunkRows is how many rows go through the kernels at a time: small enough
// that a chunk is still in cache when it is summed, large enough to amortise
// the calls.
const chunkRows = 512

// centroids32 lays float64 centroids out for the kernels.
func centroids32(cent [][]float64, dims int) *kernels.Centroids {
	flat := make([]float32, len(cent)*dims)
	for c, row := range cent {
		for j, v := range row {
			flat[c*dims+j] = float32(v)
		}
	}
	kc := &kernels.Centroids{}
	kc.Set(flat, len(cent), dims)
	return kc
}

// eachNearest calls f for every row of b with its nearest centroid and the
// squared distance to it, rows in order.
func eachNearest(b *partition.Block, kc *kernels.Centroids, f func(i int, c int32, d float32)) {
	var label [chunkRows]int32
	var dist, second [chunkRows]float32
	for lo := 0; lo < b.Rows; lo += chunkRows {
		n := min(chunkRows, b.Rows-lo)
		kernels.Nearest(b.Data[lo*b.Stride:], n, b.Stride, kc, label[:n], dist[:n], second[:n])
		for i := range n {
			f(lo+i, label[i], dist[i])
		}
	}
}

// bounds is what a Lloyd pass leaves with a block for the next one: each
// row's centroid and a lower bound on its true (real-number) distance to
// every other centroid, valid for the centroids in cent.
type bounds struct {
	k, dims int
	cent    []float32 // k × dims, the centroids the bounds refer to
	label   []int32
	lower   []float32
}

// distErr bounds a computed squared distance D̃ against the true one D:
// |D̃ − D| ≤ relErr·D + absErr. Each term of the canonical sum is rounded
// three times (difference, square, lane sum) and passes through at most
// ⌈dims/8⌉ + 3 additions; relErr = (dims+8)·2⁻²³ covers that with room to
// spare, and absErr covers squares that underflow.
func distErr(dims int) (relErr, absErr float64) {
	return float64(dims+8) * 0x1p-23, float64(dims+8) * 0x1p-126
}

// lloydPass assigns every row of b to its nearest centroid, exactly as a
// full search with kernels.Nearest would, and sums the block into p. With
// bounds from an earlier pass it skips the search for rows whose distance to
// their centroid is provably below their distance to any other: the row
// keeps its label, and its distance, measured directly, has the same bits
// the search would give, so the partial is identical either way. It returns
// how many rows were searched.
func lloydPass(b *partition.Block, cent [][]float64, dims int, p *lloydPartial, farDist []float32, farRow []int32) (searched int) {
	k := len(cent)
	kc := centroids32(cent, dims)
	flat := make([]float32, k*dims)
	for c := range k {
		copy(flat[c*dims:], kc.Row(c))
	}

	st, _ := b.TakeScratch().(*bounds)
	fresh := st == nil || st.k != k || st.dims != dims || len(st.label) != b.Rows
	if fresh {
		st = &bounds{k: k, dims: dims, label: make([]int32, b.Rows), lower: make([]float32, b.Rows)}
	}
	relErr, absErr := distErr(dims)
	shrink := (1 - relErr) * (1 - 1e-9)
	// drop[c]: how far any centroid other than c moved, which is how much a
	// lower bound of a row of c may shrink (triangle inequality).
	drop := make([]float64, k)
	if !fresh {
		first, second, arg := 0.0, 0.0, -1
		for c := range k {
			var s float64
			for j := range dims {
				d := float64(flat[c*dims+j]) - float64(st.cent[c*dims+j])
				s += d * d
			}
			s = math.Sqrt(s) * (1 + 1e-9)
			if s > first {
				first, second, arg = s, first, c
			} else if s > second {
				second = s
			}
		}
		for c := range drop {
			drop[c] = first
			if c == arg {
				drop[c] = second
			}
		}
	}

	tot := kernels.Totals{Sums: p.Sums, Counts: p.Counts, WCSS: p.WCSS}
	defer func() { p.WCSS = tot.WCSS }()
	if fresh {
		var sec [chunkRows]float32
		var dist [chunkRows]float32
		for lo := 0; lo < b.Rows; lo += chunkRows {
			n := min(chunkRows, b.Rows-lo)
			xs := b.Data[lo*b.Stride:]
			label, lower := st.label[lo:lo+n], st.lower[lo:lo+n]
			kernels.Nearest(xs, n, b.Stride, kc, label, dist[:n], sec[:n])
			for i := range n {
				lower[i] = lowerBound(sec[i], k, relErr, absErr)
			}
			sumRows(xs, n, b.Stride, dims, label, dist[:n], &tot, farDist, farRow, lo)
		}
		searched = b.Rows
	} else {
		// The bounded kernel runs until a row it cannot vouch for; that row
		// is searched and summed here, and the kernel resumes after it.
		var lab [1]int32
		var dist, sec [1]float32
		for i := 0; i < b.Rows; i++ {
			i += kernels.Bounded(b.Data[i*b.Stride:], b.Rows-i, b.Stride, kc, st.label[i:], st.lower[i:], drop,
				shrink, absErr, &tot, farDist, farRow, i)
			if i == b.Rows {
				break
			}
			xs := b.Data[i*b.Stride:]
			kernels.Nearest(xs, 1, b.Stride, kc, lab[:], dist[:], sec[:])
			st.label[i], st.lower[i] = lab[0], lowerBound(sec[0], k, relErr, absErr)
			sumRows(xs, 1, b.Stride, dims, lab[:], dist[:], &tot, farDist, farRow, i)
			searched++
		}
	}
	st.cent = flat
	b.PutScratch(st)
	return searched
}

// sumRows adds rows with their labels and distances to the totals and the
// farthest-row record (the first row wins a tie), in row order.
func sumRows(xs []float32, n, stride, dims int, label []int32, dist []float32, tot *kernels.Totals, farDist []float32, farRow []int32, rowBase int) {
	kernels.Accumulate(xs, n, stride, dims, label, tot.Sums)
	for i, c := range label[:n] {
		d := dist[i]
		tot.Counts[c]++
		tot.WCSS += float64(d)
		if farRow[c] < 0 || d > farDist[c] {
			farDist[c], farRow[c] = d, int32(rowBase+i)
		}
	}
}

// lowerBound turns a computed squared distance to the runner-up into a lower
// bound on the true distance to every centroid but the nearest. +Inf from
// the kernel means no runner-up when k = 1, but overflow otherwise.
func lowerBound(second float32, k int, relErr, absErr float64) float32 {
	if math.IsInf(float64(second), 1) {
		if k == 1 {
			return second
		}
		second = math.MaxFloat32
	}
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
