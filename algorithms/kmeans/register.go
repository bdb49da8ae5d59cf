package kmeans

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/kernels"
)

// Name is the algorithm's name in specs, results and the step kinds.
const Name = "kmeans"

func init() {
	algorithms.Register(algorithms.Algorithm{
		Name:    Name,
		Summary: "k-means: k-means‖ initialisation, then Lloyd iterations with distance bounds; segments by nearest centroid",
		Params: []algorithms.Param{
			{Name: "k", Doc: "segments to find: a number, or a range {min, max} or list to choose from (cluster.choose: silhouette, elbow, calinski_harabasz, davies_bouldin)"},
			{Name: "max_iter", Default: strconv.Itoa(DefaultMaxIter), Doc: "Lloyd iterations at most, per restart"},
			{Name: "tol", Default: strconv.FormatFloat(DefaultTol, 'g', -1, 64), Doc: "stop once no centroid moves further (Euclidean); 0 runs to max_iter"},
			{Name: "restarts", Default: "1", Doc: "independent runs; the lowest WCSS is kept"},
			{Name: "oversample", Default: "2k", Doc: "k-means‖ candidates drawn per round, expected"},
			{Name: "rounds", Default: strconv.Itoa(DefaultRounds), Doc: "k-means‖ sampling rounds"},
			{Name: "init_sample", Default: "max(" + strconv.Itoa(DefaultInitSample) + ", 256k)", Doc: "rows, drawn uniformly, that k-means‖ initialises on (all: every row); Lloyd uses every row"},
		},
		Configure:   configure,
		Codec:       Codec{},
		DecodeModel: decodeModel,
		Aliases:     []string{"k-means"},
		// Results were k-means results before there was a registry.
		Default: true,
	})
}

// configure reads the cluster section.
func configure(p algorithms.Params, seed uint64) (algorithms.Config, error) {
	ks, err := p.Counts("k")
	if err != nil {
		return nil, err
	}
	base := Config{Seed: seed}
	for _, f := range []struct {
		key string
		v   any
	}{{"max_iter", &base.MaxIter}, {"tol", &base.Tol}, {"restarts", &base.Restarts}, {"oversample", &base.Oversample}, {"rounds", &base.Rounds}} {
		if err := p.Decode(f.key, f.v); err != nil {
			return nil, err
		}
	}
	if p.Has("init_sample") {
		switch n := p.Node("init_sample"); {
		case n.Kind == yaml.ScalarNode && n.Value == "all":
			base.InitSample = AllRows
		case n.Kind == yaml.ScalarNode && n.Tag == "!!int":
			if err := p.Decode("init_sample", &base.InitSample); err != nil {
				return nil, err
			}
			if base.InitSample < 1 {
				return nil, p.Errorf("init_sample", "must be a number of rows ≥ 1, or all (got %d)", base.InitSample)
			}
		default:
			return nil, p.Errorf("init_sample", "must be a number of rows or all, got %q", n.Value)
		}
	}
	var cands []algorithms.Candidate
	for _, k := range ks {
		cfg := base
		cfg.K = k
		cfg = cfg.WithDefaults() // the defaults that scale with k are each k's
		if p.Has("tol") {
			cfg.Tol = base.Tol // an explicit 0 means "run to max_iter"
		}
		c := &config{Config: cfg, params: p}
		// Everything but the data's size can be checked now.
		if err := c.Check(int64(k), 1); err != nil {
			return nil, err
		}
		cands = append(cands, algorithms.Candidate{K: k, Config: c})
	}
	if len(cands) == 1 {
		return cands[0].Config, nil
	}
	return &sweep{cands: cands, params: p}, nil
}

// sweep is a range of k, each candidate a config of its own.
type sweep struct {
	cands  []algorithms.Candidate
	params algorithms.Params
}

func (s *sweep) Candidates() []algorithms.Candidate { return s.cands }

// Check refuses a range reaching past the rows, naming its largest k.
func (s *sweep) Check(rows int64, dims int) error {
	if hi := s.cands[len(s.cands)-1].K; int64(hi) > rows {
		return s.params.Errorf("k", "the largest k, %d, exceeds the number of rows (%d)", hi, rows)
	}
	for _, c := range s.cands {
		if err := c.Config.Check(rows, dims); err != nil {
			return err
		}
	}
	return nil
}

