package evaluate

import (
	"fmt"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/kernels"
	"github.com/cohort/cohort/algorithms/wire"
	"github.com/cohort/cohort/partition"
)

// distancesStep sums, for each of a batch of measured rows, its distances
// to the rows of every segment in the partition; with Half, only to the
// rows from the batch on, the rest coming from what the partition kept.
type distancesStep struct {
	Ref      *algorithms.ModelRef `json:"ref"`
	K        int                  `json:"k"`
	Dims     int                  `json:"dims"`
	Rows     []float32            `json:"rows"` // the batch, Dims values each
	Distance string               `json:"distance"`
	Half     *halfPlan            `json:"half,omitempty"`
}

// halfPlan is what a distances step of an exact silhouette (every row
// measured, in partition and row order) needs to take each unordered pair
// of rows once: a pair of a batch row and a later row is measured in the
// batch's step, both its sides at once (kernels.DistanceBlock); the later
// row's side is kept with its partition, by the batch row's segment, until
// the later row's own batch, whose step adds it to that row's sums. Each
// kept sum adds the batches in order and a batch's rows in order, and a
// step's partial adds the tiles and then the kept sums, so the bits follow
// the partitions and the batch size, never the workers or the scheduling.
type halfPlan struct {
	// Token names the evaluation and its attempt: kept sums of any other
	// are not these.
	Token uint64 `json:"token"`
	// Lo is the batch's first row among the measured.
	Lo     int     `json:"lo"`
	Labels []int32 `json:"labels"` // the batch's segments
	// Parts are, per partition, its id, its first row among the measured
	// and how many it has.
	Parts []int64 `json:"parts"`
}

// halfSums is what a partition keeps between the steps of a halved
// evaluation: for each of its measured rows not yet in a batch, the sums
// of its distances to the earlier batches' rows, by their segment.
type halfSums struct {
	token uint64
	next  int // the batch it has every earlier batch of, by its first row
	rows  int // the block's, to tell another block's
	// acc is by the batch rows' segment, then the partition's measured
	// rows in the order bySegment gives them.
	acc []float64
	// The partition's rows by segment (bySegment) and their places among
	// the measured, made by the first batch's step: the model and the
	// rows are the evaluation's throughout, so each later step would make
	// them again, alone on one core while the others waited.
	order []int32
	start []int
	g     []int
}

func (s *distancesStep) Kind() string { return kindDistances }

// MarshalBinary is the step in wire's binary form: a batch is tens of
// thousands of values, and as JSON text their encoding and parsing were a
// tenth of an exact silhouette's CPU, spent while the other cores waited.
func (s *distancesStep) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	if s.Ref == nil {
		return nil, fmt.Errorf("%s step: no model", kindDistances)
	}
	w.Bytes([]byte(s.Ref.Algorithm))
	w.Bytes(s.Ref.Model)
	w.I64(int64(s.K))
	w.I64(int64(s.Dims))
	w.F32s(s.Rows)
	w.Bytes([]byte(s.Distance))
	if s.Half == nil {
		w.U64(0)
		return w.B, nil
	}
	w.U64(1)
	w.U64(s.Half.Token)
	w.I64(int64(s.Half.Lo))
	w.I32s(s.Half.Labels)
	w.I64s(s.Half.Parts)
	return w.B, nil
}

// decodeDistancesStep reads what MarshalBinary wrote.
func decodeDistancesStep(params []byte) (*distancesStep, error) {
	r := &wire.Reader{B: params}
	ref := &algorithms.ModelRef{Algorithm: string(r.Bytes()), Model: r.Bytes()}
	s := &distancesStep{Ref: ref, K: int(r.I64()), Dims: int(r.I64()), Rows: r.F32s(), Distance: string(r.Bytes())}
	if half := r.U64(); half == 1 {
		s.Half = &halfPlan{Token: r.U64(), Lo: int(r.I64()), Labels: r.I32s(), Parts: r.I64s()}
	} else if half != 0 && r.Err == nil {
		r.Err = fmt.Errorf("half flag %d", half)
	}
	if err := r.Done(kindDistances + " step"); err != nil {
		return nil, err
	}
	if s.K < 1 || s.Dims < 1 || len(s.Rows)%s.Dims != 0 {
		return nil, fmt.Errorf("%s step: %d rows' values for %d dims and %d segments", kindDistances, len(s.Rows), s.Dims, s.K)
	}
	return s, nil
}

