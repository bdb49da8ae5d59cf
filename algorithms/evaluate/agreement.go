package evaluate

import (
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/wire"
	"github.com/cohort/cohort/partition"
)

// The agreement's steps have their own prefix, so this file registers
// them without a case in the evaluation's Codec.
const (
	agreementPrefix = "agreement"
	kindContingency = agreementPrefix + "/contingency"
)

func init() { algorithms.RegisterSteps(agreementPrefix, agreementCodec{}) }

// maxAgreementSegments bounds either side of a table read from the wire,
// before its counts are allocated.
const maxAgreementSegments = 1 << 16

// Contingency counts the rows of a dataset by the segment each of two
// segmentations, A and B, gives them: KA+1 rows of KB+1 counts, row-major,
// a segment's row or column at its number and noise (segment −1) at the
// last. It is the partial of the contingency step. The agreement measures
// leave noise out, as the evaluation's metrics do: they are over the rows
// both segmentations put in a segment (Rows), and Noise says how many
// rows either called noise.
type Contingency struct {
	KA, KB int
	Counts []int64
}

var _ algorithms.Partial = (*Contingency)(nil)

// NewContingency is an empty table of ka × kb segments.
func NewContingency(ka, kb int) *Contingency {
	return &Contingency{KA: ka, KB: kb, Counts: make([]int64, (ka+1)*(kb+1))}
}

func (t *Contingency) cell(a, b int) int {
	if a < 0 {
		a = t.KA
	}
	if b < 0 {
		b = t.KB
	}
	return a*(t.KB+1) + b
}

// Add counts a row that A puts in segment a and B in b (−1: noise); a
// segment past the table's is a caller's bug, and panics as an index out
// of range does.
func (t *Contingency) Add(a, b int32) {
	if a < -1 || int(a) >= t.KA || b < -1 || int(b) >= t.KB {
		panic(fmt.Sprintf("evaluate: segments %d and %d in a table of %d × %d", a, b, t.KA, t.KB))
	}
	t.Counts[t.cell(int(a), int(b))]++
}

// Count is how many rows A puts in a and B in b (−1: noise).
func (t *Contingency) Count(a, b int) int64 { return t.Counts[t.cell(a, b)] }

// Rows is how many rows both put in a segment.
func (t *Contingency) Rows() int64 {
	var n int64
	for a := range t.KA {
		for b := range t.KB {
			n += t.Count(a, b)
		}
	}
	return n
}

// Noise is how many rows either called noise.
func (t *Contingency) Noise() int64 {
	var n int64
	for _, v := range t.Counts {
		n += v
	}
	return n - t.Rows()
}

// Transpose is the table with A and B swapped.
func (t *Contingency) Transpose() *Contingency {
	u := NewContingency(t.KB, t.KA)
	for a := -1; a < t.KA; a++ {
		for b := -1; b < t.KB; b++ {
			u.Counts[u.cell(b, a)] = t.Count(a, b)
		}
	}
	return u
}

// Merge implements algorithms.Partial.
func (t *Contingency) Merge(next algorithms.Partial) error {
	n, ok := next.(*Contingency)
	if !ok || n.KA != t.KA || n.KB != t.KB || len(n.Counts) != len(t.Counts) {
		return fmt.Errorf("merge %T into a contingency table of %d × %d segments", next, t.KA, t.KB)
	}
	for i, v := range n.Counts {
		t.Counts[i] += v
	}
	return nil
}

// MarshalBinary implements algorithms.Partial.
func (t *Contingency) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	w.I64(int64(t.KA))
	w.I64(int64(t.KB))
	w.I64s(t.Counts)
	return w.B, nil
}

// AsContingency is the merged partial of a contingency step (wrapped in a
// Subset or not).
func AsContingency(p algorithms.Partial) (*Contingency, error) {
	t, ok := p.(*Contingency)
	if !ok {
		return nil, fmt.Errorf("a %T partial, not a contingency table", p)
	}
	return t, nil
}

// Score is a measure that may be undefined for the rows it is over: then
// Value is nil and Absent says why. It is never NaN.
type Score struct {
	Value  *float64 `json:"value,omitempty"`
	Absent string   `json:"absent,omitempty"`
}

func scored(v float64) Score  { return Score{Value: &v} }
func absent(why string) Score { return Score{Absent: why} }

// OK says whether s has a value.
func (s Score) OK() bool { return s.Value != nil }

