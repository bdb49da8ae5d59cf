package choose

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/evaluate"
)

// Rules a spec's cluster.choose may name.
const (
	Silhouette       = "silhouette"
	Elbow            = "elbow"
	CalinskiHarabasz = "calinski_harabasz"
	DaviesBouldin    = "davies_bouldin"
	Stability        = "stability"
)

// Rules lists the rules, the default first.
var Rules = []string{Silhouette, Elbow, CalinskiHarabasz, DaviesBouldin, Stability}

// Config fits every candidate of a sweep and chooses one. It is an
// algorithms.Config, so a job fits it as it would one algorithm.
type Config struct {
	Sweep     algorithms.Sweep
	Algorithm string // the sweep's, for the candidates' models
	Rule      string
	Evaluate  evaluate.Config
	// Stability, when set, refits every candidate on resamples; the
	// stability rule needs it (NewConfig sets the defaults).
	Stability *evaluate.StabilityConfig
}

var _ algorithms.Config = (*Config)(nil)

// NewConfig checks a rule against the sweep it is to choose within; st
// (nil: none, unless the rule is stability) measures each candidate's
// stability.
func NewConfig(sweep algorithms.Sweep, algorithm, rule string, ev evaluate.Config, st *evaluate.StabilityConfig) (*Config, error) {
	if rule == "" {
		rule = Silhouette
	}
	if !slices.Contains(Rules, rule) {
		return nil, fmt.Errorf("rule %q is unknown; use %s", rule, strings.Join(Rules, ", "))
	}
	if n := len(sweep.Candidates()); rule == Elbow && n < 3 {
		return nil, fmt.Errorf("the elbow needs at least 3 values of k to find a knee (got %d)", n)
	}
	ev = ev.WithDefaults()
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	if st == nil && rule == Stability {
		st = &evaluate.StabilityConfig{Seed: ev.Seed}
	}
	if st != nil {
		d := st.WithDefaults()
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("stability: %w", err)
		}
		st = &d
	}
	return &Config{Sweep: sweep, Algorithm: algorithm, Rule: rule, Evaluate: ev, Stability: st}, nil
}

// Check implements algorithms.Config.
func (c *Config) Check(rows int64, dims int) error { return c.Sweep.Check(rows, dims) }

// MaxIter implements algorithms.Config: a candidate's.
func (c *Config) MaxIter() int { return c.Sweep.MaxIter() }

// New implements algorithms.Config.
func (c *Config) New(rows int64, dims int) (algorithms.Fit, error) {
	if err := c.Check(rows, dims); err != nil {
		return nil, err
	}
	return &Program{cfg: c, s: state{Rows: rows, Dims: dims, Phase: phaseFit}}, nil
}

// Resume implements algorithms.Config.
func (c *Config) Resume(checkpoint []byte) (algorithms.Fit, error) {
	var s state
	if err := json.Unmarshal(checkpoint, &s); err != nil {
		return nil, fmt.Errorf("choose-k checkpoint: %w", err)
	}
	n := len(c.Sweep.Candidates())
	scored := min(s.Index, n)
	if s.Phase == phaseStability {
		scored++ // the candidate whose stability is being measured
	}
	if s.Index > n || len(s.Models) < s.Index || len(s.Reports) != scored {
		return nil, fmt.Errorf("choose-k checkpoint: %d candidates done of %d, with %d models and %d reports", s.Index, n, len(s.Models), len(s.Reports))
	}
	return &Program{cfg: c, s: s}, nil
}

// Phases of the program.
const (
	phaseFit       = "fit"
	phaseEvaluate  = "evaluate"
	phaseStability = "stability"
	phaseDone      = "done"
)

// state is the checkpoint.
type state struct {
	Rows  int64  `json:"rows"`
	Dims  int    `json:"dims"`
	Index int    `json:"index"` // the candidate being fitted or scored
	Phase string `json:"phase"`
	// Fit is the current candidate's fit checkpoint (phase fit; nil
	// before its first step), and Stability its stability measure's.
	Fit       json.RawMessage `json:"fit,omitempty"`
	Stability json.RawMessage `json:"stability,omitempty"`
	// Models are the candidates fitted, Reports those scored.
	Models  []*algorithms.ModelRef `json:"models"`
	Reports []*evaluate.Report     `json:"reports"`
	Chosen  int                    `json:"chosen"`
}