// tileRows is the most rows of one segment a kernel call takes: 2048 rows
// of 16 float64 dims are 256 KiB, inside a core's L2.
const tileRows = 2048

// tile is a run of the partition's rows of one segment, positions lo to
// hi of bySegment's order; acc: their kept sums take the distances too.
type tile struct {
	c, lo, hi int
	acc       bool
}

func (s *distancesStep) Map(b *partition.Block) (algorithms.Partial, error) {
	if b.Dims != s.Dims {
		return nil, fmt.Errorf("partition %d has %d dims, the evaluation %d", b.ID, b.Dims, s.Dims)
	}
	e := len(s.Rows) / s.Dims
	p := &distancesPartial{K: s.K, Sums: make([]float64, e*s.K)}
	// The partition's rows are taken a segment at a time (in row order
	// within it), in tiles of one segment's rows: the kernel sees one run,
	// and a tile's float64 columns stay in L2 while the batch streams
	// them.
	var order []int32
	var start []int
	var h *halfRun
	var tiles []tile
	if s.Half == nil {
		labels, err := labelsOf(s.Ref, b, s.K)
		if err != nil {
			return nil, err
		}
		order, start = bySegment(labels, s.K)
		for c := range s.K {
			tiles = appendTiles(tiles, c, start[c], start[c+1], false)
		}
	} else {
		if len(s.Half.Labels) != e {
			return nil, fmt.Errorf("distances step: %d labels for a batch of %d rows", len(s.Half.Labels), e)
		}
		for _, c := range s.Half.Labels {
			if c < 0 || int(c) >= s.K {
				return nil, fmt.Errorf("distances step: a batch row of segment %d of %d", c, s.K)
			}
		}
		var err error
		h, err = s.Half.begin(b, s.Ref, s.K)
		if err != nil || h == nil {
			if h == nil && err == nil {
				p.Missing = 1
			}
			return p, err
		}
		if h.rows == 0 {
			return p, nil
		}
		order, start = h.kept.order, h.kept.start
		tiles = h.tiles(start, s.K)
	}
	// The batch's rows go to the kernel taking the segments in turn (each
	// segment's in batch order): rows of one call then add to different
	// kept sums, whose stores and loads would otherwise chain, one call's
	// row waiting for the last (25% slower when the batch came sorted).
	// Each kept sum still adds its segment's rows in batch order, so the
	// bits are the batch order's.
	perm := make([]int, e)
	for i := range perm {
		perm[i] = i
	}
	var batchLabels []int32
	if h != nil {
		perm = takeTurns(s.Half.Labels, s.K)
		batchLabels = make([]int32, e)
		for i, r := range perm {
			batchLabels[i] = s.Half.Labels[r]
		}
	}
	x := make([]float64, len(s.Rows))
	for i, r := range perm {
		for j, v := range s.Rows[r*s.Dims : (r+1)*s.Dims] {
			x[i*s.Dims+j] = float64(v)
		}
	}
	out := s.measure(b, x, batchLabels, order, tiles, h)
	// In tile order, as one core taking the tiles in turn would add them.
	for t, tl := range tiles {
		for i, v := range out[t*e : (t+1)*e] {
			p.Sums[perm[i]*s.K+tl.c] += v
		}
	}
	if h != nil {
		h.end(b, p.Sums, s.K)
	}
	return p, nil
}

// takeTurns orders rows by taking one of each segment in turn, each
// segment's rows in order.
func takeTurns(labels []int32, k int) []int {
	bySeg := make([][]int, k)
	for i, c := range labels {
		bySeg[c] = append(bySeg[c], i)
	}
	out := make([]int, 0, len(labels))
	for at := 0; len(out) < len(labels); at++ {
		for _, rows := range bySeg {
			if at < len(rows) {
				out = append(out, rows[at])
			}
		}
	}
	return out
}

