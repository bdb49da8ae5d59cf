package prepare

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

// PCA asks for principal components of the scaled features: a count of
// them, or the share of the variance to keep.
type PCA struct {
	Components int     `json:"components,omitempty"`
	Variance   float64 `json:"variance,omitempty"`
}

func (p *PCA) check() error {
	switch {
	case p.Components < 0 || p.Variance < 0 || p.Variance >= 1 || math.IsNaN(p.Variance):
		return fmt.Errorf("prepare.pca.components must be a count of components or a share of the variance below 1, got %v", max(float64(p.Components), p.Variance))
	case p.Components == 0 && p.Variance == 0:
		return errors.New("prepare.pca.components is required")
	}
	return nil
}

// Projection is the fitted PCA: scaled features minus Mean, times each
// component (rows of Components), and the share of the variance each
// explains, largest first.
type Projection struct {
	Mean       []float64   `json:"mean"`
	Components [][]float64 `json:"components"`
	Explained  []float64   `json:"explained"`
}

// Apply writes the projection of row (scaled features) to out.
func (p *Projection) Apply(row, out []float64) {
	for c, comp := range p.Components {
		var s float64
		for j, v := range row {
			s += (v - p.Mean[j]) * comp[j]
		}
		out[c] = s
	}
}

// covStep sums, over a partition's prepared (scaled) features, the values
// and their pairwise products: what the covariance is made of.
type covStep struct {
	Encoder *Encoder `json:"encoder"`
	Scaling *Scaling `json:"scaling"`
}

const kindCovariance = "prepare/covariance"

func (s *covStep) Kind() string                   { return kindCovariance }
func (s *covStep) MarshalBinary() ([]byte, error) { return json.Marshal(s) }

func (s *covStep) Map(b *partition.Block) (algorithms.Partial, error) {
	if b.Table == nil {
		return nil, fmt.Errorf("partition %d has no table to prepare", b.ID)
	}
	pl := Pipeline{Encoder: s.Encoder, Scaling: s.Scaling}
	bound, err := s.Encoder.Bind(b.Table)
	if err != nil {
		return nil, fmt.Errorf("partition %d: %w", b.ID, err)
	}
	w := len(s.Encoder.Names)
	p := &covPartial{Sum: make([]float64, w), Prod: make([]float64, w*w)}
	var kept []int // reused, as the features' buffer is
	eachChunk(b.Table.Rows, func(lo, hi int, buf []float64) ([]float64, Counts) {
		var rows []float64
		var cnt Counts
		rows, kept, cnt = pl.features(bound, lo, hi, buf, kept[:0])
		return rows, cnt
	}, func(rows []float64) {
		for lo := 0; lo+w <= len(rows); lo += w {
			r := rows[lo : lo+w]
			p.N++
			for i, x := range r {
				p.Sum[i] += x
				prod := p.Prod[i*w : i*w+w]
				for j := i; j < w; j++ {
					prod[j] += x * r[j]
				}
			}
		}
	})
	return p, nil
}

// covPartial is the count, sums and upper triangle of the products'
// sums of the features.
type covPartial struct {
	N    int64     `json:"n"`
	Sum  []float64 `json:"sum"`
	Prod []float64 `json:"prod"`
}

func (p *covPartial) Merge(next algorithms.Partial) error {
	n, ok := next.(*covPartial)
	if !ok || len(n.Sum) != len(p.Sum) || len(n.Prod) != len(p.Prod) {
		return errors.New("merge mismatched covariance partials")
	}
	p.N += n.N
	for i, v := range n.Sum {
		p.Sum[i] += v
	}
	for i, v := range n.Prod {
		p.Prod[i] += v
	}
	return nil
}

func (p *covPartial) MarshalBinary() ([]byte, error) { return json.Marshal(p) }

// fitPCA finds the principal components of the covariance the partial
// describes, with gonum's symmetric eigendecomposition, and keeps as many
// as cfg asks. Each component's sign is fixed (its largest entry positive)
// so that the same data gives the same projection.
func fitPCA(p *covPartial, cfg PCA) (*Projection, error) {
	w := len(p.Sum)
	if p.N < 2 {
		return nil, fmt.Errorf("pca: %d rows, need at least 2", p.N)
	}
	n := float64(p.N)
	mean := make([]float64, w)
	for i, s := range p.Sum {
		mean[i] = s / n
	}
	cov := mat.NewSymDense(w, nil)
	for i := range w {
		for j := i; j < w; j++ {
			cov.SetSym(i, j, (p.Prod[i*w+j]-n*mean[i]*mean[j])/(n-1))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(cov, true) {
		return nil, errors.New("pca: the covariance's eigendecomposition did not converge")
	}
	values := eig.Values(nil)
	var vectors mat.Dense
	eig.VectorsTo(&vectors)
	order := make([]int, w)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return -cmp.Compare(values[a], values[b]) })
	var total float64
	for _, v := range values {
		total += max(v, 0)
	}
	if !(total > 0) {
		return nil, errors.New("pca: the features have no variance")
	}
	keep := cfg.Components
	if keep == 0 {
		var acc float64
		for keep < w && acc < cfg.Variance*total {
			acc += max(values[order[keep]], 0)
			keep++
		}
	}
	if keep > w {
		return nil, fmt.Errorf("prepare.pca.components is %d, but there are only %d features", keep, w)
	}
	proj := &Projection{Mean: mean}
	for _, k := range order[:keep] {
		comp := make([]float64, w)
		big := 0
		for j := range w {
			comp[j] = vectors.At(j, k)
			if math.Abs(comp[j]) > math.Abs(comp[big]) {
				big = j
			}
		}
		if comp[big] < 0 {
			for j := range comp {
				comp[j] = -comp[j]
			}
		}
		proj.Components = append(proj.Components, comp)
		proj.Explained = append(proj.Explained, max(values[k], 0)/total)
	}
	return proj, nil
}
