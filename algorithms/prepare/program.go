package prepare

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

// Pipeline is a fitted preparation, kept with the model: rows of a table in,
// scaled features out, the same for training data and new customers.
type Pipeline struct {
	Encoder *Encoder    `json:"encoder"`
	Scaling *Scaling    `json:"scaling"`
	PCA     *Projection `json:"pca,omitempty"`
	// Counts are what encoding did to the training rows.
	Counts Counts `json:"counts"`
	// Rejected rows of the training data could not be read at all; Rejects
	// are the first of them.
	Rejected int64 `json:"rejected"`
	// Duplicates are rows folded into another of the same customer id, or
	// dropped with it, by DuplicateRule.
	Duplicates    int64              `json:"duplicates,omitempty"`
	DuplicateRule string             `json:"duplicate_rule,omitempty"`
	Rejects       []partition.Reject `json:"rejects,omitempty"`
}

// Features encodes, scales and (with PCA) projects the rows of t,
// appending Width values per kept row to out and the indices of kept rows
// to kept.
func (p *Pipeline) Features(t *partition.Table, out []float64, kept []int) ([]float64, []int, Counts, error) {
	b, err := p.Encoder.Bind(t)
	if err != nil {
		return out, kept, Counts{}, err
	}
	out, kept, cnt := p.features(b, 0, t.Rows, out, kept)
	return out, kept, cnt, nil
}

// features is Features of rows [lo, hi) of a bound table.
func (p *Pipeline) features(b *Bound, lo, hi int, out []float64, kept []int) ([]float64, []int, Counts) {
	base := len(out)
	out, kept, cnt := b.Rows(lo, hi, out, kept)
	w := len(p.Encoder.Names)
	for lo := base; lo < len(out); lo += w {
		p.Scaling.Apply(out[lo : lo+w])
	}
	if p.PCA == nil {
		return out, kept, cnt
	}
	// Projected in place: a row's m components overwrite the start of its
	// own w features, never a later row's (m ≤ w).
	m := len(p.PCA.Components)
	proj := make([]float64, m)
	rows := (len(out) - base) / w
	for r := range rows {
		p.PCA.Apply(out[base+r*w:base+(r+1)*w], proj)
		copy(out[base+r*m:], proj)
	}
	return out[:base+rows*m], kept, cnt
}

// Names are the features a row becomes: the encoded columns, or pc1, pc2,
// ... with PCA.
func (p *Pipeline) Names() []string {
	if p.PCA == nil {
		return p.Encoder.Names
	}
	out := make([]string, len(p.PCA.Components))
	for i := range out {
		out[i] = fmt.Sprintf("pc%d", i+1)
	}
	return out
}

// The steps of fitting a preparation. Their names are part of the wire.
const (
	kindStats    = "prepare/stats"
	kindFeatures = "prepare/features"
)

// statsStep computes the statistics of the named columns (every one when
// none are named) of a partition's table. The table may hold others, such
// as the id, kept for the assignments.
type statsStep struct {
	Columns []string `json:"columns,omitempty"`
}

func (statsStep) Kind() string                     { return kindStats }
func (s statsStep) MarshalBinary() ([]byte, error) { return json.Marshal(s) }

func (s statsStep) Map(b *partition.Block) (algorithms.Partial, error) {
	if b.Table == nil {
		return nil, fmt.Errorf("partition %d has no table to prepare", b.ID)
	}
	t := b.Table
	if len(s.Columns) > 0 {
		var err error
		if t, err = t.Project(s.Columns); err != nil {
			return nil, fmt.Errorf("partition %d: %w", b.ID, err)
		}
	}
	sp := &statsPartial{Cols: Stats(t), Tally: partition.TallyOf(b)}
	return sp, nil
}

type statsPartial struct {
	Cols []ColumnStats
	partition.Tally
}

