package kmeans

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/cohort/cohort/algorithms"
)

// Result is the best restart's model.
type Result struct {
	Centroids  [][]float64 `json:"centroids"`
	Sizes      []int64     `json:"sizes"`
	WCSS       float64     `json:"wcss"`
	Iterations int         `json:"iterations"` // Lloyd iterations of the kept restart
	Restart    int         `json:"restart"`    // which restart was kept
	Converged  bool        `json:"converged"`
}

// Phases of one restart, in order.
const (
	phasePick    = "pick"
	phaseSample  = "sample"
	phaseWeights = "weights"
	phaseLloyd   = "lloyd"
	phaseFinal   = "final"
	phaseDone    = "done"
)

// checkpointVersion changes whenever state's encoding does.
const checkpointVersion = 1

// state is everything between two steps; it is the checkpoint.
type state struct {
	Version    int         `json:"version"`
	Config     Config      `json:"config"`
	Rows       int64       `json:"rows"`
	Dims       int         `json:"dims"`
	Restart    int         `json:"restart"`
	Phase      string      `json:"phase"`
	Round      int         `json:"round"`
	Phi        float64     `json:"phi"`
	Candidates [][]float64 `json:"candidates,omitempty"`
	Centroids  [][]float64 `json:"centroids,omitempty"`
	Iteration  int         `json:"iteration"`
	Objective  float64     `json:"objective"`
	Shift      float64     `json:"shift"`
	Converged  bool        `json:"converged"`
	// NeedExact: the last Lloyd pass was lazy and left a cluster empty;
	// it is repeated exactly, for the farthest rows that re-seed it.
	NeedExact bool    `json:"need_exact,omitempty"`
	Best      *Result `json:"best,omitempty"`
}

// Program is k-means as a sequence of steps.
type Program struct {
	s state
	// exact makes every Lloyd pass exact: the reference the lazy passes
	// are tested against.
	exact bool
}

var _ algorithms.Program = (*Program)(nil)

// New starts a program for a dataset of rows × dims. cfg should already
// carry its defaults (Config.WithDefaults); unset k-means‖ parameters are
// filled here because no spec sets them.
func New(cfg Config, rows int64, dims int) (*Program, error) {
	if cfg.Oversample == 0 {
		cfg.Oversample = 2 * float64(cfg.K)
	}
	if cfg.Rounds == 0 {
		cfg.Rounds = DefaultRounds
	}
	if err := cfg.Validate(rows, dims); err != nil {
		return nil, err
	}
	return &Program{s: state{Version: checkpointVersion, Config: cfg, Rows: rows, Dims: dims, Phase: phasePick}}, nil
}

// Resume continues from a checkpoint taken by Checkpoint.
func Resume(checkpoint []byte) (*Program, error) {
	var s state
	if err := json.Unmarshal(checkpoint, &s); err != nil {
		return nil, fmt.Errorf("k-means checkpoint: %w", err)
	}
	if s.Version != checkpointVersion {
		return nil, fmt.Errorf("k-means checkpoint version %d; this build reads version %d", s.Version, checkpointVersion)
	}
	if err := s.Config.Validate(s.Rows, s.Dims); err != nil {
		return nil, fmt.Errorf("k-means checkpoint: %w", err)
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("k-means checkpoint: %w", err)
	}
	return &Program{s: s}, nil
}

// check refuses a state whose parts disagree, so that a damaged checkpoint
// fails on Resume with a reason instead of steps later with a shape error.
func (s *state) check() error {
	k := s.Config.K
	if s.Restart < 0 || s.Restart >= s.Config.Restarts {
		return fmt.Errorf("restart %d outside 0..%d", s.Restart, s.Config.Restarts-1)
	}
	switch s.Phase {
	case phasePick, phaseDone:
	case phaseSample, phaseWeights:
		if len(s.Candidates) == 0 {
			return fmt.Errorf("phase %s without candidates", s.Phase)
		}
		if err := checkMatrix("candidate", s.Candidates, s.Dims); err != nil {
			return err
		}
	case phaseLloyd, phaseFinal:
		if len(s.Centroids) != k {
			return fmt.Errorf("%d centroids for k = %d", len(s.Centroids), k)
		}
		if err := checkMatrix("centroid", s.Centroids, s.Dims); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown phase %q", s.Phase)
	}
	if s.Phase == phaseDone && s.Best == nil {
		return errors.New("finished without a result")
	}
	if b := s.Best; b != nil {
		if len(b.Centroids) != k || len(b.Sizes) != k {
			return fmt.Errorf("kept result has %d centroids and %d sizes for k = %d", len(b.Centroids), len(b.Sizes), k)
		}
		if err := checkMatrix("kept centroid", b.Centroids, s.Dims); err != nil {
			return err
		}
	}
	return nil
}