// Program fits and scores the candidates in order of k.
type Program struct {
	cfg *Config
	s   state
	fit algorithms.Fit
	ev  *evaluate.Program
	st  *evaluate.Stability
}

var _ algorithms.Fit = (*Program)(nil)

func (p *Program) candidate() algorithms.Candidate { return p.cfg.Sweep.Candidates()[p.s.Index] }

// Next implements algorithms.Program.
func (p *Program) Next() (algorithms.Step, bool, error) {
	s := &p.s
	for {
		switch s.Phase {
		case phaseFit:
			if p.fit == nil {
				var err error
				c := p.candidate()
				if s.Fit != nil {
					p.fit, err = c.Config.Resume(s.Fit)
				} else {
					p.fit, err = c.Config.New(s.Rows, s.Dims)
				}
				if err != nil {
					return nil, false, fmt.Errorf("k=%d: %w", c.K, err)
				}
			}
			step, done, err := p.fit.Next()
			if err != nil || !done {
				return step, false, wrapK(p.candidate().K, err)
			}
			m, err := p.fit.Model()
			if err != nil {
				return nil, false, wrapK(p.candidate().K, err)
			}
			ref, err := algorithms.NewModelRef(p.cfg.Algorithm, m)
			if err != nil {
				return nil, false, wrapK(p.candidate().K, err)
			}
			s.Models = append(s.Models[:s.Index], ref)
			s.Fit, p.fit, s.Phase = nil, nil, phaseEvaluate
		case phaseEvaluate:
			if p.ev == nil {
				m, err := s.Models[s.Index].Decoded()
				if err != nil {
					return nil, false, wrapK(p.candidate().K, err)
				}
				if p.ev, err = evaluate.New(p.cfg.Evaluate, p.cfg.Algorithm, m, s.Rows, s.Dims); err != nil {
					return nil, false, wrapK(p.candidate().K, err)
				}
			}
			step, done, err := p.ev.Next()
			if err != nil || !done {
				return step, false, wrapK(p.candidate().K, err)
			}
			rep, err := p.ev.Report()
			if err != nil {
				return nil, false, wrapK(p.candidate().K, err)
			}
			s.Reports = append(s.Reports[:s.Index], rep)
			p.ev = nil
			s.Phase = phaseStability
		case phaseStability:
			if p.cfg.Stability != nil {
				c := p.candidate()
				if p.st == nil {
					var err error
					if s.Stability != nil {
						p.st, err = evaluate.ResumeStability(c.Config, s.Stability)
					} else {
						var m algorithms.Model
						if m, err = s.Models[s.Index].Decoded(); err == nil {
							p.st, err = evaluate.NewStability(*p.cfg.Stability, c.Config, p.cfg.Algorithm, m, s.Rows, s.Dims)
						}
					}
					if err != nil {
						return nil, false, wrapK(c.K, err)
					}
					s.Stability = nil
				}
				step, done, err := p.st.Next()
				if err != nil || !done {
					return step, false, wrapK(c.K, err)
				}
				rep, err := p.st.Report()
				if err != nil {
					return nil, false, wrapK(c.K, err)
				}
				// The candidate's report is its own copy, decoded from
				// the checkpoint or made by this program.
				scored := *s.Reports[s.Index]
				scored.Stability = rep
				s.Reports[s.Index] = &scored
				p.st = nil
			}
			s.Index++
			s.Phase = phaseFit
			if s.Index == len(p.cfg.Sweep.Candidates()) {
				ks := make([]int, len(s.Reports))
				for i, c := range p.cfg.Sweep.Candidates() {
					ks[i] = c.K
				}
				chosen, err := Choose(p.cfg.Rule, ks, s.Reports)
				if err != nil {
					return nil, false, err
				}
				s.Chosen = chosen
				s.Phase = phaseDone
			}
		case phaseDone:
			return nil, true, nil
		default:
			return nil, false, fmt.Errorf("choose k: unknown phase %q", s.Phase)
		}
	}
}