// appendTiles cuts positions lo to hi of segment c into tiles.
func appendTiles(tiles []tile, c, lo, hi int, acc bool) []tile {
	for ; lo < hi; lo += tileRows {
		tiles = append(tiles, tile{c: c, lo: lo, hi: min(lo+tileRows, hi), acc: acc})
	}
	return tiles
}

// measure is each tile's sums for the batch rows x (tile-major), whose
// segments are labels (for the kept sums): the cores
// take whole tiles, so no two touch one sum or one kept sum, and none
// waits for another until the last tile (a small dataset is one
// partition, and this is its only parallelism).
func (s *distancesStep) measure(b *partition.Block, x []float64, labels, order []int32, tiles []tile, h *halfRun) []float64 {
	e := len(x) / s.Dims
	out := make([]float64, len(tiles)*e)
	manhattan := s.Distance == Manhattan
	// Longest first, so that no core is left with a long tile at the
	// end of the step while the other idles; where each tile's sums go
	// does not depend on who takes it.
	sched := make([]int, len(tiles))
	for i := range sched {
		sched[i] = i
	}
	slices.SortStableFunc(sched, func(a, b int) int { return (tiles[b].hi - tiles[b].lo) - (tiles[a].hi - tiles[a].lo) })
	var next atomic.Int64
	work := func() {
		var t transposed
		buf := make([]float32, tileRows*b.Stride)
		zeros := make([]int32, tileRows)
		off := make([]int, kernels.DistBlockRows)
		for {
			at := int(next.Add(1) - 1)
			if at >= len(tiles) {
				return
			}
			ti := sched[at]
			tl := tiles[ti]
			idx := order[tl.lo:tl.hi]
			b.Gather(idx, buf)
			n := t.set(buf, b.Stride, s.Dims, zeros[:len(idx)], 1)
			sums := out[ti*e : (ti+1)*e]
			for i := 0; i < e; i += kernels.DistBlockRows {
				m := min(kernels.DistBlockRows, e-i)
				xi := x[i*s.Dims : (i+m)*s.Dims]
				if !tl.acc {
					kernels.DistanceBlock(xi, s.Dims, t.yt, t.ld, n, manhattan, sums[i:i+m], nil, nil)
					continue
				}
				for q := range m {
					off[q] = int(labels[i+q])*h.rows + tl.lo
				}
				kernels.DistanceBlock(xi, s.Dims, t.yt, t.ld, n, manhattan, sums[i:i+m], h.kept.acc, off)
			}
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(tiles))
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	return out
}

// halfRun is one partition's part of a halved step.
type halfRun struct {
	plan  *halfPlan
	first int // the partition's first row among the measured
	rows  int // its measured rows
	kept  *halfSums
}

// begin finds the partition's rows among the measured and its kept sums:
// nil (and no error) when the kept sums are not of every earlier batch of
// this evaluation (the block was loaded again, or a step ran twice), which
// the program answers by starting the distances again. A partition whose
// rows are all before the batch has nothing to do.
func (hp *halfPlan) begin(b *partition.Block, ref *algorithms.ModelRef, k int) (*halfRun, error) {
	h := &halfRun{plan: hp, first: -1}
	for i := 0; i+2 < len(hp.Parts); i += 3 {
		if hp.Parts[i] == int64(b.ID) {
			h.first, h.rows = int(hp.Parts[i+1]), int(hp.Parts[i+2])
		}
	}
	if h.first < 0 {
		return nil, fmt.Errorf("distances step: partition %d is not among the measured", b.ID)
	}
	held := b.TakeScratch()
	kept, ours := held.(*halfSums)
	if !ours && held != nil {
		// Another algorithm's (k-means bounds): only an accelerator to
		// it, and replaced once this evaluation keeps sums.
		b.PutScratch(held)
	}
	if h.first+h.rows <= hp.Lo {
		h.rows = 0 // every row's batch is done, and the kept sums let go
		return h, nil
	}
	switch {
	case hp.Lo == 0:
		labels, err := labelsOf(ref, b, k)
		if err != nil {
			return nil, err
		}
		order, start := bySegment(labels, k)
		if h.rows != len(order) {
			return nil, fmt.Errorf("distances step: partition %d has %d rows with a segment, the measured %d", b.ID, len(order), h.rows)
		}
		if !ours {
			kept = &halfSums{}
		}
		kept.token, kept.rows = hp.Token, b.Rows
		kept.acc = append(kept.acc[:0], make([]float64, k*h.rows)...)
		kept.order, kept.start, kept.g = order, start, places(labels, order, h.first)
	case !ours || kept.token != hp.Token || kept.next != hp.Lo || kept.rows != b.Rows || len(kept.acc) != k*h.rows:
		return nil, nil
	}
	h.kept = kept
	return h, nil
}

// places is, by position in bySegment's order, each row's place among the
// measured, the partition's first being first.
func places(labels, order []int32, first int) []int {
	rank := make([]int32, len(labels)) // among the partition's rows with a segment
	var n int32
	for r, c := range labels {
		rank[r] = n
		if c >= 0 {
			n++
		}
	}
	g := make([]int, len(order))
	for pos, r := range order {
		g[pos] = first + int(rank[r])
	}
	return g
}

// tiles are the partition's rows from the batch on: those in the batch
// measured only from the batch's side (their pairs with it are in this
// step both ways), the later ones with their kept sums.
func (h *halfRun) tiles(start []int, k int) []tile {
	var tiles []tile
	lo, hi := h.plan.Lo, h.plan.Lo+len(h.plan.Labels)
	for c := range k {
		// A segment's rows are in row order, so in measured order.
		seg := h.kept.g[start[c]:start[c+1]]
		a := start[c] + sort.SearchInts(seg, lo)
		m := start[c] + sort.SearchInts(seg, hi)
		tiles = appendTiles(tiles, c, a, m, false)
		tiles = appendTiles(tiles, c, m, start[c+1], true)
	}
	return tiles
}

// end adds the kept sums of the partition's rows in the batch to theirs,
// after the tiles' (sums is batch row × segment), and keeps the rest for
// the next batch; the last batch of the partition's rows lets them go.
func (h *halfRun) end(b *partition.Block, sums []float64, k int) {
	if h.rows == 0 {
		return
	}
	lo, hi := h.plan.Lo, h.plan.Lo+len(h.plan.Labels)
	for pos, g := range h.kept.g {
		if g < lo || g >= hi {
			continue
		}
		row := sums[(g-lo)*k : (g-lo+1)*k]
		for c := range row {
			row[c] += h.kept.acc[c*h.rows+pos]
		}
	}
	if h.first+h.rows > hi {
		h.kept.next = hi
		b.PutScratch(h.kept)
	}
}

// bySegment is the positions of the rows with a segment, by segment and
// then position (a counting sort), and where each segment's begin.
func bySegment(labels []int32, k int) ([]int32, []int) {
	start := make([]int, k+1)
	for _, c := range labels {
		if c >= 0 {
			start[c+1]++
		}
	}
	for c := range k {
		start[c+1] += start[c]
	}
	order := make([]int32, start[k])
	next := slices.Clone(start[:k])
	for r, c := range labels {
		if c >= 0 {
			order[next[c]] = int32(r)
			next[c]++
		}
	}
	return order, start
}

type distancesPartial struct {
	K    int
	Sums []float64 // measured row × segment
	// Missing counts the partitions whose kept sums were not there (a
	// halved step): the sums are not whole, and the distances start again.
	Missing int
}

func (p *distancesPartial) Merge(next algorithms.Partial) error {
	n, ok := next.(*distancesPartial)
	if !ok || n.K != p.K || len(n.Sums) != len(p.Sums) {
		return fmt.Errorf("merge %T into a distances partial of %d sums", next, len(p.Sums))
	}
	for i, v := range n.Sums {
		p.Sums[i] += v
	}
	p.Missing += n.Missing
	return nil
}

func (p *distancesPartial) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	w.I64(int64(p.K))
	w.F64s(p.Sums)
	w.I64(int64(p.Missing))
	return w.B, nil
}
