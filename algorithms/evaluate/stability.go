package evaluate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

// Stability's defaults and bounds.
const (
	DefaultResamples = 10
	DefaultFraction  = 0.8
	MaxResamples     = 100
	// UnstableBelow is Tibshirani and Walther's threshold: a segment whose
	// prediction strength is lower is not reproduced on new data.
	UnstableBelow = 0.8
	// dissolvedAt and recoveredAt are clusterboot's: a resample whose best
	// Jaccard match is at most 0.5 dissolved the segment, at least 0.75
	// recovered it.
	dissolvedAt = 0.5
	recoveredAt = 0.75
	// stabilitySalt keeps the resamples' draws apart from a holdout's drawn
	// from the same job seed.
	stabilitySalt = 0x510e527fade682d1
)

// StabilityConfig asks for a segmentation to be refitted on resamples:
// each resample is a Fraction of the rows (the training fold) and the
// rest (the test fold), drawn by hashing rows with a seed of its own.
type StabilityConfig struct {
	Resamples int     `json:"resamples,omitempty"`
	Fraction  float64 `json:"fraction,omitempty"`
	Seed      uint64  `json:"seed,omitempty"`
}

// WithDefaults fills what is unset.
func (c StabilityConfig) WithDefaults() StabilityConfig {
	if c.Resamples == 0 {
		c.Resamples = DefaultResamples
	}
	if c.Fraction == 0 {
		c.Fraction = DefaultFraction
	}
	return c
}

// Validate names the first problem as a spec would.
func (c StabilityConfig) Validate() error {
	switch {
	case c.Resamples < 1 || c.Resamples > MaxResamples:
		return fmt.Errorf("resamples must be between 1 and %d (got %d)", MaxResamples, c.Resamples)
	case !(c.Fraction > 0 && c.Fraction < 1):
		return fmt.Errorf("fraction must be between 0 and 1, exclusive: the share of rows each refit is trained on (got %v)", c.Fraction)
	}
	return nil
}

// resample is the training fold of resample i; its Complementary is the
// test fold.
func (c StabilityConfig) resample(i int) algorithms.Subset {
	return algorithms.Subset{Seed: partition.Mix64((c.Seed ^ stabilitySalt) + uint64(i)), Fraction: c.Fraction}
}