func wrapK(k int, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("k=%d: %w", k, err)
}

// Update implements algorithms.Program.
func (p *Program) Update(merged algorithms.Partial) error {
	switch {
	case p.s.Phase == phaseFit && p.fit != nil:
		return wrapK(p.candidate().K, p.fit.Update(merged))
	case p.s.Phase == phaseEvaluate && p.ev != nil:
		return wrapK(p.candidate().K, p.ev.Update(merged))
	case p.s.Phase == phaseStability && p.st != nil:
		return wrapK(p.candidate().K, p.st.Update(merged))
	}
	return fmt.Errorf("choose k: an update with no step in flight (phase %s)", p.s.Phase)
}

// Checkpoint implements algorithms.Program.
func (p *Program) Checkpoint() ([]byte, error) {
	s := p.s
	if s.Phase == phaseFit && p.fit != nil {
		cp, err := p.fit.Checkpoint()
		if err != nil {
			return nil, wrapK(p.candidate().K, err)
		}
		s.Fit = cp
	}
	if s.Phase == phaseStability && p.st != nil {
		cp, err := p.st.Checkpoint()
		if err != nil {
			return nil, wrapK(p.candidate().K, err)
		}
		s.Stability = cp
	}
	return json.Marshal(&s)
}

// Progress implements algorithms.Program: the running candidate's.
func (p *Program) Progress() algorithms.Progress {
	switch {
	case p.s.Phase == phaseFit && p.fit != nil:
		return p.fit.Progress()
	case p.s.Phase == phaseEvaluate && p.ev != nil:
		return p.ev.Progress()
	case p.s.Phase == phaseStability && p.st != nil:
		return p.st.Progress()
	}
	return algorithms.Progress{Phase: p.s.Phase}
}

// Model implements algorithms.Fit: the chosen candidate's.
func (p *Program) Model() (algorithms.Model, error) {
	if p.s.Phase != phaseDone {
		return nil, errors.New("choosing k has not finished")
	}
	return p.s.Models[p.s.Chosen].Decoded()
}

// Report is the comparison of the candidates, with the chosen one's own
// evaluation.
func (p *Program) Report() (*Report, error) {
	if p.s.Phase != phaseDone {
		return nil, errors.New("choosing k has not finished")
	}
	r := &Report{Report: *p.s.Reports[p.s.Chosen], Rule: p.cfg.Rule}
	for i, c := range p.cfg.Sweep.Candidates() {
		e := p.s.Reports[i]
		cr := CandidateReport{K: c.K, Segments: e.Segments, WCSS: e.WCSS, Silhouette: e.Silhouette, SilhouetteCI: e.SilhouetteCI,
			CalinskiHarabasz: e.CalinskiHarabasz, DaviesBouldin: e.DaviesBouldin, Chosen: i == p.s.Chosen}
		if st := e.Stability; st != nil {
			cr.Stability = &CandidateStability{AdjustedRand: st.AdjustedRand.Mean, PredictionStrength: st.PredictionStrength.Mean, Unstable: st.Unstable}
		}
		if cr.Chosen {
			r.ChosenK = c.K
		}
		r.Candidates = append(r.Candidates, cr)
	}
	if r.Segments < r.ChosenK {
		r.Notes = append(r.Notes, fmt.Sprintf("the chosen fit of k=%d has only %d non-empty segments", r.ChosenK, r.Segments))
	}
	return r, nil
}

// Report is an evaluation that chose k: the chosen candidate's report,
// the rule and every candidate's scores. A plain evaluation reads into it
// with ChosenK 0.
type Report struct {
	evaluate.Report
	ChosenK    int               `json:"chosen_k,omitempty"`
	Rule       string            `json:"rule,omitempty"`
	Candidates []CandidateReport `json:"candidates,omitempty"`
}