func (s *sweep) MaxIter() int { return s.cands[0].Config.MaxIter() }

func (s *sweep) New(int64, int) (algorithms.Fit, error) { return nil, algorithms.ErrSweep }

func (s *sweep) Resume([]byte) (algorithms.Fit, error) { return nil, algorithms.ErrSweep }

// config is a Config as the registry hands it out, with the spec's
// section kept so that errors found once the data is known name the line.
type config struct {
	Config
	params algorithms.Params
}

func (c *config) Check(rows int64, dims int) error {
	key, err := c.Config.problem(rows, dims)
	switch {
	case err == nil:
		return nil
	case key == "":
		return err
	}
	return c.params.Errorf(key, "%v", err)
}

func (c *config) MaxIter() int { return c.Config.MaxIter }

func (c *config) New(rows int64, dims int) (algorithms.Fit, error) { return New(c.Config, rows, dims) }

func (c *config) Resume(checkpoint []byte) (algorithms.Fit, error) { return Resume(checkpoint) }

// Model implements algorithms.Fit.
func (p *Program) Model() (algorithms.Model, error) {
	r, err := p.Result()
	if err != nil {
		return nil, err
	}
	return NewModel(r)
}

// Model is a fitted k-means: rows go to the nearest centroid.
type Model struct {
	r    Result
	dims int
	once sync.Once
	kc   *kernels.Centroids
}

// NewModel makes a model of a result.
func NewModel(r Result) (*Model, error) {
	if len(r.Centroids) == 0 || len(r.Centroids[0]) == 0 {
		return nil, fmt.Errorf("k-means model: no centroids")
	}
	if err := checkMatrix("centroid", r.Centroids, len(r.Centroids[0])); err != nil {
		return nil, fmt.Errorf("k-means model: %w", err)
	}
	if len(r.Sizes) != len(r.Centroids) {
		return nil, fmt.Errorf("k-means model: %d sizes for %d centroids", len(r.Sizes), len(r.Centroids))
	}
	return &Model{r: r, dims: len(r.Centroids[0])}, nil
}

// decodeModel reads Encode's JSON, which is also how results were stored
// before the registry (a Result).
func decodeModel(data []byte) (algorithms.Model, error) {
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode k-means model: %w", err)
	}
	return NewModel(r)
}

// Result returns the model's result.
func (m *Model) Result() Result { return m.r }

func (m *Model) Encode() ([]byte, error) { return json.Marshal(m.r) }

func (m *Model) Describe() algorithms.Description {
	details, _ := json.Marshal(struct {
		Restart int `json:"restart"`
	}{m.r.Restart})
	return algorithms.Description{
		Segments: len(m.r.Centroids), Dims: m.dims, Sizes: m.r.Sizes, Iterations: m.r.Iterations, Converged: m.r.Converged,
		Metrics: map[string]float64{"wcss": m.r.WCSS}, Centres: m.r.Centroids, Details: details,
	}
}

func (m *Model) Output() algorithms.Output { return algorithms.Output{Score: "distance"} }

// Assign gives each row its nearest centroid and the Euclidean distance
// to it, with the kernels every pass uses, so a row is assigned as the
// final pass counted it.
func (m *Model) Assign(data []float32, rows, stride int, out algorithms.Assigned) error {
	if stride < m.dims {
		return fmt.Errorf("k-means: rows of %d values for a model of %d dims", stride, m.dims)
	}
	m.once.Do(func() { m.kc, _ = centroids32(m.r.Centroids, m.dims) })
	var second [chunkRows]float32
	for lo := 0; lo < rows; lo += chunkRows {
		n := min(chunkRows, rows-lo)
		kernels.Nearest(data[lo*stride:], n, stride, m.kc, out.Segment[lo:lo+n], out.Score[lo:lo+n], second[:n])
		for i := lo; i < lo+n; i++ {
			out.Score[i] = float32(math.Sqrt(float64(out.Score[i])))
		}
	}
	return nil
}

// Settings is the k-means configuration, defaults applied, of a Config
// the registry made; false for another algorithm's.
func Settings(c algorithms.Config) (Config, bool) {
	kc, ok := c.(*config)
	if !ok {
		return Config{}, false
	}
	return kc.Config, true
}