// AdjustedRand is the adjusted Rand index of the two segmentations over
// the rows both put in a segment, as scikit-learn's adjusted_rand_score
// computes it from pair counts (1 when no pair is split by one and joined
// by the other: identical labelings, one row), in exact integers so that
// large tables lose nothing before the one division. Absent for no rows
// (scikit-learn says 1 there).
func (t *Contingency) AdjustedRand() Score {
	n, sum, rowSq, colSq := new(big.Int), new(big.Int), new(big.Int), new(big.Int)
	var cell, line big.Int
	for a := range t.KA {
		var r int64
		for b := range t.KB {
			v := t.Count(a, b)
			r += v
			cell.SetInt64(v)
			sum.Add(sum, cell.Mul(&cell, &cell))
		}
		n.Add(n, line.SetInt64(r))
		rowSq.Add(rowSq, line.Mul(&line, &line))
	}
	for b := range t.KB {
		var c int64
		for a := range t.KA {
			c += t.Count(a, b)
		}
		line.SetInt64(c)
		colSq.Add(colSq, line.Mul(&line, &line))
	}
	if n.Sign() == 0 {
		return absent("no rows in a segment of both")
	}
	// Ordered pairs: together in both (tp), only in B (fp), only in A (fn), in neither (tn).
	tp := new(big.Int).Sub(sum, n)
	fp := new(big.Int).Sub(colSq, sum)
	fn := new(big.Int).Sub(rowSq, sum)
	tn := new(big.Int).Mul(n, n)
	tn.Sub(tn, fp).Sub(tn, fn).Sub(tn, sum)
	if fp.Sign() == 0 && fn.Sign() == 0 {
		return scored(1)
	}
	num := new(big.Int).Mul(tp, tn)
	num.Sub(num, new(big.Int).Mul(fn, fp)).Lsh(num, 1)
	d1 := new(big.Int).Mul(new(big.Int).Add(tp, fn), new(big.Int).Add(fn, tn))
	d2 := new(big.Int).Mul(new(big.Int).Add(tp, fp), new(big.Int).Add(fp, tn))
	ari, _ := new(big.Rat).SetFrac(num, d1.Add(d1, d2)).Float64()
	return scored(ari)
}

// SegmentMatch is how well one segment of A is recovered in B.
type SegmentMatch struct {
	Segment int   `json:"segment"`
	Rows    int64 `json:"rows"` // A's rows of the segment that B put in a segment
	// Match is B's segment most like it, −1 when Jaccard is absent.
	Match   int   `json:"match"`
	Jaccard Score `json:"jaccard"`
}

// Jaccard is, for each segment of A (the reference fit), its best Jaccard
// similarity |A∩B|/|A∪B| to any segment of B (the resample's fit), over
// the rows both labelled, as R's clusterboot measures a segment's
// recovery: the table is over the resample's rows, labelled by both fits.
// Ties go to B's lowest segment. A segment without rows here is absent
// (clusterboot counts it 0, dissolved).
func (t *Contingency) Jaccard() []SegmentMatch {
	colSum := make([]int64, t.KB)
	for b := range t.KB {
		for a := range t.KA {
			colSum[b] += t.Count(a, b)
		}
	}
	out := make([]SegmentMatch, t.KA)
	for a := range t.KA {
		m := SegmentMatch{Segment: a, Match: -1}
		for b := range t.KB {
			m.Rows += t.Count(a, b)
		}
		if m.Rows == 0 {
			m.Jaccard = absent("no rows of the segment here")
			out[a] = m
			continue
		}
		best := -1.0
		for b := range t.KB {
			both := t.Count(a, b)
			if j := float64(both) / float64(m.Rows+colSum[b]-both); j > best {
				best, m.Match = j, b
			}
		}
		m.Jaccard = scored(best)
		out[a] = m
	}
	return out
}

// Strength is a segmentation's prediction strength.
type Strength struct {
	// Strength is the least of the segments' that are present, Weakest
	// the segment that has it (−1 when absent).
	Strength Score `json:"strength"`
	Weakest  int   `json:"weakest"`
	Segments []SegmentStrength
}

// SegmentStrength is one test segment's share of pairs kept together.
type SegmentStrength struct {
	Segment  int   `json:"segment"`
	Rows     int64 `json:"rows"`
	Pairs    int64 `json:"pairs"`    // Rows(Rows−1)/2
	Together int64 `json:"together"` // of them, pairs the training model puts together
	Strength Score `json:"strength"`
}

