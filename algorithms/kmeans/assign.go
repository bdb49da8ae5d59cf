package kmeans

import (
	"math"
	"slices"

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

// tightenAbove is the number of centroids beyond which a lazy pass measures
// a row's distance to its own centroid before searching them all: a search
// of up to one or two kernel tiles of centroids costs about one Go Dist.
const tightenAbove = 16

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

// seeding is what the k-means‖ passes leave with a block: each row's
// nearest of the first n candidates and the squared distance to it. A
// restart's candidates only grow by appending, so the next pass measures
// the new ones alone, which makes the rounds cost one distance a row per
// candidate instead of one per candidate per round. The outcome is a full
// search's, ties to the lowest index included: every distance is the
// canonical kernel's for that row and candidate, whichever set it is
// measured in, and an old nearest gives way only to a strictly nearer one.
//
// Under an initialisation sample (initSample) the passes see only the
// sampled rows, gathered once per restart into rows: label and dist are
// then by position in the sample, and idx maps a position to its row.
type seeding struct {
	sample initSample
	idx    []int32 // the sampled rows, ascending; nil when every row is
	key    uint64  // of the n candidates, in order (candidatesKey)
	n      int
	label  []int32   // by row, or by position in the sample
	dist   []float32 // likewise
	rows   []float32 // the sample's rows, gathered; else chunkRows rows: a chunk of a packed block, expanded
}

// initSample is the uniform draw of rows the k-means‖ passes run on: each
// row is in it with probability Frac, by a hash of where it is in the
// dataset (seed, restart, partition, row), so the sample is the same for
// any placement. Frac ≥ 1, or 0 (unset), is every row.
type initSample struct {
	Seed    uint64
	Restart int
	Frac    float64
}

func (s initSample) all() bool { return s.Frac <= 0 || s.Frac >= 1 }

// rows lists the block's rows in the sample: one splitmix64 step a row.
func (s initSample) rows(b *partition.Block) []int32 {
	base := rowHash(s.Seed, s.Restart, sampleRound, b.ID, 0)
	idx := make([]int32, 0, int(float64(b.Rows)*s.Frac*1.1)+16)
	for i := range b.Rows {
		if partition.RowDraw(base, i) < s.Frac {
			idx = append(idx, int32(i))
		}
	}
	return idx
}

// size is how many rows the passes see.
func (sd *seeding) size(b *partition.Block) int {
	if sd.idx == nil {
		return b.Rows
	}
	return len(sd.idx)
}

// row is the block's row at position i of what the passes see.
func (sd *seeding) row(i int) int {
	if sd.idx == nil {
		return i
	}
	return int(sd.idx[i])
}

// values is the row at position i, in float64.
func (sd *seeding) values(b *partition.Block, i int) []float64 {
	if sd.idx == nil {
		return rowValues(b, i)
	}
	out := make([]float64, b.Dims)
	for j, v := range sd.rows[i*b.Stride : i*b.Stride+b.Dims] {
		out[j] = float64(v)
	}
	return out
}

// span is positions [lo, hi) of what the passes see, Stride values a row.
func (sd *seeding) span(b *partition.Block, lo, hi int) []float32 {
	if sd.idx == nil {
		return b.Span(lo, hi, sd.rows)
	}
	return sd.rows[lo*b.Stride : hi*b.Stride]
}

// sampled takes what b holds of the k-means‖ passes for this sample, or
// starts over: the rows of the sample gathered, no candidates measured.
func sampled(b *partition.Block, smp initSample) *seeding {
	sd, _ := b.TakeScratch().(*seeding)
	if sd != nil && sd.sample == smp && len(sd.label) == sd.size(b) {
		return sd
	}
	sd = &seeding{sample: smp}
	if smp.all() {
		sd.rows = chunkBuffer(b, nil)
	} else {
		sd.idx = smp.rows(b)
		sd.rows = make([]float32, len(sd.idx)*b.Stride)
		b.Gather(sd.idx, sd.rows)
	}
	n := sd.size(b)
	sd.label, sd.dist = make([]int32, n), make([]float32, n)
	return sd
}

// seed brings what b holds of the k-means‖ passes up to cand, or starts
// over when it holds nothing, another sample or another sequence of
// candidates (another restart or job, or a block that moved to this
// worker). The caller puts it back with b.PutScratch.
func seed(b *partition.Block, smp initSample, cand [][]float64, dims int) *seeding {
	sd := sampled(b, smp)
	if sd.n > len(cand) || sd.key != candidatesKey(cand[:sd.n]) {
		sd.n = 0
	}
	if sd.n == len(cand) {
		return sd
	}
	kc, _ := centroids32(cand[sd.n:], dims)
	base := int32(sd.n)
	var label [chunkRows]int32
	var dist, second [chunkRows]float32
	rows := sd.size(b)
	for lo := 0; lo < rows; lo += chunkRows {
		n := min(chunkRows, rows-lo)
		kernels.Nearest(sd.span(b, lo, lo+n), n, b.Stride, kc, label[:n], dist[:n], second[:n])
		if base == 0 {
			copy(sd.label[lo:lo+n], label[:n])
			copy(sd.dist[lo:lo+n], dist[:n])
			continue
		}
		for i := range n {
			if dist[i] < sd.dist[lo+i] {
				sd.label[lo+i], sd.dist[lo+i] = base+label[i], dist[i]
			}
		}
	}
	sd.n, sd.key = len(cand), candidatesKey(cand)
	return sd
}

// candidatesKey tells one sequence of candidates from another.
func candidatesKey(cand [][]float64) uint64 {
	h := uint64(len(cand))
	for _, row := range cand {
		for _, v := range row {
			h = partition.Mix64(h ^ math.Float64bits(v))
		}
	}
	return h
}

// bounds is what a Lloyd pass leaves with a block for the next one: each
// row's centroid, a lower bound on its true (real-number) distance to every
// other centroid and an upper bound on its distance to its own, valid for
// the centroids in cent; and the block's float64 sums and counts by label.
//
// The bounds are kept relative to per-cluster running totals of movement,
// so that a row whose bounds still separate it costs no write: the lower
// bound of a row of cluster c is lower[i] − cd[c] (cd adds up how far the
// other centroids moved) and its upper bound upper[i] + cm[c] (cm adds up
// how far c moved). An exact pass folds the totals back into lower (the
// form kernels.Bounded takes) and leaves upper unknown.
type bounds struct {
	k, dims int
	cent    []float32 // k × dims, the centroids the bounds refer to
	label   []int32
	lower   []float32
	upper   []float32 // meaningful when haveUpper
	cm, cd  []float64
	// haveUpper: every row has an upper bound. haveSums: sums and counts
	// are the block's, in row order, for the labels in label.
	haveUpper, haveSums bool
	sums                []float64
	counts              []int64
	// rows is chunkRows rows: the ones a lazy pass gathers to search, or
	// a chunk of a packed block, expanded.
	rows []float32
	// moved: rows the last lazy pass moved between sums; resummed: it
	// summed the block again instead.
	moved    int
	resummed bool
}

// lloydPass assigns every row of b to its nearest centroid, exactly as a
// full search with kernels.Nearest would, and sums the block into tot. With
// bounds from an earlier pass it skips the search for rows whose distance to
// their centroid is provably below their distance to any other.
//
// An exact pass measures every row's distance to its centroid, so tot gets
// the WCSS and the farthest rows, and the partial has the bits of a pass
// that searched every row. A lazy pass (exact false, and bounds to go on)
// does not: it reads only the rows its bounds cannot separate, and the
// block's sums and counts, which depend on the labels alone, are the ones
// kept from before if no row changed cluster, or summed again in row order
// if one did; so sums, counts and every label still have the bits of a
// full search, and only WCSS and the farthest rows are missing (lazy is
// then true). It returns how many rows were measured or searched.
func lloydPass(b *partition.Block, cent [][]float64, dims int, tot *kernels.Totals, exact bool) (searched int, lazy bool) {
	k := len(cent)
	kc, flat := centroids32(cent, dims)

	held := b.TakeScratch()
	st, _ := held.(*bounds)
	fresh := st == nil || st.k != k || st.dims != dims || len(st.label) != b.Rows
	if fresh {
		st = &bounds{k: k, dims: dims, cm: make([]float64, k), cd: make([]float64, k)}
		// The seeding's rows are done with: its memory becomes the
		// bounds' (a fresh pass writes every label and lower bound).
		if sd, ok := held.(*seeding); ok && len(sd.label) == b.Rows {
			st.label, st.lower = sd.label, sd.dist
		} else {
			st.label, st.lower = make([]int32, b.Rows), make([]float32, b.Rows)
		}
	}
	switch {
	case fresh:
		searched = freshPass(b, kc, st, tot)
	case exact:
		searched = exactPass(b, kc, flat, st, tot)
	default:
		searched, lazy = lazyPass(b, kc, flat, st), true
		for i, v := range st.sums {
			tot.Sums[i] += v
		}
		for i, n := range st.counts {
			tot.Counts[i] += n
		}
	}
	if !lazy {
		// tot held nothing of this block before: it is the block's now.
		st.sums = append(st.sums[:0], tot.Sums[:k*dims]...)
		st.counts = append(st.counts[:0], tot.Counts[:k]...)
		st.haveSums = true
	}
	st.cent = flat
	b.PutScratch(st)
	return searched, lazy
}

// freshPass searches every row; the runner-up distances become lower
// bounds and the distances upper bounds.
func freshPass(b *partition.Block, kc *kernels.Centroids, st *bounds, tot *kernels.Totals) int {
	st.upper = resize(st.upper, b.Rows)
	st.rows = chunkBuffer(b, st.rows)
	var dist [chunkRows]float32
	for lo := 0; lo < b.Rows; lo += chunkRows {
		n := min(chunkRows, b.Rows-lo)
		lower := st.lower[lo : lo+n]
		kernels.Assign(b.Span(lo, lo+n, st.rows), n, b.Stride, kc, st.label[lo:lo+n], dist[:n], lower, tot, lo)
		for i, sec := range lower {
			lower[i] = kernels.LowerBound(sec, kc)
		}
		kernels.UpperBounds(dist[:n], kc.Dims, st.upper[lo:lo+n])
	}
	clear(st.cm)
	clear(st.cd)
	st.haveUpper = true
	return b.Rows
}

// exactPass runs the bounded kernel, which measures every row and searches
// those it cannot vouch for.
func exactPass(b *partition.Block, kc *kernels.Centroids, flat []float32, st *bounds, tot *kernels.Totals) (searched int) {
	k, dims := kc.K, kc.Dims
	// Fold the running totals into lower, the kernel's form (after a lazy
	// pass; after a fresh or exact one they are zero).
	if slices.ContainsFunc(st.cd, func(d float64) bool { return d != 0 }) {
		for i, c := range st.label {
			if d := st.cd[c]; d != 0 {
				st.lower[i] = kernels.RoundDown32(float64(st.lower[i]) - d)
			}
		}
	}
	clear(st.cm)
	clear(st.cd)
	st.haveUpper = false
	drop := drops(moves(flat, st.cent, k, dims))
	var dist [1]float32
	stride := b.Stride
	st.rows = chunkBuffer(b, st.rows)
	for lo := 0; lo < b.Rows; lo += chunkRows {
		hi := min(lo+chunkRows, b.Rows)
		x := b.Span(lo, hi, st.rows)
		// The bounded kernel runs until a row it cannot vouch for; that
		// row is searched and summed here, and the kernel resumes after
		// it, rows in order.
		for i := lo; i < hi; i++ {
			i += kernels.Bounded(x[(i-lo)*stride:], hi-i, stride, kc, st.label[i:], st.lower[i:], drop, tot, i)
			if i == hi {
				break
			}
			kernels.Assign(x[(i-lo)*stride:], 1, stride, kc, st.label[i:i+1], dist[:], st.lower[i:i+1], tot, i)
			st.lower[i] = kernels.LowerBound(st.lower[i], kc)
			searched++
		}
	}
	return searched
}

// lazyPass keeps the labels of rows whose bounds separate them, measures
// the others and searches those the measurement does not settle, then
// brings the block's sums up to date: see lloydPass.
func lazyPass(b *partition.Block, kc *kernels.Centroids, flat []float32, st *bounds) (searched int) {
	k, dims := kc.K, kc.Dims
	move := moves(flat, st.cent, k, dims)
	drop := drops(move)
	for c := range k {
		// Rounded up: the totals must not fall short of the movement.
		st.cm[c] = (st.cm[c] + move[c]) * (1 + 1e-12)
		st.cd[c] = (st.cd[c] + drop[c]) * (1 + 1e-12)
	}
	if !st.haveUpper {
		st.upper = resize(st.upper, b.Rows)
	}
	changed := false
	sep := kernels.SeparationOf(dims)
	rb := kernels.ReboundOf(kc)
	stride := b.Stride
	labels := st.label
	upper, lower, cm, cd := st.upper[:len(labels)], st.lower[:len(labels)], st.cm[:k], st.cd[:k]
	// Rows the bounds do not settle are searched a chunk at a time,
	// gathered into one buffer, so that the kernel's cost per call is
	// shared; with few centroids a search costs about what measuring the
	// row's own distance first would, so that step is skipped.
	tighten := k > tightenAbove
	// Sums of a quantized block are exact in any order (partition.Quantize):
	// a row that changes cluster is taken from one sum and added to the
	// other, and the sums still have a row-order pass's bits.
	moveRow := b.SumExact && st.haveSums
	st.moved, st.resummed = 0, false
	var idx [chunkRows]int32
	var label [chunkRows]int32
	var dist, second [chunkRows]float32
	st.rows = resize(st.rows, chunkRows*stride)
	for lo := 0; lo < len(labels); lo += chunkRows {
		hi := min(lo+chunkRows, len(labels))
		n := 0
		for i := lo; i < hi; i++ {
			c := labels[i]
			l := float64(lower[i]) - cd[c]
			if st.haveUpper && sep.Holds(float64(upper[i])+cm[c], l) {
				continue
			}
			searched++
			if tighten {
				// A packed block's row is expanded into the slot it is
				// gathered to, should it stay unsettled.
				row := b.Span(i, i+1, st.rows[n*stride:(n+1)*stride])[:dims]
				u := kernels.UpperBound(kernels.Dist(row, flat[int(c)*dims:(int(c)+1)*dims]), dims)
				if sep.Holds(u, l) {
					upper[i] = kernels.RoundUp32(u - cm[c])
					continue
				}
			}
			idx[n] = int32(i)
			n++
		}
		if n == 0 {
			continue
		}
		// A dense block's rows scattered through the chunk cost a trip to
		// memory each when gathered; past a quarter of it, streaming the
		// whole chunk through the kernel costs less, and what it finds for
		// the settled rows is not used. A packed block's chunk is a few
		// kilobytes, and a row costs as much to expand alone as in the
		// whole chunk: only the unsettled rows are expanded and searched.
		rows, first := st.rows, -1
		if 4*n > hi-lo && !b.Packed() {
			rows, first = b.Span(lo, hi, st.rows), lo
			kernels.Nearest(rows, hi-lo, stride, kc, label[:hi-lo], dist[:hi-lo], second[:hi-lo])
		} else {
			if !tighten || !b.Packed() { // else measuring expanded them
				b.Gather(idx[:n], rows)
			}
			kernels.Nearest(rows, n, stride, kc, label[:n], dist[:n], second[:n])
		}
		for j, i := range idx[:n] {
			pos := j
			if first >= 0 {
				pos = int(i) - first
			}
			q := label[pos]
			if c := labels[i]; q != c {
				changed = true
				labels[i] = q
				if moveRow {
					st.move(rows[pos*stride:pos*stride+dims], c, q)
				}
			}
			lower[i] = rb.Lower(second[pos], cd[q])
			upper[i] = rb.Upper(dist[pos], cm[q])
		}
	}
	st.haveUpper = true
	if changed && !moveRow || !st.haveSums {
		st.sums = resize(st.sums, k*dims)
		st.counts = resize(st.counts, k)
		clear(st.sums)
		clear(st.counts)
		for lo := 0; lo < b.Rows; lo += chunkRows {
			hi := min(lo+chunkRows, b.Rows)
			kernels.Accumulate(b.Span(lo, hi, st.rows), hi-lo, stride, dims, st.label[lo:hi], st.sums, st.counts)
		}
		st.haveSums, st.resummed = true, true
	}
	return searched
}

// move takes row from cluster c's sum and count and adds it to q's.
func (st *bounds) move(row []float32, c, q int32) {
	from, to := st.sums[int(c)*st.dims:(int(c)+1)*st.dims], st.sums[int(q)*st.dims:(int(q)+1)*st.dims]
	for j, v := range row {
		from[j] -= float64(v)
		to[j] += float64(v)
	}
	st.counts[c]--
	st.counts[q]++
	st.moved++
}

// chunkBuffer is buf made to hold a chunk of b's rows when b is packed
// (dense blocks are read in place).
func chunkBuffer(b *partition.Block, buf []float32) []float32 {
	if !b.Packed() {
		return buf
	}
	return resize(buf, chunkRows*b.Stride)
}

// resize is s with length n, reusing its memory when it can.
func resize[T any](s []T, n int) []T { return slices.Grow(s[:0], n)[:n] }

// moves returns how far each centroid moved from old to cur, rounded up:
// how much the upper bound of a row of that cluster may grow.
func moves(cur, old []float32, k, dims int) []float64 {
	out := make([]float64, k)
	for c := range k {
		var s float64
		for j := range dims {
			d := float64(cur[c*dims+j]) - float64(old[c*dims+j])
			s += d * d
		}
		out[c] = math.Sqrt(s) * (1 + 1e-9)
	}
	return out
}

// drops returns, per centroid c, how far any centroid other than c moved
// (move is each centroid's movement, from moves): how much the lower bound
// of a row of c may shrink (triangle inequality).
func drops(move []float64) []float64 {
	first, second, arg := 0.0, 0.0, -1
	for c, s := range move {
		if s > first {
			first, second, arg = s, first, c
		} else if s > second {
			second = s
		}
	}
	drop := make([]float64, len(move))
	for c := range drop {
		drop[c] = first
		if c == arg {
			drop[c] = second
		}
	}
	return drop
}
