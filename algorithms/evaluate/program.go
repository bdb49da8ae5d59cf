package evaluate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/cohort/cohort/algorithms"
)

// Report is an evaluation's outcome. A metric that is undefined for the
// segmentation (a single segment, say) is absent, and Notes says why.
type Report struct {
	// Rows were evaluated; Noise rows had no segment and were left out.
	Rows     int64  `json:"rows"`
	Noise    int64  `json:"noise,omitempty"`
	Segments int    `json:"k"` // segments with at least one row
	Distance string `json:"distance"`

	WCSS             float64  `json:"wcss"`
	CalinskiHarabasz *float64 `json:"calinski_harabasz,omitempty"`
	DaviesBouldin    *float64 `json:"davies_bouldin,omitempty"`
	Silhouette       *float64 `json:"silhouette,omitempty"`
	// SilhouetteCI is the 95% interval of a sampled silhouette; absent
	// when every row was measured.
	SilhouetteCI *[2]float64 `json:"silhouette_ci,omitempty"`
	// SilhouetteRows is how many rows' silhouettes were measured.
	SilhouetteRows int64 `json:"silhouette_rows"`
	// SimplifiedSilhouette measures rows against the segments' means, not
	// their rows: O(rows · segments), and a different number.
	SimplifiedSilhouette *float64 `json:"simplified_silhouette,omitempty"`

	PerSegment []SegmentReport `json:"segments"`
	Notes      []string        `json:"notes,omitempty"`

	// Stability is the refits' on resamples, when asked for.
	Stability *StabilityReport `json:"stability,omitempty"`
	// Holdout compares the rows fitted with the rows kept out, when the
	// job kept some out; the rest of the report is then the fitted rows'.
	Holdout *HoldoutReport `json:"holdout,omitempty"`
}

// SegmentReport is one segment's part of a Report.
type SegmentReport struct {
	Segment int   `json:"segment"`
	Size    int64 `json:"size"`
	// Silhouette is the mean over the segment's measured rows, and
	// NegativeShare the share of them below 0 (rows closer to another
	// segment than to their own).
	Silhouette    *float64 `json:"silhouette,omitempty"`
	NegativeShare *float64 `json:"negative_share,omitempty"`
	Measured      int64    `json:"measured"`
}

// Phases, in order.
const (
	phaseSegments  = "segments"
	phaseSpread    = "spread"
	phaseDistances = "distances"
	phaseDone      = "done"
)

// state is everything between two steps; it is the checkpoint.
type state struct {
	Config Config               `json:"config"`
	Ref    *algorithms.ModelRef `json:"ref"`
	K      int                  `json:"k"`
	Dims   int                  `json:"dims"`
	Rows   int64                `json:"rows"`
	Phase  string               `json:"phase"`

	Counts []int64      `json:"counts,omitempty"`
	Noise  int64        `json:"noise,omitempty"`
	Means  [][]float64  `json:"means,omitempty"`
	Frac   []float64    `json:"frac,omitempty"`
	Spread *spreadTotal `json:"spread,omitempty"`
	// Measured are the rows whose silhouettes are measured, Dims values
	// each, with their segments; Sums their distance sums by segment, up
	// to Done rows.
	Measured []float32 `json:"measured,omitempty"`
	Labels   []int32   `json:"labels,omitempty"`
	Sums     []float64 `json:"sums,omitempty"`
	Done     int       `json:"done,omitempty"`
	// Half: every row is measured, so each pair is measured once (see
	// halfPlan), with Parts (per partition: id, first measured row, rows)
	// and Token naming this attempt; Restarts counts the attempts whose
	// partitions lost what they kept.
	Half     bool    `json:"half,omitempty"`
	Parts    []int64 `json:"parts,omitempty"`
	Token    uint64  `json:"token,omitempty"`
	Restarts int     `json:"restarts,omitempty"`
	Report   *Report `json:"report,omitempty"`
}

type spreadTotal struct {
	Sq, Dist       []float64
	Simplified     float64
	SimplifiedRows int64
}

// Program evaluates a model over a dataset as a sequence of steps.
type Program struct{ s state }

var _ algorithms.Program = (*Program)(nil)

// New starts an evaluation of a model of k segments, fitted by the named
// algorithm, over a dataset of rows × dims.
func New(cfg Config, algorithm string, m algorithms.Model, rows int64, dims int) (*Program, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := m.Describe()
	if d.Segments < 1 || d.Dims != dims {
		return nil, fmt.Errorf("a model of %d segments over %d dims for data of %d dims", d.Segments, d.Dims, dims)
	}
	ref, err := algorithms.NewModelRef(algorithm, m)
	if err != nil {
		return nil, err
	}
	return &Program{s: state{Config: cfg, Ref: ref, K: d.Segments, Dims: dims, Rows: rows, Phase: phaseSegments}}, nil
}

