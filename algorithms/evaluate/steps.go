package evaluate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/kernels"
	"github.com/cohort/cohort/algorithms/wire"
	"github.com/cohort/cohort/partition"
)

// Step kinds on the wire.
const (
	kindSegments  = "evaluate/segments"
	kindSpread    = "evaluate/spread"
	kindDistances = "evaluate/distances"
)

func init() { algorithms.RegisterSteps("evaluate", Codec{}) }

// chunkRows is how many rows are labelled and measured at a time.
const chunkRows = 512

// labelled runs fn over b's rows a chunk at a time with their segments,
// checked to be −1 (none) or below k.
func labelled(ref *algorithms.ModelRef, b *partition.Block, k int, fn func(lo int, x []float32, label []int32)) error {
	m, err := ref.Decoded()
	if err != nil {
		return fmt.Errorf("partition %d: the %s model: %w", b.ID, ref.Algorithm, err)
	}
	var given []int32
	if g, ok := m.(*Given); ok {
		if given, err = g.labelRows(b); err != nil {
			return err
		}
	}
	out := algorithms.NewAssigned(m.Output(), chunkRows)
	var buf []float32
	if b.Packed() {
		buf = make([]float32, chunkRows*b.Stride)
	}
	for lo := 0; lo < b.Rows; lo += chunkRows {
		n := min(chunkRows, b.Rows-lo)
		x := b.Span(lo, lo+n, buf)
		a := out.Slice(0, n)
		if given != nil {
			a.Segment = given[lo : lo+n]
		} else if err := m.Assign(x, n, b.Stride, a); err != nil {
			return fmt.Errorf("partition %d: assign: %w", b.ID, err)
		}
		for _, c := range a.Segment {
			if c < -1 || int(c) >= k {
				return fmt.Errorf("partition %d: the model gave segment %d of %d", b.ID, c, k)
			}
		}
		fn(lo, x, a.Segment)
	}
	return nil
}

// labelsOf is every row of b's segment, as labelled gives them.
func labelsOf(ref *algorithms.ModelRef, b *partition.Block, k int) ([]int32, error) {
	labels := make([]int32, b.Rows)
	err := labelled(ref, b, k, func(lo int, _ []float32, label []int32) { copy(labels[lo:], label) })
	return labels, err
}

// segmentsStep counts each segment's rows and sums them.
type segmentsStep struct {
	Ref  *algorithms.ModelRef `json:"ref"`
	K    int                  `json:"k"`
	Dims int                  `json:"dims"`
}

func (s *segmentsStep) Kind() string                   { return kindSegments }
func (s *segmentsStep) MarshalBinary() ([]byte, error) { return json.Marshal(s) }

func (s *segmentsStep) Map(b *partition.Block) (algorithms.Partial, error) {
	if b.Dims != s.Dims {
		return nil, fmt.Errorf("partition %d has %d dims, the evaluation %d", b.ID, b.Dims, s.Dims)
	}
	p := &segmentsPartial{Counts: make([]int64, s.K), Sums: make([]float64, s.K*s.Dims)}
	err := labelled(s.Ref, b, s.K, func(_ int, x []float32, label []int32) {
		for i, c := range label {
			if c < 0 {
				p.Noise++
				continue
			}
			p.Counts[c]++
			sum := p.Sums[int(c)*s.Dims : int(c+1)*s.Dims]
			for j, v := range x[i*b.Stride : i*b.Stride+s.Dims] {
				sum[j] += float64(v)
			}
		}
	})
	return p, err
}

type segmentsPartial struct {
	Counts []int64
	Noise  int64
	Sums   []float64
}

func (p *segmentsPartial) Merge(next algorithms.Partial) error {
	n, ok := next.(*segmentsPartial)
	if !ok || len(n.Counts) != len(p.Counts) || len(n.Sums) != len(p.Sums) {
		return fmt.Errorf("merge %T into a segments partial of %d segments", next, len(p.Counts))
	}
	for c, v := range n.Counts {
		p.Counts[c] += v
	}
	for i, v := range n.Sums {
		p.Sums[i] += v
	}
	p.Noise += n.Noise
	return nil
}

func (p *segmentsPartial) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	w.I64s(p.Counts)
	w.I64(p.Noise)
	w.F64s(p.Sums)
	return w.B, nil
}

// spreadStep measures each row against the segments' means, and picks
// the rows whose silhouette is measured: a row of segment c is picked
// when the hash of its position falls below Frac[c].
type spreadStep struct {
	Ref      *algorithms.ModelRef `json:"ref"`
	Dims     int                  `json:"dims"`
	Means    [][]float64          `json:"means"` // nil for an empty segment
	Frac     []float64            `json:"frac"`
	Seed     uint64               `json:"seed"`
	Distance string               `json:"distance"`
}