func (p *statsPartial) Merge(next algorithms.Partial) error {
	n, ok := next.(*statsPartial)
	if !ok || len(n.Cols) != len(p.Cols) {
		return errors.New("merge mismatched column statistics")
	}
	for i := range p.Cols {
		p.Cols[i].Merge(&n.Cols[i])
	}
	p.Tally.Merge(&n.Tally)
	return nil
}

func (p *statsPartial) MarshalBinary() ([]byte, error) {
	cols, err := MarshalStats(p.Cols)
	if err != nil {
		return nil, err
	}
	return json.Marshal(statsPartialWire{Cols: cols, Tally: p.Tally})
}

type statsPartialWire struct {
	Cols []byte `json:"cols"` // MarshalStats's bytes
	partition.Tally
}

// featuresStep encodes a partition's table and computes the statistics of
// the encoded features, which scaling is fitted to.
type featuresStep struct {
	Encoder   *Encoder `json:"encoder"`
	Quantiles bool     `json:"quantiles,omitempty"` // robust scaling needs the features' quantiles
}

func (s *featuresStep) Kind() string                   { return kindFeatures }
func (s *featuresStep) MarshalBinary() ([]byte, error) { return json.Marshal(s) }

func (s *featuresStep) Map(b *partition.Block) (algorithms.Partial, error) {
	if b.Table == nil {
		return nil, fmt.Errorf("partition %d has no table to prepare", b.ID)
	}
	bound, err := s.Encoder.Bind(b.Table)
	if err != nil {
		return nil, fmt.Errorf("partition %d: %w", b.ID, err)
	}
	w := len(s.Encoder.Names)
	// Moments alone: a one-hot feature's follow from how many rows it is
	// hot in, so only the number inputs are encoded and the text inputs'
	// features counted (hot). Quantiles need every feature's values.
	in := s.Encoder.Inputs
	var hot [][]int64
	width := w
	if !s.Quantiles {
		hot, width = make([][]int64, len(in)), s.Encoder.numbers()
		for i := range in {
			if in[i].Type == partition.Text {
				hot[i] = make([]int64, in[i].Features())
			}
		}
	}
	encoded := newFeatureStats(width)
	var kept []int // reused, as the features' buffer is
	cnt := eachChunk(b.Table.Rows, func(lo, hi int, buf []float64) ([]float64, Counts) {
		var rows []float64
		var cnt Counts
		rows, kept, cnt = bound.rows(lo, hi, buf, kept[:0], hot)
		return rows, cnt
	}, func(rows []float64) { addFeatureStats(encoded, rows, width, s.Quantiles) })
	if hot == nil {
		return &featuresPartial{Stats: encoded, Counts: cnt}, nil
	}
	stats := make([]ColumnStats, 0, w)
	for i := range in {
		if hot[i] == nil {
			stats, encoded = append(stats, encoded[0]), encoded[1:]
			continue
		}
		for _, n1 := range hot[i] {
			stats = append(stats, oneHotStats(cnt.Rows-cnt.Dropped, n1))
		}
	}
	return &featuresPartial{Stats: stats, Counts: cnt}, nil
}

// oneHotStats are the statistics of a 0/1 feature over n rows, n1 of them 1.
func oneHotStats(n, n1 int64) ColumnStats {
	s := ColumnStats{Min: math.Inf(1), Max: math.Inf(-1)}
	if n == 0 {
		return s
	}
	mean := float64(n1) / float64(n)
	s.Count, s.Mean = n, mean
	s.M2 = float64(n1)*(1-mean)*(1-mean) + float64(n-n1)*mean*mean
	s.Min, s.Max = 0, 1
	if n1 == n {
		s.Min = 1
	}
	if n1 == 0 {
		s.Max = 0
	}
	return s
}

type featuresPartial struct {
	Stats  []ColumnStats
	Counts Counts
}

func (p *featuresPartial) Merge(next algorithms.Partial) error {
	n, ok := next.(*featuresPartial)
	if !ok || len(n.Stats) != len(p.Stats) {
		return errors.New("merge mismatched feature statistics")
	}
	for i := range p.Stats {
		p.Stats[i].Merge(&n.Stats[i])
	}
	p.Counts.Merge(n.Counts)
	return nil
}