func checkMatrix(what string, m [][]float64, dims int) error {
	for i, row := range m {
		if len(row) != dims {
			return fmt.Errorf("%s %d has %d values, want %d", what, i, len(row), dims)
		}
	}
	return nil
}

// checkCost turns a non-finite pass total into an error that names the
// likely cause: the checkpoint could not even encode it, and every later
// step would be meaningless.
func checkCost(pass string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("k-means %s: the pass's total squared distance is %v; the data holds NaN or infinite values, or values too large to square in float32", pass, v)
	}
	return nil
}

// Checkpoint implements algorithms.Program. JSON keeps float64 values exact.
func (p *Program) Checkpoint() ([]byte, error) { return json.Marshal(&p.s) }

// Progress implements algorithms.Program.
func (p *Program) Progress() algorithms.Progress {
	s := &p.s
	pr := algorithms.Progress{Phase: s.Phase, Restart: s.Restart, Iteration: s.Iteration, Objective: s.Objective, Shift: s.Shift}
	switch s.Phase {
	case phasePick, phaseSample, phaseWeights:
		pr.Phase, pr.Iteration = "init", s.Round
	case phaseDone:
		pr.Restart = s.Config.Restarts - 1
		if s.Best != nil {
			pr.Iteration, pr.Objective = s.Best.Iterations, s.Best.WCSS
		}
	}
	return pr
}

// Result returns the kept restart once the program has finished.
func (p *Program) Result() (Result, error) {
	if p.s.Phase != phaseDone || p.s.Best == nil {
		return Result{}, errors.New("k-means has not finished")
	}
	// A copy, so the caller cannot reach into the state a checkpoint encodes.
	r := *p.s.Best
	r.Centroids = make([][]float64, len(p.s.Best.Centroids))
	for c, row := range p.s.Best.Centroids {
		r.Centroids[c] = slices.Clone(row)
	}
	r.Sizes = slices.Clone(r.Sizes)
	return r, nil
}

// Next implements algorithms.Program.
func (p *Program) Next() (algorithms.Step, bool, error) {
	s := &p.s
	frac := s.Config.initFrac(s.Rows)
	switch s.Phase {
	case phasePick:
		return &pickStep{Seed: s.Config.Seed, Restart: s.Restart, Dims: s.Dims, Frac: frac}, false, nil
	case phaseSample:
		return &sampleStep{Seed: s.Config.Seed, Restart: s.Restart, Round: s.Round, L: s.Config.Oversample,
			Phi: s.Phi, Dims: s.Dims, Cand: s.Candidates, Frac: frac}, false, nil
	case phaseWeights:
		return &weightsStep{Dims: s.Dims, Cand: s.Candidates, Seed: s.Config.Seed, Restart: s.Restart, Frac: frac}, false, nil
	case phaseLloyd, phaseFinal:
		// Lloyd iterations trust their bounds; the final pass measures
		// the WCSS, and so does a repeat of an iteration that left a
		// cluster empty, which needs the farthest rows.
		return &lloydStep{Dims: s.Dims, Cent: s.Centroids, Exact: s.Phase == phaseFinal || s.NeedExact || p.exact}, false, nil
	case phaseDone:
		return nil, true, nil
	}
	return nil, false, fmt.Errorf("k-means: unknown phase %q", s.Phase)
}