func (s *spreadStep) Kind() string                   { return kindSpread }
func (s *spreadStep) MarshalBinary() ([]byte, error) { return json.Marshal(s) }

func (s *spreadStep) Map(b *partition.Block) (algorithms.Partial, error) {
	if b.Dims != s.Dims {
		return nil, fmt.Errorf("partition %d has %d dims, the evaluation %d", b.ID, b.Dims, s.Dims)
	}
	k := len(s.Means)
	if len(s.Frac) != k {
		return nil, fmt.Errorf("spread step: %d sampling shares for %d segments", len(s.Frac), k)
	}
	for c, m := range s.Means {
		if m != nil && len(m) != s.Dims {
			return nil, fmt.Errorf("spread step: segment %d's mean has %d values, want %d", c, len(m), s.Dims)
		}
	}
	p := &spreadPartial{Dims: s.Dims, Sq: make([]float64, k), Dist: make([]float64, k)}
	var bad error
	dist := distanceFunc(s.Distance)
	row := make([]float64, s.Dims)
	base := partition.Mix64(s.Seed ^ 0x5851f42d4c957f2d ^ uint64(b.ID)<<32)
	err := labelled(s.Ref, b, k, func(lo int, x []float32, label []int32) {
		for i, c := range label {
			if c < 0 || bad != nil {
				continue
			}
			if s.Means[c] == nil {
				bad = fmt.Errorf("partition %d: segment %d has rows but no mean", b.ID, c)
				continue
			}
			for j, v := range x[i*b.Stride : i*b.Stride+s.Dims] {
				row[j] = float64(v)
			}
			own := s.Means[c]
			sq := sqEuclidean(row, own)
			p.Sq[c] += sq
			p.Dist[c] += math.Sqrt(sq)
			if simp, ok := simplified(row, s.Means, c, dist); ok {
				p.Simplified += simp
				p.SimplifiedRows++
			}
			if f := s.Frac[c]; f >= 1 || partition.RowDraw(base, lo+i) < f {
				p.Rows = append(p.Rows, x[i*b.Stride:i*b.Stride+s.Dims]...)
				p.Labels = append(p.Labels, c)
			}
		}
	})
	return p, errors.Join(err, bad)
}

// simplified is a row's silhouette against the segments' means instead
// of their rows; false when it has no other segment.
func simplified(x []float64, means [][]float64, own int32, dist func(a, b []float64) float64) (float64, bool) {
	a, b := dist(x, means[own]), math.Inf(1)
	for c, m := range means {
		if int32(c) != own && m != nil {
			b = min(b, dist(x, m))
		}
	}
	if math.IsInf(b, 1) {
		return 0, false
	}
	return silhouetteOf(a, b), true
}

// silhouetteOf is (b − a)/max(a, b), 0 when both are 0.
func silhouetteOf(a, b float64) float64 {
	if m := max(a, b); m > 0 {
		return (b - a) / m
	}
	return 0
}

type spreadPartial struct {
	Dims           int
	Sq, Dist       []float64 // per segment: Σ‖x − μ‖², Σ‖x − μ‖
	Simplified     float64
	SimplifiedRows int64
	Rows           []float32 // the picked rows, Dims values each, in partition and row order
	Labels         []int32
}

func (p *spreadPartial) Merge(next algorithms.Partial) error {
	n, ok := next.(*spreadPartial)
	if !ok || len(n.Sq) != len(p.Sq) || n.Dims != p.Dims {
		return fmt.Errorf("merge %T into a spread partial of %d segments", next, len(p.Sq))
	}
	for c := range p.Sq {
		p.Sq[c] += n.Sq[c]
		p.Dist[c] += n.Dist[c]
	}
	p.Simplified += n.Simplified
	p.SimplifiedRows += n.SimplifiedRows
	p.Rows = append(p.Rows, n.Rows...)
	p.Labels = append(p.Labels, n.Labels...)
	return nil
}

func (p *spreadPartial) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	w.I64(int64(p.Dims))
	w.F64s(p.Sq)
	w.F64s(p.Dist)
	w.F64(p.Simplified)
	w.I64(p.SimplifiedRows)
	w.F32s(p.Rows)
	w.I32s(p.Labels)
	return w.B, nil
}

// distancesStep sums, for each of a batch of measured rows, its distances
// to the rows of every segment in the partition.
type distancesStep struct {
	Ref      *algorithms.ModelRef `json:"ref"`
	K        int                  `json:"k"`
	Dims     int                  `json:"dims"`
	Rows     []float32            `json:"rows"` // the batch, Dims values each
	Distance string               `json:"distance"`
}