func (p *featuresPartial) MarshalBinary() ([]byte, error) {
	stats, err := MarshalStats(p.Stats)
	if err != nil {
		return nil, err
	}
	return json.Marshal(featuresWire{Stats: stats, Counts: p.Counts})
}

type featuresWire struct {
	Stats  []byte `json:"stats"` // MarshalStats's bytes
	Counts Counts `json:"counts"`
}

// Codec decodes the preparation's steps and partials.
type Codec struct{}

// DecodeStep implements algorithms.Codec.
func (Codec) DecodeStep(kind string, params []byte) (algorithms.Step, error) {
	switch kind {
	case kindStats:
		var s statsStep
		if len(params) > 0 {
			if err := json.Unmarshal(params, &s); err != nil {
				return nil, fmt.Errorf("decode %s: %w", kind, err)
			}
		}
		return s, nil
	case kindFeatures:
		s := &featuresStep{}
		if err := json.Unmarshal(params, s); err != nil || s.Encoder == nil {
			return nil, fmt.Errorf("decode %s: %v", kind, err)
		}
		return s, nil
	case kindCovariance:
		s := &covStep{}
		if err := json.Unmarshal(params, s); err != nil || s.Encoder == nil || s.Scaling == nil {
			return nil, fmt.Errorf("decode %s: %v", kind, err)
		}
		return s, nil
	case KindDedup:
		s := &DedupStep{}
		if err := json.Unmarshal(params, s); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kind, err)
		}
		if s.ID == "" || s.N < 1 {
			return nil, fmt.Errorf("decode %s: id %q, %d buckets", kind, s.ID, s.N)
		}
		return s, nil
	}
	return nil, fmt.Errorf("unknown preparation step %q", kind)
}

// DecodePartial implements algorithms.Codec.
func (Codec) DecodePartial(kind string, data []byte) (algorithms.Partial, error) {
	switch kind {
	case kindStats:
		var w statsPartialWire
		if err := json.Unmarshal(data, &w); err != nil {
			return nil, fmt.Errorf("decode %s partial: %w", kind, err)
		}
		cols, err := UnmarshalStats(w.Cols)
		if err != nil {
			return nil, fmt.Errorf("decode %s partial: %w", kind, err)
		}
		return &statsPartial{Cols: cols, Tally: w.Tally}, nil
	case kindFeatures:
		var w featuresWire
		if err := json.Unmarshal(data, &w); err != nil {
			return nil, fmt.Errorf("decode %s partial: %w", kind, err)
		}
		stats, err := UnmarshalStats(w.Stats)
		if err != nil {
			return nil, fmt.Errorf("decode %s partial: %w", kind, err)
		}
		return &featuresPartial{Stats: stats, Counts: w.Counts}, nil
	case KindDedup:
		p := &TallyPartial{}
		if err := json.Unmarshal(data, &p.Tally); err != nil {
			return nil, fmt.Errorf("decode %s partial: %w", kind, err)
		}
		return p, nil
	case kindCovariance:
		p := &covPartial{}
		if err := json.Unmarshal(data, p); err != nil {
			return nil, fmt.Errorf("decode %s partial: %w", kind, err)
		}
		if len(p.Prod) != len(p.Sum)*len(p.Sum) || p.N < 0 {
			return nil, fmt.Errorf("decode %s partial: %d sums and %d products", kind, len(p.Sum), len(p.Prod))
		}
		return p, nil
	}
	return nil, fmt.Errorf("unknown preparation partial %q", kind)
}

// Program fits a preparation over a dataset's partitions in two passes:
// the statistics of the raw columns, from which the Encoder is fitted, then
// those of the encoded features, from which the Scaling is.
type Program struct{ s programState }

