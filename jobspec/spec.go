package jobspec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/kmeans"
	"github.com/cohort/cohort/partition"
)

// Spec is a whole job. Only data and cluster are required.
type Spec struct {
	Name    string  `yaml:"name"`
	Seed    *uint64 `yaml:"seed"`
	Data    Data    `yaml:"data"`
	Cluster Cluster `yaml:"cluster"`
	Output  Output  `yaml:"output"`
}

// Data names the dataset. Only synthetic sources exist so far.
type Data struct {
	Path          string                   `yaml:"path"`
	ID            string                   `yaml:"id"`
	Synthetic     *partition.SyntheticSpec `yaml:"synthetic"`
	PartitionRows int                      `yaml:"partition_rows"`
}

// Cluster chooses the algorithm and its parameters.
type Cluster struct {
	Algorithm string    `yaml:"algorithm"`
	K         yaml.Node `yaml:"k"`
	MaxIter   int       `yaml:"max_iter"`
	Tol       *float64  `yaml:"tol"`
	Restarts  int       `yaml:"restarts"`
}

// Output is where results are written on the node that runs the client.
type Output struct {
	Dir string `yaml:"dir"`
}

// later lists top-level sections the design defines that this build cannot
// run yet; naming them beats the generic unknown-field error.
var later = []string{"transactions", "prepare", "evaluate"}

// Parse decodes and validates a spec. Unknown fields are errors naming their line.
func Parse(text []byte) (*Spec, error) {
	if len(bytes.TrimSpace(text)) == 0 {
		return nil, errors.New("job spec is empty")
	}
	var raw map[string]yaml.Node
	if err := yaml.Unmarshal(text, &raw); err != nil {
		return nil, fmt.Errorf("job spec: %w", err)
	}
	var spec Spec
	for _, key := range later {
		if n, ok := raw[key]; ok {
			return nil, fmt.Errorf("job spec line %d: %q is not supported by this build yet", n.Line, key)
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("job spec: %w", err)
	}
	if err := spec.validate(); err != nil {
		return nil, err
	}
	return &spec, nil
}

// Load reads and parses a spec file.
func Load(path string) (*Spec, []byte, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read job spec: %w", err)
	}
	s, err := Parse(text)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, text, nil
}

func (s *Spec) validate() error {
	if s.Data.Path != "" {
		return fmt.Errorf("data.path %q: file sources are not supported by this build yet; use data.synthetic", s.Data.Path)
	}
	if s.Data.Synthetic == nil {
		return errors.New("data: give data.synthetic (kind, rows, dims, clusters, spread)")
	}
	if s.Data.Synthetic.Kind == "" {
		s.Data.Synthetic.Kind = "blobs"
	}
	if s.Data.Synthetic.Spread == 0 {
		s.Data.Synthetic.Spread = 1
	}
	if s.Data.Synthetic.Seed == 0 {
		s.Data.Synthetic.Seed = s.JobSeed()
	}
	if err := s.Dataset().Validate(); err != nil {
		return err
	}
	switch strings.ToLower(s.Cluster.Algorithm) {
	case "", "kmeans", "k-means":
		s.Cluster.Algorithm = "kmeans"
	case "dbscan", "hierarchical":
		return fmt.Errorf("cluster.algorithm %q is not supported by this build yet; use kmeans", s.Cluster.Algorithm)
	default:
		return fmt.Errorf("cluster.algorithm %q is unknown; use kmeans, dbscan or hierarchical", s.Cluster.Algorithm)
	}
	if s.Cluster.K.Kind == 0 {
		return errors.New("cluster.k is required")
	}
	if s.Cluster.K.Kind != yaml.ScalarNode {
		return fmt.Errorf("job spec line %d: cluster.k as a range (choosing k automatically) is not supported by this build yet; give a number", s.Cluster.K.Line)
	}
	if _, err := s.k(); err != nil {
		return err
	}
	if s.Cluster.Tol != nil && (*s.Cluster.Tol < 0 || math.IsNaN(*s.Cluster.Tol)) {
		return fmt.Errorf("cluster.tol must be ≥ 0, got %v", *s.Cluster.Tol)
	}
	cfg, err := s.KMeans()
	if err != nil {
		return err
	}
	return cfg.Validate(s.Data.Synthetic.Rows, s.Data.Synthetic.Dims)
}

func (s *Spec) k() (int, error) {
	var k int
	if err := s.Cluster.K.Decode(&k); err != nil {
		return 0, fmt.Errorf("job spec line %d: cluster.k must be a whole number, got %q", s.Cluster.K.Line, s.Cluster.K.Value)
	}
	return k, nil
}

// JobSeed is the seed every random choice derives from; 1 when unset so that
// a spec without a seed is still reproducible.
func (s *Spec) JobSeed() uint64 {
	if s.Seed == nil {
		return 1
	}
	return *s.Seed
}

// Dataset is the partitioned source the job reads.
func (s *Spec) Dataset() partition.Spec {
	return partition.Spec{Synthetic: s.Data.Synthetic, PartitionRows: s.Data.PartitionRows}
}

// KMeans is the algorithm configuration with defaults applied.
func (s *Spec) KMeans() (kmeans.Config, error) {
	k, err := s.k()
	if err != nil {
		return kmeans.Config{}, err
	}
	cfg := kmeans.Config{K: k, MaxIter: s.Cluster.MaxIter, Restarts: s.Cluster.Restarts, Seed: s.JobSeed()}
	if s.Cluster.Tol != nil {
		cfg.Tol = *s.Cluster.Tol
	}
	cfg = cfg.WithDefaults()
	if s.Cluster.Tol != nil {
		cfg.Tol = *s.Cluster.Tol // an explicit 0 means "run to max_iter"
	}
	return cfg, nil
}

// Codec decodes the steps and partials of every algorithm a spec can name.
// Coordinators and workers must be built with the same one.
func Codec() algorithms.Codec { return algorithms.Codecs{"kmeans": kmeans.Codec{}} }
