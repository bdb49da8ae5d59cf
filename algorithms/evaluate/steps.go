package evaluate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/cohort/cohort/algorithms"
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
	p.Parts = []int64{int64(b.ID), int64(len(p.Labels))}
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
	// Parts are, per partition in order, its id and how many of Rows
	// are its: where each partition's rows sit among the measured, which
	// the exact silhouette's halved distances step needs.
	Parts []int64
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
	p.Parts = append(p.Parts, n.Parts...)
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
	w.I64s(p.Parts)
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
		return decodeDistancesStep(params)
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
		sp.Rows, sp.Labels, sp.Parts = r.F32s(), r.I32s(), r.I64s()
		p = sp
	case kindDistances:
		p = &distancesPartial{K: int(r.I64()), Sums: r.F64s(), Missing: int(r.I64())}
	default:
		return nil, fmt.Errorf("unknown evaluation partial %q", kind)
	}
	if err := r.Done(kind + " partial"); err != nil {
		return nil, err
	}
	return p, nil
}
