package evaluate

import (
	"fmt"
	"math"
)

// Distances a silhouette can be measured with.
const (
	Euclidean = "euclidean"
	Manhattan = "manhattan"
)

// Defaults: scikit-learn's exact silhouette is quadratic in memory past
// ~100k rows, and a sample of 20k rows gives a 95% interval of about
// ±0.005 on customer data.
const (
	DefaultExact  = 50_000
	DefaultSample = 20_000
	// AllRows, as Exact, measures every row whatever the size.
	AllRows = math.MaxInt64
	// minStratum is the least a segment contributes to a sample (all its
	// rows, if it has fewer).
	minStratum = 100
	// defaultBatch is how many measured rows one distances step carries.
	defaultBatch = 2048
)

// Config is what an evaluation measures.
type Config struct {
	// Distance is the silhouette's: Euclidean (the default) or Manhattan.
	// WCSS, Calinski-Harabasz and Davies-Bouldin are Euclidean by
	// definition.
	Distance string `json:"distance,omitempty"`
	// Exact: datasets of at most this many rows have every row's
	// silhouette measured (default DefaultExact; AllRows for any size).
	Exact int64 `json:"exact,omitempty"`
	// Sample is about how many rows are measured past Exact (default
	// DefaultSample).
	Sample int64 `json:"sample,omitempty"`
	// Seed draws the sample.
	Seed uint64 `json:"seed,omitempty"`
	// Batch is how many measured rows a distances step carries (default
	// defaultBatch).
	Batch int `json:"batch,omitempty"`
}

// WithDefaults fills what is unset.
func (c Config) WithDefaults() Config {
	if c.Distance == "" {
		c.Distance = Euclidean
	}
	if c.Exact == 0 {
		c.Exact = DefaultExact
	}
	if c.Sample == 0 {
		c.Sample = DefaultSample
	}
	if c.Batch == 0 {
		c.Batch = defaultBatch
	}
	return c
}

// Validate names the first problem as a spec would.
func (c Config) Validate() error {
	switch {
	case c.Distance != Euclidean && c.Distance != Manhattan:
		return fmt.Errorf("distance %q is unknown; use %s or %s", c.Distance, Euclidean, Manhattan)
	case c.Exact < 0:
		return fmt.Errorf("exact must be a number of rows ≥ 0 (got %d)", c.Exact)
	case c.Sample < 1:
		return fmt.Errorf("sample must be a number of rows ≥ 1 (got %d)", c.Sample)
	case c.Batch < 1:
		return fmt.Errorf("batch must be ≥ 1 (got %d)", c.Batch)
	}
	return nil
}
