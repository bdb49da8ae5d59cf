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

// centroids32 lays float64 centroids out for the kernels; flat is the
// float32 rows they were made from (k × dims).
func centroids32(cent [][]float64, dims int) (kc *kernels.Centroids, flat []float32) {
	flat = make([]float32, len(cent)*dims)
	for c, row := range cent {
		for j, v := range row {
			flat[c*dims+j] = float32(v)
		}
	}
	kc = &kernels.Centroids{}
	kc.Set(flat, len(cent), dims)
	return kc, flat
}

// eachNearest calls f for every row of b with its nearest centroid and the
// squared distance to it, rows in order.
func eachNearest(b *partition.Block, cent [][]float64, dims int, f func(i int, c int32, d float32)) {
	kc, _ := centroids32(cent, dims)
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

// lloydPass assigns every row of b to its nearest centroid, exactly as a
// full search with kernels.Nearest would, and sums the block into p. With
// bounds from an earlier pass it skips the search for rows whose distance to
// their centroid is provably below their distance to any other: the row
// keeps its label, and its distance, measured directly, has the same bits
// the search would give, so the partial is identical either way. It returns
// how many rows were searched.
func lloydPass(b *partition.Block, cent [][]float64, dims int, tot *kernels.Totals) (searched int) {
	k := len(cent)
	kc, flat := centroids32(cent, dims)

	st, _ := b.TakeScratch().(*bounds)
	fresh := st == nil || st.k != k || st.dims != dims || len(st.label) != b.Rows
	if fresh {
		st = &bounds{k: k, dims: dims, label: make([]int32, b.Rows), lower: make([]float32, b.Rows)}
	}
	var dist [chunkRows]float32
	if fresh {
		// Search every row; the runner-up distances land in lower and
		// become bounds there.
		for lo := 0; lo < b.Rows; lo += chunkRows {
			n := min(chunkRows, b.Rows-lo)
			lower := st.lower[lo : lo+n]
			kernels.Assign(b.Data[lo*b.Stride:], n, b.Stride, kc, st.label[lo:lo+n], dist[:n], lower, tot, lo)
			for i, sec := range lower {
				lower[i] = kernels.LowerBound(sec, kc)
			}
		}
		searched = b.Rows
	} else {
		drop := drops(flat, st.cent, k, dims)
		// The bounded kernel runs until a row it cannot vouch for; that row
		// is searched and summed here, and the kernel resumes after it.
		for i := 0; i < b.Rows; i++ {
			i += kernels.Bounded(b.Data[i*b.Stride:], b.Rows-i, b.Stride, kc, st.label[i:], st.lower[i:], drop, tot, i)
			if i == b.Rows {
				break
			}
			kernels.Assign(b.Data[i*b.Stride:], 1, b.Stride, kc, st.label[i:i+1], dist[:1], st.lower[i:i+1], tot, i)
			st.lower[i] = kernels.LowerBound(st.lower[i], kc)
			searched++
		}
	}
	st.cent = flat
	b.PutScratch(st)
	return searched
}

// drops returns, per centroid c, how far any centroid other than c moved
// from old to cur: how much the lower bound of a row of c may shrink
// (triangle inequality). Movements are rounded up.
func drops(cur, old []float32, k, dims int) []float64 {
	first, second, arg := 0.0, 0.0, -1
	for c := range k {
		var s float64
		for j := range dims {
			d := float64(cur[c*dims+j]) - float64(old[c*dims+j])
			s += d * d
		}
		s = math.Sqrt(s) * (1 + 1e-9)
		if s > first {
			first, second, arg = s, first, c
		} else if s > second {
			second = s
		}
	}
	drop := make([]float64, k)
	for c := range drop {
		drop[c] = first
		if c == arg {
			drop[c] = second
		}
	}
	return drop
}