// Update implements algorithms.Program.
func (p *Program) Update(merged algorithms.Partial) error {
	s := &p.s
	switch s.Phase {
	case phasePick:
		m, ok := merged.(*pickPartial)
		if !ok {
			return fmt.Errorf("k-means pick: got %T", merged)
		}
		if !m.Has || len(m.Row) != s.Dims {
			if s.Config.initFrac(s.Rows) < 1 {
				return fmt.Errorf("k-means pick: the initialisation sample (init_sample %d of %d rows) drew no rows; raise init_sample", s.Config.InitSample, s.Rows)
			}
			return errors.New("k-means pick: the dataset returned no rows")
		}
		s.Candidates, s.Round, s.Phi, s.Phase = [][]float64{m.Row}, 0, 0, phaseSample
	case phaseSample:
		m, ok := merged.(*samplePartial)
		if !ok {
			return fmt.Errorf("k-means sample: got %T", merged)
		}
		if len(m.Rows) > 0 && m.Dims != s.Dims {
			return fmt.Errorf("k-means sample: sampled rows have %d dims, want %d", m.Dims, s.Dims)
		}
		if err := checkCost("sample", m.Cost); err != nil {
			return err
		}
		s.Candidates = append(s.Candidates, m.Rows...)
		s.Phi = m.Cost
		s.Round++
		// Round 0 only measured the cost; rounds 1..Rounds sampled. A zero
		// cost means every row sits on a candidate: nothing left to sample.
		if s.Round > s.Config.Rounds || m.Cost == 0 {
			s.Phase = phaseWeights
		}
	case phaseWeights:
		m, ok := merged.(*weightsPartial)
		if !ok || len(m.Counts) != len(s.Candidates) {
			return fmt.Errorf("k-means weights: got %T for %d candidates", merged, len(s.Candidates))
		}
		rng := rand.New(rand.NewPCG(s.Config.Seed, uint64(s.Restart)+0x9e3779b97f4a7c15))
		s.Centroids = reduceCandidates(s.Candidates, m.Counts, s.Config.K, rng)
		s.Candidates = nil
		s.Phase, s.Iteration, s.Objective, s.Shift, s.Converged = phaseLloyd, 0, 0, 0, false
	case phaseLloyd:
		m, err := p.lloydPartial(merged)
		if err != nil {
			return err
		}
		if m.Lazy && slices.Contains(m.Counts, 0) {
			s.NeedExact = true
			return nil
		}
		s.NeedExact = false
		if !m.Lazy {
			if err := checkCost(s.Phase, m.WCSS); err != nil {
				return err
			}
		}
		next := updateCentroids(s.Centroids, m)
		s.Shift = maxShift(s.Centroids, next)
		// A lazy pass did not measure the WCSS: 0 says so.
		s.Centroids, s.Objective = next, m.WCSS
		s.Iteration++
		s.Converged = s.Shift < s.Config.Tol
		if s.Converged || s.Iteration >= s.Config.MaxIter {
			s.Phase = phaseFinal
		}
	case phaseFinal:
		m, err := p.lloydPartial(merged)
		if err != nil {
			return err
		}
		if m.Lazy {
			return errors.New("k-means final: the pass did not measure every row")
		}
		if err := checkCost(s.Phase, m.WCSS); err != nil {
			return err
		}
		r := &Result{Centroids: s.Centroids, Sizes: m.Counts, WCSS: m.WCSS, Iterations: s.Iteration, Restart: s.Restart, Converged: s.Converged}
		if s.Best == nil || r.WCSS < s.Best.WCSS {
			s.Best = r
		}
		s.Objective = m.WCSS
		s.Restart++
		if s.Restart < s.Config.Restarts {
			s.Phase, s.Centroids, s.Iteration, s.Shift, s.Converged = phasePick, nil, 0, 0, false
		} else {
			s.Phase, s.Restart = phaseDone, s.Config.Restarts-1
		}
	default:
		return fmt.Errorf("k-means: update in phase %q", s.Phase)
	}
	return nil
}

func (p *Program) lloydPartial(merged algorithms.Partial) (*lloydPartial, error) {
	m, ok := merged.(*lloydPartial)
	if !ok || m.K != len(p.s.Centroids) || m.Dims != p.s.Dims || len(m.Sums) != m.K*m.Dims || len(m.Counts) != m.K || len(m.Far) != m.K {
		return nil, fmt.Errorf("k-means %s: got %T of the wrong shape", p.s.Phase, merged)
	}
	return m, nil
}

// updateCentroids moves each centroid to the mean of its rows. An empty
// cluster takes the row farthest from its own centroid in some other
// cluster — the worst-served row — chosen by distance, then partition, then
// row, so the choice does not depend on placement.
func updateCentroids(old [][]float64, m *lloydPartial) [][]float64 {
	next := make([][]float64, len(old))
	var empty []int
	for c := range old {
		if m.Counts[c] == 0 {
			empty = append(empty, c)
			next[c] = slices.Clone(old[c])
			continue
		}
		next[c] = make([]float64, m.Dims)
		n := float64(m.Counts[c])
		for j := range next[c] {
			next[c][j] = m.Sums[c*m.Dims+j] / n
		}
	}
	if len(empty) == 0 {
		return next
	}
	var donors []farPoint
	for _, f := range m.Far {
		if f.Has {
			donors = append(donors, f)
		}
	}
	slices.SortFunc(donors, func(a, b farPoint) int {
		return cmp.Or(cmp.Compare(b.Dist, a.Dist), cmp.Compare(a.Part, b.Part), cmp.Compare(a.Row, b.Row))
	})
	for i, c := range empty {
		if i < len(donors) && donors[i].Dist > 0 {
			next[c] = slices.Clone(donors[i].X)
		}
	}
	return next
}

func maxShift(a, b [][]float64) float64 {
	var worst float64
	for c := range a {
		var d float64
		for j := range a[c] {
			d += (a[c][j] - b[c][j]) * (a[c][j] - b[c][j])
		}
		worst = max(worst, d)
	}
	return math.Sqrt(worst)
}