// PredictionStrength is Tibshirani and Walther's (2005) prediction
// strength, A being the test fold's own segmentation and B the training
// fold's model's assignment of the same rows: for each test segment, the
// share of its pairs of rows that the training model also puts in one
// segment, and the strength the least of them. A segment of fewer than
// two rows has no pairs, and is absent and left out of the least.
func (t *Contingency) PredictionStrength() Strength {
	s := Strength{Weakest: -1, Segments: make([]SegmentStrength, t.KA)}
	for a := range t.KA {
		g := SegmentStrength{Segment: a}
		for b := range t.KB {
			v := t.Count(a, b)
			g.Rows += v
			g.Together += v * (v - 1) / 2
		}
		g.Pairs = g.Rows * (g.Rows - 1) / 2
		switch g.Rows {
		case 0:
			g.Strength = absent("no rows in the segment")
		case 1:
			g.Strength = absent("one row: no pairs")
		default:
			v := float64(g.Together) / float64(g.Pairs)
			g.Strength = scored(v)
			if !s.Strength.OK() || v < *s.Strength.Value {
				s.Strength, s.Weakest = scored(v), a
			}
		}
		s.Segments[a] = g
	}
	if !s.Strength.OK() {
		s.Strength = absent("no segment of two rows or more")
	}
	return s
}

// NewContingencyStep is the step that labels every row with the models a
// and b (k₁ and k₂ segments over dims) and counts them in a Contingency.
// Wrap it in an algorithms.Subset for the rows of a resample or holdout.
func NewContingencyStep(a, b *algorithms.ModelRef, dims int) (algorithms.Step, error) {
	ka, err := segmentsOf(a, dims)
	if err != nil {
		return nil, err
	}
	kb, err := segmentsOf(b, dims)
	if err != nil {
		return nil, err
	}
	return &contingencyStep{A: a, B: b, KA: ka, KB: kb, Dims: dims}, nil
}

// segmentsOf is how many segments ref's model has, checked against dims.
func segmentsOf(ref *algorithms.ModelRef, dims int) (int, error) {
	m, err := ref.Decoded()
	if err != nil {
		return 0, fmt.Errorf("the %s model: %w", ref.Algorithm, err)
	}
	d := m.Describe()
	if d.Segments < 1 || d.Dims != dims {
		return 0, fmt.Errorf("the %s model has %d segments over %d dims, for data of %d dims", ref.Algorithm, d.Segments, d.Dims, dims)
	}
	return d.Segments, nil
}

type contingencyStep struct {
	A    *algorithms.ModelRef `json:"a"`
	B    *algorithms.ModelRef `json:"b"`
	KA   int                  `json:"ka"`
	KB   int                  `json:"kb"`
	Dims int                  `json:"dims"`
}

func (s *contingencyStep) Kind() string                   { return kindContingency }
func (s *contingencyStep) MarshalBinary() ([]byte, error) { return json.Marshal(s) }

func (s *contingencyStep) Map(b *partition.Block) (algorithms.Partial, error) {
	if b.Dims != s.Dims {
		return nil, fmt.Errorf("partition %d has %d dims, the agreement %d", b.ID, b.Dims, s.Dims)
	}
	first, err := labelsOf(s.A, b, s.KA)
	if err != nil {
		return nil, err
	}
	t := NewContingency(s.KA, s.KB)
	err = labelled(s.B, b, s.KB, func(lo int, _ []float32, label []int32) {
		for i, c := range label {
			t.Add(first[lo+i], c)
		}
	})
	return t, err
}

type agreementCodec struct{}

func (agreementCodec) DecodeStep(kind string, params []byte) (algorithms.Step, error) {
	if kind != kindContingency {
		return nil, fmt.Errorf("unknown agreement step %q", kind)
	}
	s := &contingencyStep{}
	if err := json.Unmarshal(params, s); err != nil {
		return nil, fmt.Errorf("%s step: %w", kind, err)
	}
	if s.A == nil || s.B == nil || s.KA < 1 || s.KB < 1 || s.Dims < 1 {
		return nil, fmt.Errorf("%s step: models or sizes missing", kind)
	}
	return s, nil
}

func (agreementCodec) DecodePartial(kind string, data []byte) (algorithms.Partial, error) {
	if kind != kindContingency {
		return nil, fmt.Errorf("unknown agreement partial %q", kind)
	}
	r := &wire.Reader{B: data}
	ka, kb := r.I64(), r.I64()
	if ka < 0 || kb < 0 || ka > maxAgreementSegments || kb > maxAgreementSegments {
		return nil, fmt.Errorf("%s partial: %d × %d segments", kind, ka, kb)
	}
	t := &Contingency{KA: int(ka), KB: int(kb), Counts: r.I64s()}
	if err := r.Done(kind + " partial"); err != nil {
		return nil, err
	}
	if len(t.Counts) != (t.KA+1)*(t.KB+1) {
		return nil, fmt.Errorf("%s partial: %d counts for %d × %d segments", kind, len(t.Counts), t.KA, t.KB)
	}
	for _, v := range t.Counts {
		if v < 0 {
			return nil, fmt.Errorf("%s partial: a negative count", kind)
		}
	}
	return t, nil
}