// Resume continues from a checkpoint.
func Resume(checkpoint []byte) (*Program, error) {
	var s state
	if err := json.Unmarshal(checkpoint, &s); err != nil {
		return nil, fmt.Errorf("evaluation checkpoint: %w", err)
	}
	if s.Ref == nil || s.K < 1 || s.Dims < 1 {
		return nil, errors.New("evaluation checkpoint: no model")
	}
	return &Program{s: s}, nil
}

// Checkpoint implements algorithms.Program.
func (p *Program) Checkpoint() ([]byte, error) { return json.Marshal(&p.s) }

// Progress implements algorithms.Program: the phase, and in the distances
// phase the measured rows done.
func (p *Program) Progress() algorithms.Progress {
	return algorithms.Progress{Phase: "evaluate " + p.s.Phase, Iteration: p.s.Done}
}

// Report is the evaluation's outcome, once Next has said done.
func (p *Program) Report() (*Report, error) {
	if p.s.Phase != phaseDone || p.s.Report == nil {
		return nil, errors.New("the evaluation has not finished")
	}
	return p.s.Report, nil
}

// Next implements algorithms.Program.
func (p *Program) Next() (algorithms.Step, bool, error) {
	s := &p.s
	switch s.Phase {
	case phaseSegments:
		return &segmentsStep{Ref: s.Ref, K: s.K, Dims: s.Dims}, false, nil
	case phaseSpread:
		return &spreadStep{Ref: s.Ref, Dims: s.Dims, Means: s.Means, Frac: s.Frac, Seed: s.Config.Seed, Distance: s.Config.Distance}, false, nil
	case phaseDistances:
		e := len(s.Labels)
		hi := min(s.Done+s.Config.Batch, e)
		step := &distancesStep{Ref: s.Ref, K: s.K, Dims: s.Dims, Rows: s.Measured[s.Done*s.Dims : hi*s.Dims], Distance: s.Config.Distance}
		if s.Half {
			step.Half = &halfPlan{Token: s.Token, Lo: s.Done, Labels: s.Labels[s.Done:hi], Parts: s.Parts}
		}
		return step, false, nil
	case phaseDone:
		return nil, true, nil
	}
	return nil, false, fmt.Errorf("evaluation: unknown phase %q", s.Phase)
}

// Update implements algorithms.Program.
func (p *Program) Update(merged algorithms.Partial) error {
	s := &p.s
	switch s.Phase {
	case phaseSegments:
		m, ok := merged.(*segmentsPartial)
		if !ok || len(m.Counts) != s.K {
			return fmt.Errorf("evaluation segments: got %T", merged)
		}
		s.Counts, s.Noise = m.Counts, m.Noise
		s.Means = make([][]float64, s.K)
		for c, n := range m.Counts {
			if n > 0 {
				s.Means[c] = make([]float64, s.Dims)
				for j := range s.Means[c] {
					s.Means[c][j] = m.Sums[c*s.Dims+j] / float64(n)
				}
			}
		}
		s.Frac = sampleShares(s.Counts, s.Config)
		s.Phase = phaseSpread
	case phaseSpread:
		m, ok := merged.(*spreadPartial)
		if !ok || len(m.Sq) != s.K {
			return fmt.Errorf("evaluation spread: got %T", merged)
		}
		s.Spread = &spreadTotal{Sq: m.Sq, Dist: m.Dist, Simplified: m.Simplified, SimplifiedRows: m.SimplifiedRows}
		s.Measured, s.Labels = m.Rows, m.Labels
		s.Sums = make([]float64, len(s.Labels)*s.K)
		s.Done, s.Phase = 0, phaseDistances
		// Partitions that are not told apart by their ids (blocks made
		// by hand) are measured both ways, which needs nothing kept.
		if s.Parts = partStarts(m.Parts, len(s.Labels)); !sampled(s.Frac) && s.Parts != nil {
			s.Half, s.Token = true, rand.Uint64()
		}
		if len(s.Labels) == 0 || present(s.Counts) < 2 {
			return p.finish()
		}
	case phaseDistances:
		m, ok := merged.(*distancesPartial)
		hi := min(s.Done+s.Config.Batch, len(s.Labels))
		if !ok || m.K != s.K || len(m.Sums) != (hi-s.Done)*s.K {
			return fmt.Errorf("evaluation distances: got %T for rows %d to %d", merged, s.Done, hi)
		}
		if m.Missing > 0 {
			// A partition lost what it kept (loaded again elsewhere, or
			// a step ran twice): the sums from here would not be whole,
			// so the distances start again, to the same bits.
			if !s.Half || s.Restarts >= maxRestarts {
				return fmt.Errorf("evaluation distances: %d partitions lost their kept distance sums at rows %d to %d, %d times running", m.Missing, s.Done, hi, s.Restarts+1)
			}
			s.Restarts++
			s.Token = rand.Uint64()
			clear(s.Sums)
			s.Done = 0
			return nil
		}
		copy(s.Sums[s.Done*s.K:], m.Sums)
		s.Done = hi
		if s.Done == len(s.Labels) {
			return p.finish()
		}
	default:
		return fmt.Errorf("evaluation: update in phase %q", s.Phase)
	}
	return nil
}