// CandidateReport is one k's scores.
type CandidateReport struct {
	K                int                 `json:"k"`
	Segments         int                 `json:"segments"` // non-empty ones
	WCSS             float64             `json:"wcss"`
	Silhouette       *float64            `json:"silhouette,omitempty"`
	SilhouetteCI     *[2]float64         `json:"silhouette_ci,omitempty"`
	CalinskiHarabasz *float64            `json:"calinski_harabasz,omitempty"`
	DaviesBouldin    *float64            `json:"davies_bouldin,omitempty"`
	Stability        *CandidateStability `json:"stability,omitempty"`
	Chosen           bool                `json:"chosen,omitempty"`
}

// CandidateStability is a candidate's stability over the resamples: the
// mean adjusted Rand index against its full fit, the mean prediction
// strength, and the segments below evaluate.UnstableBelow.
type CandidateStability struct {
	AdjustedRand       *float64 `json:"adjusted_rand,omitempty"`
	PredictionStrength *float64 `json:"prediction_strength,omitempty"`
	Unstable           []int    `json:"unstable,omitempty"`
}

// Choose is the index of the candidate rule prefers, ks ascending and
// reports in the same order.
func Choose(rule string, ks []int, reports []*evaluate.Report) (int, error) {
	if len(ks) == 0 || len(ks) != len(reports) {
		return 0, fmt.Errorf("choose k: %d candidates and %d reports", len(ks), len(reports))
	}
	best := func(metric func(*evaluate.Report) *float64, higher bool, name string) (int, error) {
		at := -1
		for i, r := range reports {
			v := metric(r)
			if v == nil || math.IsNaN(*v) {
				continue
			}
			if at < 0 || higher && *v > *metric(reports[at]) || !higher && *v < *metric(reports[at]) {
				at = i
			}
		}
		if at < 0 {
			return 0, fmt.Errorf("no candidate has a %s (each has a single segment)", name)
		}
		return at, nil
	}
	switch rule {
	case Silhouette, "":
		return best(func(r *evaluate.Report) *float64 { return r.Silhouette }, true, "silhouette")
	case CalinskiHarabasz:
		return best(func(r *evaluate.Report) *float64 { return r.CalinskiHarabasz }, true, "Calinski-Harabasz index")
	case DaviesBouldin:
		return best(func(r *evaluate.Report) *float64 { return r.DaviesBouldin }, false, "Davies-Bouldin index")
	case Stability:
		// Tibshirani and Walther's rule: the most segments that new data
		// still reproduces; failing that, the most reproducible.
		at := -1
		for i, r := range reports {
			if v := strengthOf(r); v != nil && *v >= evaluate.UnstableBelow {
				at = i
			}
		}
		if at >= 0 {
			return at, nil
		}
		return best(strengthOf, true, "prediction strength")
	case Elbow:
		w := make([]float64, len(reports))
		for i, r := range reports {
			w[i] = r.WCSS
		}
		return Knee(ks, w)
	}
	return 0, fmt.Errorf("rule %q is unknown; use %s", rule, strings.Join(Rules, ", "))
}

// strengthOf is a report's mean prediction strength (nil: not measured).
func strengthOf(r *evaluate.Report) *float64 {
	if r.Stability == nil {
		return nil
	}
	return r.Stability.PredictionStrength.Mean
}

// Knee is the kneedle knee of a decreasing, convex curve y over ascending
// x: with both scaled to [0, 1], the point furthest below the chord from
// the first point to the last (the first of equals).
func Knee(x []int, y []float64) (int, error) {
	n := len(x)
	if n < 3 || len(y) != n {
		return 0, fmt.Errorf("the elbow needs at least 3 values of k to find a knee (got %d)", n)
	}
	lo, hi := slices.Min(y), slices.Max(y)
	if !(hi > lo) {
		return 0, fmt.Errorf("WCSS is the same (%g) for every k: there is no elbow", lo)
	}
	dx := float64(x[n-1] - x[0])
	at, most := 0, math.Inf(-1)
	for i := range n {
		xs := float64(x[i]-x[0]) / dx
		ys := (y[i] - lo) / (hi - lo)
		// The chord runs from (0, y₀) to (1, yₙ₋₁) in scaled units.
		y0, y1 := (y[0]-lo)/(hi-lo), (y[n-1]-lo)/(hi-lo)
		if d := y0 + (y1-y0)*xs - ys; d > most {
			at, most = i, d
		}
	}
	return at, nil
}