type programState struct {
	Config   Config            `json:"config"`
	Exclude  []string          `json:"exclude,omitempty"`
	Scale    string            `json:"scale"`
	Fields   []partition.Field `json:"fields"`
	Phase    string            `json:"phase"` // stats, features, done
	Pipeline Pipeline          `json:"pipeline"`
	// Offsets are, by partition id, the lines of its file before a CSV
	// partition: what turns its rejects' line numbers into the file's.
	Offsets map[int]int64 `json:"offsets,omitempty"`
}

var _ algorithms.Program = (*Program)(nil)

// NewProgram fits cfg and a scaling method to data with the given columns.
func NewProgram(cfg Config, scale string, fields []partition.Field) *Program {
	return &Program{s: programState{Config: cfg, Exclude: cfg.Exclude, Scale: scale, Fields: fields, Phase: "stats"}}
}

// Next implements algorithms.Program.
func (p *Program) Next() (algorithms.Step, bool, error) {
	switch p.s.Phase {
	case "stats":
		return statsStep{Columns: partition.FieldNames(p.s.Fields)}, false, nil
	case "features":
		return &featuresStep{Encoder: p.s.Pipeline.Encoder, Quantiles: p.s.Scale == ScaleRobust}, false, nil
	case "covariance":
		return &covStep{Encoder: p.s.Pipeline.Encoder, Scaling: p.s.Pipeline.Scaling}, false, nil
	}
	return nil, true, nil
}

// Update implements algorithms.Program.
func (p *Program) Update(merged algorithms.Partial) error {
	switch p.s.Phase {
	case "stats":
		m, ok := merged.(*statsPartial)
		if !ok || len(m.Cols) != len(p.s.Fields) {
			return fmt.Errorf("preparation: got %T for %d columns", merged, len(p.s.Fields))
		}
		if err := m.Tally.Check(p.s.Config.RejectsAllowed()); err != nil {
			return err
		}
		enc, err := FitEncoder(p.s.Fields, m.Cols, p.s.Config)
		if err != nil {
			return err
		}
		p.s.Pipeline.Encoder, p.s.Phase = enc, "features"
		p.s.Pipeline.Rejected, p.s.Pipeline.Rejects, p.s.Pipeline.Duplicates = m.Rejected, m.Rejects, m.Duplicates
		p.s.Offsets = m.Tally.LineOffsets()
	case "features":
		m, ok := merged.(*featuresPartial)
		if !ok || len(m.Stats) != len(p.s.Pipeline.Encoder.Names) {
			return fmt.Errorf("preparation: got %T for %d features", merged, len(p.s.Pipeline.Encoder.Names))
		}
		if m.Counts.Rows == m.Counts.Dropped {
			return fmt.Errorf("preparation: every one of the %d rows was dropped for a missing value (%s)", m.Counts.Rows, dropSummary(p.s.Pipeline.Encoder, m.Counts))
		}
		sc, err := FitScaling(p.s.Scale, m.Stats)
		if err != nil {
			return err
		}
		balanceOneHot(sc, p.s.Pipeline.Encoder)
		p.s.Pipeline.Scaling, p.s.Pipeline.Counts, p.s.Phase = sc, m.Counts, "done"
		if p.s.Config.PCA != nil {
			if err := p.s.Config.PCA.check(); err != nil {
				return err
			}
			p.s.Phase = "covariance"
		}
	case "covariance":
		m, ok := merged.(*covPartial)
		if !ok || len(m.Sum) != len(p.s.Pipeline.Encoder.Names) {
			return fmt.Errorf("preparation: got %T for %d features", merged, len(p.s.Pipeline.Encoder.Names))
		}
		proj, err := fitPCA(m, *p.s.Config.PCA)
		if err != nil {
			return err
		}
		p.s.Pipeline.PCA, p.s.Phase = proj, "done"
	default:
		return errors.New("preparation: update after it finished")
	}
	return nil
}

// LineOffsets are the lines before each CSV partition in its file, known
// once the statistics pass has run.
func (p *Program) LineOffsets() map[int]int64 { return p.s.Offsets }