// sampleShares is, per segment, the chance that one of its rows is
// measured: 1 for every row up to Config.Exact rows; else a proportional
// share of Config.Sample, at least minStratum rows (or all of a smaller
// segment).
func sampleShares(counts []int64, cfg Config) []float64 {
	var n int64
	for _, c := range counts {
		n += c
	}
	frac := make([]float64, len(counts))
	for c, nc := range counts {
		switch {
		case nc == 0:
		case n <= cfg.Exact:
			frac[c] = 1
		default:
			want := max(float64(cfg.Sample)*float64(nc)/float64(n), minStratum)
			frac[c] = min(1, want/float64(nc))
		}
	}
	return frac
}

// maxRestarts is how many times the halved distances start again after a
// partition lost its kept sums before the evaluation fails.
const maxRestarts = 3

// sampled: some segment's rows are not all measured.
func sampled(frac []float64) bool {
	for _, f := range frac {
		if f > 0 && f < 1 {
			return true
		}
	}
	return false
}

// partStarts turns (id, rows) pairs, in partition order, into (id, first
// row, rows) triples; nil when an id repeats or the rows are not total.
func partStarts(pairs []int64, total int) []int64 {
	out := make([]int64, 0, len(pairs)/2*3)
	seen := map[int64]bool{}
	var at int64
	for i := 0; i+1 < len(pairs); i += 2 {
		if seen[pairs[i]] {
			return nil
		}
		seen[pairs[i]] = true
		out = append(out, pairs[i], at, pairs[i+1])
		at += pairs[i+1]
	}
	if at != int64(total) {
		return nil
	}
	return out
}

func present(counts []int64) int {
	k := 0
	for _, n := range counts {
		if n > 0 {
			k++
		}
	}
	return k
}

// finish works out the report from the passes' totals.
func (p *Program) finish() error {
	s := &p.s
	r := &Report{Noise: s.Noise, Distance: s.Config.Distance, SilhouetteRows: int64(len(s.Labels))}
	for _, n := range s.Counts {
		r.Rows += n
	}
	r.Segments = present(s.Counts)
	if r.Rows > s.Config.Exact && s.Config.Sample >= r.Rows {
		r.Notes = append(r.Notes, fmt.Sprintf("the silhouette sample (%d rows) is no smaller than the %d rows: every row was measured", s.Config.Sample, r.Rows))
	}
	var mean []float64 // of every segmented row
	if r.Rows > 0 {
		mean = make([]float64, s.Dims)
		for c, m := range s.Means {
			for j := range mean {
				if m != nil {
					mean[j] += m[j] * float64(s.Counts[c])
				}
			}
		}
		for j := range mean {
			mean[j] /= float64(r.Rows)
		}
	}
	var between float64
	for c, m := range s.Means {
		if m != nil {
			r.WCSS += s.Spread.Sq[c]
			between += float64(s.Counts[c]) * sqEuclidean(m, mean)
		}
	}
	k, n := int64(r.Segments), r.Rows
	var sil []float64 // each measured row's silhouette, when defined
	if k < 2 || k >= n {
		r.Notes = append(r.Notes, fmt.Sprintf("Calinski-Harabasz, Davies-Bouldin and the silhouette need 2 to rows − 1 segments with rows; there are %d of %d rows", k, n))
	} else {
		ch := 1.0
		if r.WCSS != 0 {
			ch = between * float64(n-k) / (r.WCSS * float64(k-1))
		}
		r.CalinskiHarabasz = &ch
		db := daviesBouldin(s.Means, s.Counts, s.Spread.Dist)
		r.DaviesBouldin = &db
		if s.Spread.SimplifiedRows > 0 {
			v := s.Spread.Simplified / float64(s.Spread.SimplifiedRows)
			r.SimplifiedSilhouette = &v
		}
		sil = p.silhouette(r)
	}
	r.PerSegment = perSegment(s.Counts, s.Labels, sil)
	s.Report, s.Phase = r, phaseDone
	s.Measured, s.Sums = nil, nil
	return nil
}