func (s *distancesStep) Kind() string                   { return kindDistances }
func (s *distancesStep) MarshalBinary() ([]byte, error) { return json.Marshal(s) }

func (s *distancesStep) Map(b *partition.Block) (algorithms.Partial, error) {
	if b.Dims != s.Dims {
		return nil, fmt.Errorf("partition %d has %d dims, the evaluation %d", b.ID, b.Dims, s.Dims)
	}
	e := len(s.Rows) / s.Dims
	x := make([]float64, len(s.Rows))
	for i, v := range s.Rows {
		x[i] = float64(v)
	}
	p := &distancesPartial{K: s.K, Sums: make([]float64, e*s.K)}
	labels, err := labelsOf(s.Ref, b, s.K)
	if err != nil {
		return nil, err
	}
	// The partition's rows are taken a segment at a time (in row order
	// within it), in tiles of one segment's rows: the kernel sees one long
	// run, which it takes in unmasked blocks, and a tile's float64
	// columns stay in L2 while every measured row streams them.
	order, start := bySegment(labels, s.K)
	var t transposed
	manhattan := s.Distance == Manhattan
	tile := make([]float32, tileRows*b.Stride)
	zeros := make([]int32, tileRows)
	for c := range s.K {
		for lo := start[c]; lo < start[c+1]; lo += tileRows {
			idx := order[lo:min(lo+tileRows, start[c+1])]
			b.Gather(idx, tile)
			n := t.set(tile, b.Stride, s.Dims, zeros[:len(idx)], 1)
			// The measured rows' sums are apart, so they are shared out
			// among the cores with the same bits as one would give: a
			// small dataset is one partition, and this is its only
			// parallelism.
			parallelRows(e, func(i0, i1 int) {
				for i := i0; i < i1; i++ {
					kernels.DistanceSums(x[i*s.Dims:(i+1)*s.Dims], t.yt, t.ld, n, t.ends, manhattan, p.Sums[i*s.K+c:i*s.K+c+1])
				}
			})
		}
	}
	return p, nil
}

// tileRows is how many rows the distances step lays out at once: 2048
// rows of 16 float64 dims are 256 KiB, inside a core's L2.
const tileRows = 2048

// parallelRows runs fn over [0, n) cut into one range a core, and waits.
func parallelRows(n int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n/64)
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += per {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, min(lo+per, n))
	}
	wg.Wait()
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
}

func (p *distancesPartial) Merge(next algorithms.Partial) error {
	n, ok := next.(*distancesPartial)
	if !ok || n.K != p.K || len(n.Sums) != len(p.Sums) {
		return fmt.Errorf("merge %T into a distances partial of %d sums", next, len(p.Sums))
	}
	for i, v := range n.Sums {
		p.Sums[i] += v
	}
	return nil
}

func (p *distancesPartial) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	w.I64(int64(p.K))
	w.F64s(p.Sums)
	return w.B, nil
}

// Codec decodes the evaluation's steps and partials.
type Codec struct{}

// DecodeStep implements algorithms.Codec.
func (Codec) DecodeStep(kind string, params []byte) (algorithms.Step, error) {
	var s algorithms.Step
	switch kind {
	case kindSegments:
		s = &segmentsStep{}
	case kindSpread:
		s = &spreadStep{}
	case kindDistances:
		s = &distancesStep{}
	default:
		return nil, fmt.Errorf("unknown evaluation step %q", kind)
	}
	if err := json.Unmarshal(params, s); err != nil {
		return nil, fmt.Errorf("%s step: %w", kind, err)
	}
	return s, nil
}

// DecodePartial implements algorithms.Codec.
func (Codec) DecodePartial(kind string, data []byte) (algorithms.Partial, error) {
	r := &wire.Reader{B: data}
	var p algorithms.Partial
	switch kind {
	case kindSegments:
		p = &segmentsPartial{Counts: r.I64s(), Noise: r.I64(), Sums: r.F64s()}
	case kindSpread:
		sp := &spreadPartial{Dims: int(r.I64()), Sq: r.F64s(), Dist: r.F64s(), Simplified: r.F64(), SimplifiedRows: r.I64()}
		sp.Rows, sp.Labels = r.F32s(), r.I32s()
		p = sp
	case kindDistances:
		p = &distancesPartial{K: int(r.I64()), Sums: r.F64s()}
	default:
		return nil, fmt.Errorf("unknown evaluation partial %q", kind)
	}
	if err := r.Done(kind + " partial"); err != nil {
		return nil, err
	}
	return p, nil
}