// localLloydIters bounds the weighted Lloyd refinement of the k centres
// chosen from the candidates, as Spark's LocalKMeans does.
const localLloydIters = 30

// localTrials is how many times the candidates are reduced to k centres; the
// lowest weighted cost wins. Candidates number about ℓ·rounds, so a trial
// costs far less than one pass over the data, and repeating it makes a
// k-means++ draw that covers two groups with one centre (seen in one seed
// of ten on 16 separated blobs) very unlikely to survive.
const localTrials = 10

// reduceCandidates picks k centres from the weighted k-means‖ candidates:
// the best of localTrials runs of greedy k-means++ plus weighted Lloyd.
func reduceCandidates(cand [][]float64, weights []int64, k int, rng *rand.Rand) [][]float64 {
	w := make([]float64, len(cand))
	for i, c := range weights {
		w[i] = float64(c)
	}
	var best [][]float64
	bestCost := math.Inf(1)
	for range localTrials {
		centers := reduceOnce(cand, w, k, rng)
		var cost float64
		for i, x := range cand {
			d := math.Inf(1)
			for _, c := range centers {
				d = min(d, sq(x, c))
			}
			cost += w[i] * d
		}
		if cost < bestCost {
			best, bestCost = centers, cost
		}
	}
	return best
}

// reduceOnce is one greedy weighted k-means++ draw refined by weighted Lloyd.
func reduceOnce(cand [][]float64, w []float64, k int, rng *rand.Rand) [][]float64 {
	n := len(cand)
	var total float64
	for _, x := range w {
		total += x
	}
	chosen := make([]bool, n)
	centers := make([][]float64, 0, k)
	pick := func(i int) {
		chosen[i] = true
		centers = append(centers, slices.Clone(cand[i]))
	}
	if total == 0 {
		pick(0)
	} else {
		pick(draw(w, total, rng))
	}
	d2 := make([]float64, n)
	for i := range cand {
		d2[i] = sq(cand[i], centers[0])
	}
	// Greedy k-means++ (as scikit-learn's): draw a few candidates by D²
	// and keep the one that lowers the potential most. Plain k-means++
	// with exactly k draws often leaves a well-separated group uncovered.
	trials := 2 + int(math.Log(float64(k)))
	score := make([]float64, n)
	for len(centers) < k {
		var sum float64
		for i := range cand {
			score[i] = w[i] * d2[i]
			sum += score[i]
		}
		next := -1
		if sum > 0 {
			bestPot := math.Inf(1)
			for range trials {
				i := draw(score, sum, rng)
				var pot float64
				for j := range cand {
					pot += w[j] * min(d2[j], sq(cand[j], cand[i]))
				}
				if pot < bestPot {
					next, bestPot = i, pot
				}
			}
		} else {
			// Fewer distinct weighted candidates than k: take any unchosen one,
			// or repeat a centre and let empty-cluster re-seeding spread them.
			next = slices.Index(chosen, false)
			if next < 0 {
				next = len(centers) % n
			}
		}
		pick(next)
		for i := range cand {
			d2[i] = min(d2[i], sq(cand[i], centers[len(centers)-1]))
		}
	}
	// Weighted Lloyd on the candidates.
	assign := make([]int, n)
	for it := 0; it < localLloydIters; it++ {
		changed := false
		for i := range cand {
			best, bestD := 0, math.Inf(1)
			for c := range centers {
				if d := sq(cand[i], centers[c]); d < bestD {
					best, bestD = c, d
				}
			}
			if best != assign[i] {
				changed, assign[i] = true, best
			}
		}
		if it > 0 && !changed {
			break
		}
		sums := make([][]float64, k)
		mass := make([]float64, k)
		for c := range sums {
			sums[c] = make([]float64, len(cand[0]))
		}
		for i, c := range assign {
			mass[c] += w[i]
			for j, v := range cand[i] {
				sums[c][j] += w[i] * v
			}
		}
		for c := range centers {
			if mass[c] > 0 {
				for j := range centers[c] {
					centers[c][j] = sums[c][j] / mass[c]
				}
			}
		}
	}
	return centers
}

// draw picks index i with probability w[i]/total.
func draw(w []float64, total float64, rng *rand.Rand) int {
	r := rng.Float64() * total
	last := 0
	for i, x := range w {
		if x <= 0 {
			continue
		}
		last = i
		if r < x {
			return i
		}
		r -= x
	}
	return last
}

func sq(a, b []float64) float64 {
	var d float64
	for j := range a {
		d += (a[j] - b[j]) * (a[j] - b[j])
	}
	return d
}