// daviesBouldin follows scikit-learn: 0 when every scatter or every gap
// between means is 0; a gap of 0 between two segments counts as infinite.
func daviesBouldin(means [][]float64, counts []int64, dist []float64) float64 {
	var idx []int
	for c, m := range means {
		if m != nil {
			idx = append(idx, c)
		}
	}
	scatter := make([]float64, len(idx))
	allZero, gapsZero := true, true
	for i, c := range idx {
		scatter[i] = dist[c] / float64(counts[c])
		allZero = allZero && scatter[i] == 0
	}
	for i, a := range idx {
		for _, b := range idx[i+1:] {
			if sqEuclidean(means[a], means[b]) != 0 {
				gapsZero = false
			}
		}
	}
	if allZero || gapsZero {
		return 0
	}
	var total float64
	for i, a := range idx {
		worst := math.Inf(-1)
		for j, b := range idx {
			if i == j {
				continue
			}
			gap := euclidean(means[a], means[b])
			v := 0.0
			if gap != 0 {
				v = (scatter[i] + scatter[j]) / gap
			}
			worst = max(worst, v)
		}
		total += worst
	}
	return total / float64(len(idx))
}

// rowSilhouettes is each measured row's silhouette, from the summed
// distances.
func (p *Program) rowSilhouettes() []float64 {
	s := &p.s
	out := make([]float64, len(s.Labels))
	for i, c := range s.Labels {
		nc := s.Counts[c]
		if nc <= 1 {
			continue // alone in its segment: 0
		}
		sums := s.Sums[i*s.K : (i+1)*s.K]
		a := sums[c] / float64(nc-1)
		b := math.Inf(1)
		for o, n := range s.Counts {
			if int32(o) != c && n > 0 {
				b = min(b, sums[o]/float64(n))
			}
		}
		out[i] = silhouetteOf(a, b)
	}
	return out
}

// silhouette sets the report's silhouette: the mean over the measured
// rows when every row was, else the stratified estimate and its interval.
// It returns the measured rows' silhouettes.
func (p *Program) silhouette(r *Report) []float64 {
	s := &p.s
	if len(s.Labels) == 0 {
		r.Notes = append(r.Notes, "no row was measured for the silhouette")
		return nil
	}
	r.Silhouette = new(float64)
	sil := p.rowSilhouettes()
	if !sampled(s.Frac) {
		var total float64
		for _, v := range sil {
			total += v
		}
		*r.Silhouette = total / float64(len(sil))
		return sil
	}
	// Stratified: each segment's sample mean weighted by its share of
	// the rows; variance with the finite-population correction.
	k := s.K
	sum, sq, m := make([]float64, k), make([]float64, k), make([]float64, k)
	for i, c := range s.Labels {
		sum[c] += sil[i]
		sq[c] += sil[i] * sil[i]
		m[c]++
	}
	var est, variance float64
	for c, nc := range s.Counts {
		if nc == 0 || m[c] == 0 {
			continue
		}
		w := float64(nc) / float64(r.Rows)
		mean := sum[c] / m[c]
		est += w * mean
		if m[c] > 1 {
			v := (sq[c] - m[c]*mean*mean) / (m[c] - 1)
			variance += w * w * max(v, 0) / m[c] * max(0, 1-m[c]/float64(nc))
		}
	}
	half := 1.959963984540054 * math.Sqrt(variance)
	*r.Silhouette = est
	r.SilhouetteCI = &[2]float64{est - half, est + half}
	r.Notes = append(r.Notes, fmt.Sprintf("silhouette estimated from %d of %d rows, stratified by segment", len(s.Labels), r.Rows))
	return sil
}

// perSegment is each segment's size, mean silhouette and negative share.
func perSegment(counts []int64, labels []int32, sil []float64) []SegmentReport {
	out := make([]SegmentReport, len(counts))
	neg := make([]int64, len(counts))
	sum := make([]float64, len(counts))
	for i, c := range labels {
		out[c].Measured++
		if sil != nil {
			sum[c] += sil[i]
			if sil[i] < 0 {
				neg[c]++
			}
		}
	}
	for c := range out {
		out[c].Segment, out[c].Size = c, counts[c]
		if sil != nil && out[c].Measured > 0 {
			mean, share := sum[c]/float64(out[c].Measured), float64(neg[c])/float64(out[c].Measured)
			out[c].Silhouette, out[c].NegativeShare = &mean, &share
		}
	}
	return out
}