func dropSummary(enc *Encoder, c Counts) string {
	s := ""
	for i, n := range c.DropBy {
		if n > 0 {
			if s != "" {
				s += ", "
			}
			s += fmt.Sprintf("%d for %s", n, enc.Inputs[i].Column)
		}
	}
	return s
}

// Checkpoint implements algorithms.Program.
func (p *Program) Checkpoint() ([]byte, error) { return json.Marshal(p.s) }

// Progress implements algorithms.Program.
func (p *Program) Progress() algorithms.Progress {
	return algorithms.Progress{Phase: "prepare " + p.s.Phase}
}

// Result is the fitted pipeline, once the program is done.
func (p *Program) Result() (*Pipeline, error) {
	if p.s.Phase != "done" {
		return nil, fmt.Errorf("preparation not finished (phase %s)", p.s.Phase)
	}
	pl := p.s.Pipeline
	return &pl, nil
}

// Open decodes a fitted Pipeline from a dataset spec, for partition.Open:
// how a worker prepares the file partitions it loads.
func Open(data json.RawMessage) (partition.Preparer, error) {
	var p Pipeline
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, err
	}
	if p.Encoder == nil || p.Scaling == nil || len(p.Scaling.Center) != len(p.Encoder.Names) || len(p.Scaling.Scale) != len(p.Encoder.Names) {
		return nil, errors.New("the preparation is incomplete")
	}
	if p.PCA != nil {
		for _, c := range p.PCA.Components {
			if len(c) != len(p.Encoder.Names) || len(p.PCA.Mean) != len(c) {
				return nil, errors.New("the preparation's PCA does not fit its features")
			}
		}
	}
	return &p, nil
}

// Width implements partition.Preparer: the number of features.
func (p *Pipeline) Width() int { return len(p.Names()) }

// Bind implements partition.Preparer: the features of a table's rows, a
// range at a time.
func (p *Pipeline) Bind(t *partition.Table) (func(lo, hi int, values []float64, kept []int) ([]float64, []int), error) {
	b, err := p.Encoder.Bind(t)
	if err != nil {
		return nil, err
	}
	return func(lo, hi int, values []float64, kept []int) ([]float64, []int) {
		values, kept, _ = p.features(b, lo, hi, values, kept)
		return values, kept
	}, nil
}

// Columns implements partition.Preparer: the columns the pipeline reads.
func (p *Pipeline) Columns() []string {
	out := make([]string, len(p.Encoder.Inputs))
	for i, in := range p.Encoder.Inputs {
		out[i] = in.Column
	}
	return out
}

// Total implements partition.Preparer: the training rows kept.
func (p *Pipeline) Total() int64 { return p.Counts.Rows - p.Counts.Dropped }

// OneHot implements partition.OneHotPreparer: each text column's
// features, of which every kept row has exactly one at 1 (a category, the
// fill's, or other) and the rest at 0 before scaling, so that blocks hold
// a code per column instead of its features. Their values are scaled as
// Scaling.Apply scales a row, the same arithmetic. PCA mixes every
// feature into every component: then there are none.
func (p *Pipeline) OneHot() []partition.OneHot {
	if p.PCA != nil {
		return nil
	}
	w := len(p.Encoder.Names)
	cold, hot := make([]float64, w), make([]float64, w)
	for i := range hot {
		hot[i] = 1
	}
	p.Scaling.Apply(cold)
	p.Scaling.Apply(hot)
	var runs []partition.OneHot
	at := 0
	for i := range p.Encoder.Inputs {
		in := &p.Encoder.Inputs[i]
		n := in.Features()
		if in.Type == partition.Text {
			r := partition.OneHot{At: at, Cold: make([]float32, n), Hot: make([]float32, n)}
			for f := range n {
				r.Cold[f], r.Hot[f] = float32(cold[at+f]), float32(hot[at+f])
			}
			runs = append(runs, r)
		}
		at += n
	}
	return runs
}