// StabilityReport is how well a segmentation survives refitting on
// resamples of its rows.
type StabilityReport struct {
	Resamples int     `json:"resamples"`
	Fraction  float64 `json:"fraction"`
	// AdjustedRand compares each training fold's fit with the full fit
	// over the fold's rows; PredictionStrength is each test fold's
	// (the least over its segments).
	AdjustedRand       Spread             `json:"adjusted_rand"`
	PredictionStrength Spread             `json:"prediction_strength"`
	Segments           []SegmentStability `json:"segments"`
	// Unstable lists the full fit's segments whose prediction strength is
	// below UnstableBelow.
	Unstable []int    `json:"unstable,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// Spread is a measure's mean and range over the resamples that had it.
type Spread struct {
	Mean *float64 `json:"mean,omitempty"`
	Min  *float64 `json:"min,omitempty"`
	Max  *float64 `json:"max,omitempty"`
	Of   int      `json:"of"` // resamples with a value
}

func spreadOf(v []float64) Spread {
	if len(v) == 0 {
		return Spread{}
	}
	var sum float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		sum += x
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	mean := sum / float64(len(v))
	return Spread{Mean: &mean, Min: &lo, Max: &hi, Of: len(v)}
}

// SegmentStability is one segment of the full fit across the resamples.
type SegmentStability struct {
	Segment int `json:"segment"`
	// Jaccard is clusterboot's recovery: the mean over resamples of the
	// segment's best Jaccard similarity to a segment of the training
	// fold's fit; Dissolved and Recovered count the resamples at most 0.5
	// and at least 0.75.
	Jaccard   Spread `json:"jaccard"`
	Dissolved int    `json:"dissolved"`
	Recovered int    `json:"recovered"`
	// PredictionStrength is the mean over resamples of the strength of
	// the test fold's segments most like this one (the least, when
	// several are), and Unstable says it is below UnstableBelow.
	PredictionStrength Spread `json:"prediction_strength"`
	Unstable           bool   `json:"unstable,omitempty"`
}

// Phases of a resample, in order: the training fold's fit and its
// agreement with the full fit over the fold, then the test fold's own fit,
// its prediction strength against the training fit, and which of the full
// fit's segments its segments are. Steps over one fold run together, so
// the fold's rows are selected once.
const (
	stabTrain    = "train"
	stabAgree    = "agree"
	stabTest     = "test"
	stabStrength = "strength"
	stabMatch    = "match"
	stabRelease  = "release"
	stabDone     = "done"
)

// stabilityState is the checkpoint.
type stabilityState struct {
	Config    StabilityConfig      `json:"config"`
	Algorithm string               `json:"algorithm"`
	Full      *algorithms.ModelRef `json:"full"`
	K         int                  `json:"k"`
	Rows      int64                `json:"rows"`
	Dims      int                  `json:"dims"`
	Resample  int                  `json:"resample"`
	Phase     string               `json:"phase"`
	// Fit is the fold's fit checkpoint, in the train and test phases.
	Fit json.RawMessage `json:"fit,omitempty"`
	// Train and Test are this resample's fitted folds.
	Train *algorithms.ModelRef `json:"train,omitempty"`
	Test  *algorithms.ModelRef `json:"test,omitempty"`
	// Strength is this resample's, waiting for the match.
	Strength *Strength         `json:"strength,omitempty"`
	Results  []resampleOutcome `json:"results"`
}

// resampleOutcome is what one resample found.
type resampleOutcome struct {
	AdjustedRand Score          `json:"adjusted_rand"`
	Jaccard      []SegmentMatch `json:"jaccard"`  // by the full fit's segment
	Strength     Strength       `json:"strength"` // by the test fold's segment
	// TestMatch is, for each test segment, the full fit's segment most
	// like it over the test fold.
	TestMatch []SegmentMatch `json:"test_match"`
}

// Stability refits a segmentation on resamples and compares: a Program
// whose steps are the folds' fits (any algorithm's Config, each step over
// the fold by algorithms.Subset) and contingency tables.
type Stability struct {
	fit algorithms.Config
	s   stabilityState
	cur algorithms.Fit // the fold's fit, in the train and test phases
}

var _ algorithms.Program = (*Stability)(nil)

// NewStability starts measuring the stability of full, which fit fitted
// (with the named algorithm) over rows × dims.
func NewStability(cfg StabilityConfig, fit algorithms.Config, algorithm string, full algorithms.Model, rows int64, dims int) (*Stability, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("stability: %w", err)
	}
	d := full.Describe()
	if d.Segments < 1 || d.Dims != dims {
		return nil, fmt.Errorf("stability: a model of %d segments over %d dims for data of %d dims", d.Segments, d.Dims, dims)
	}
	ref, err := algorithms.NewModelRef(algorithm, full)
	if err != nil {
		return nil, err
	}
	return &Stability{fit: fit, s: stabilityState{Config: cfg, Algorithm: algorithm, Full: ref, K: d.Segments, Rows: rows, Dims: dims, Phase: stabTrain}}, nil
}

// ResumeStability continues from a checkpoint, refitting with fit.
func ResumeStability(fit algorithms.Config, checkpoint []byte) (*Stability, error) {
	var s stabilityState
	if err := json.Unmarshal(checkpoint, &s); err != nil {
		return nil, fmt.Errorf("stability checkpoint: %w", err)
	}
	if s.Full == nil || s.K < 1 || s.Dims < 1 || len(s.Results) < s.Resample || len(s.Results) > s.Resample+1 {
		return nil, errors.New("stability checkpoint: no model, or resamples out of step")
	}
	return &Stability{fit: fit, s: s}, nil
}

// Checkpoint implements algorithms.Program.
func (p *Stability) Checkpoint() ([]byte, error) {
	s := p.s
	if p.cur != nil {
		cp, err := p.cur.Checkpoint()
		if err != nil {
			return nil, err
		}
		s.Fit = cp
	}
	return json.Marshal(&s)
}

// Progress implements algorithms.Program: the phase and the resample.
func (p *Stability) Progress() algorithms.Progress {
	pr := algorithms.Progress{Phase: "stability " + p.s.Phase, Restart: p.s.Resample}
	if p.cur != nil {
		in := p.cur.Progress()
		pr.Phase += " " + in.Phase
		pr.Iteration, pr.Objective, pr.Shift = in.Iteration, in.Objective, in.Shift
	}
	return pr
}

// fold is the current resample's training fold, or its test fold.
func (p *Stability) fold(test bool) algorithms.Subset {
	s := p.s.Config.resample(p.s.Resample)
	if test {
		return s.Complementary()
	}
	return s
}

func (p *Stability) errorf(format string, a ...any) error {
	return fmt.Errorf("stability, resample %d of %d: %w", p.s.Resample+1, p.s.Config.Resamples, fmt.Errorf(format, a...))
}

// Next implements algorithms.Program.
func (p *Stability) Next() (algorithms.Step, bool, error) {
	s := &p.s
	for {
		switch s.Phase {
		case stabTrain, stabTest:
			test := s.Phase == stabTest
			if p.cur == nil {
				cfg := p.fold(test).Config(p.fit)
				var err error
				if s.Fit != nil {
					p.cur, err = cfg.Resume(s.Fit)
				} else {
					p.cur, err = cfg.New(s.Rows, s.Dims)
				}
				if err != nil {
					return nil, false, p.errorf("%s fold: %v", s.Phase, err)
				}
				s.Fit = nil
			}
			step, done, err := p.cur.Next()
			if err != nil {
				return nil, false, p.errorf("%s fold: %w", s.Phase, err)
			}
			if !done {
				return step, false, nil
			}
			m, err := p.cur.Model()
			if err != nil {
				return nil, false, p.errorf("%s fold: %w", s.Phase, err)
			}
			ref, err := algorithms.NewModelRef(s.Algorithm, m)
			if err != nil {
				return nil, false, err
			}
			p.cur = nil
			if test {
				s.Test, s.Phase = ref, stabStrength
			} else {
				s.Train, s.Phase = ref, stabAgree
			}
		case stabAgree:
			return p.table(false, s.Full, s.Train)
		case stabStrength:
			return p.table(true, s.Test, s.Train)
		case stabMatch:
			return p.table(true, s.Test, s.Full)
		case stabRelease:
			return algorithms.Release(), false, nil
		case stabDone:
			return nil, true, nil
		default:
			return nil, false, fmt.Errorf("stability: unknown phase %q", s.Phase)
		}
	}
}

// table is the step counting a fold's rows by a's and b's segments.
func (p *Stability) table(test bool, a, b *algorithms.ModelRef) (algorithms.Step, bool, error) {
	step, err := NewContingencyStep(a, b, p.s.Dims)
	if err != nil {
		return nil, false, p.errorf("%s: %w", p.s.Phase, err)
	}
	return p.fold(test).Step(step), false, nil
}

// Update implements algorithms.Program.
func (p *Stability) Update(merged algorithms.Partial) error {
	s := &p.s
	switch s.Phase {
	case stabTrain, stabTest:
		if p.cur == nil {
			return fmt.Errorf("stability: an update with no fit in flight (phase %s)", s.Phase)
		}
		if err := p.cur.Update(merged); err != nil {
			return p.errorf("%s fold: %w", s.Phase, err)
		}
		return nil
	case stabRelease:
		s.Phase = stabDone
		return nil
	}
	t, err := AsContingency(merged)
	if err != nil {
		return p.errorf("%s: %w", s.Phase, err)
	}
	switch s.Phase {
	case stabAgree:
		s.Results = append(s.Results, resampleOutcome{AdjustedRand: t.AdjustedRand(), Jaccard: t.Jaccard()})
		s.Phase = stabTest
	case stabStrength:
		st := t.PredictionStrength()
		s.Strength, s.Phase = &st, stabMatch
	case stabMatch:
		if s.Strength == nil || len(s.Results) != s.Resample+1 {
			return p.errorf("a match before its strength")
		}
		r := &s.Results[s.Resample]
		r.Strength, r.TestMatch = *s.Strength, t.Jaccard()
		s.Train, s.Test, s.Strength = nil, nil, nil
		s.Resample++
		s.Phase = stabTrain
		if s.Resample == s.Config.Resamples {
			s.Phase = stabRelease
		}
	default:
		return fmt.Errorf("stability: an update in phase %s", s.Phase)
	}
	return nil
}

// Report is the stability found, once Next has said done.
func (p *Stability) Report() (*StabilityReport, error) {
	s := &p.s
	if s.Phase != stabDone {
		return nil, errors.New("the stability measure has not finished")
	}
	rep := &StabilityReport{Resamples: s.Config.Resamples, Fraction: s.Config.Fraction}
	var ari, ps []float64
	jac := make([][]float64, s.K)
	strength := make([][]float64, s.K)
	segs := make([]SegmentStability, s.K)
	for _, r := range s.Results {
		if r.AdjustedRand.OK() {
			ari = append(ari, *r.AdjustedRand.Value)
		}
		if r.Strength.Strength.OK() {
			ps = append(ps, *r.Strength.Strength.Value)
		}
		for _, m := range r.Jaccard {
			if m.Segment >= s.K || !m.Jaccard.OK() {
				continue
			}
			v := *m.Jaccard.Value
			jac[m.Segment] = append(jac[m.Segment], v)
			if v <= dissolvedAt {
				segs[m.Segment].Dissolved++
			}
			if v >= recoveredAt {
				segs[m.Segment].Recovered++
			}
		}
		// Each full segment takes the least strength of the test segments
		// that are most like it in this resample.
		least := make([]float64, s.K)
		for j := range least {
			least[j] = math.NaN()
		}
		for _, m := range r.TestMatch {
			if m.Match < 0 || m.Match >= s.K || m.Segment >= len(r.Strength.Segments) {
				continue
			}
			g := r.Strength.Segments[m.Segment].Strength
			if !g.OK() {
				continue
			}
			if math.IsNaN(least[m.Match]) || *g.Value < least[m.Match] {
				least[m.Match] = *g.Value
			}
		}
		for j, v := range least {
			if !math.IsNaN(v) {
				strength[j] = append(strength[j], v)
			}
		}
	}
	rep.AdjustedRand, rep.PredictionStrength = spreadOf(ari), spreadOf(ps)
	var unmatched []int
	for j := range segs {
		segs[j].Segment = j
		segs[j].Jaccard = spreadOf(jac[j])
		segs[j].PredictionStrength = spreadOf(strength[j])
		if m := segs[j].PredictionStrength.Mean; m != nil && *m < UnstableBelow {
			segs[j].Unstable = true
			rep.Unstable = append(rep.Unstable, j)
		}
		if segs[j].PredictionStrength.Of == 0 {
			unmatched = append(unmatched, j)
		}
	}
	rep.Segments = segs
	if len(ari) < len(s.Results) {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the adjusted Rand index is undefined in %d of %d resamples (no rows both fits put in a segment)", len(s.Results)-len(ari), len(s.Results)))
	}
	if len(unmatched) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("segments %v were no test segment's closest in any resample, so have no prediction strength: they are too small or not reproduced", unmatched))
	}
	return rep, nil
}
