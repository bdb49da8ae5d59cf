package kmeans

import (
	"fmt"
	"math"
)

// Config is a k-means job's algorithm parameters.
type Config struct {
	K          int     `json:"k"`
	MaxIter    int     `json:"max_iter"`
	Tol        float64 `json:"tol"`        // stop once no centroid moves this far (Euclidean); 0 runs to MaxIter
	Restarts   int     `json:"restarts"`   // independent runs; the lowest WCSS is kept
	Seed       uint64  `json:"seed"`       // every random choice derives from it
	Oversample float64 `json:"oversample"` // k-means‖ ℓ, expected candidates per round; default 2K
	Rounds     int     `json:"rounds"`     // k-means‖ sampling rounds; default 5
	// InitSample is about how many rows the k-means‖ passes run on,
	// drawn uniformly; Lloyd runs on every row. 0 (and any number of at
	// least the dataset's rows) is every row.
	InitSample int64 `json:"init_sample,omitempty"`
}

// Defaults, as scikit-learn's (max_iter, tol scale aside) and Spark's (rounds).
const (
	DefaultMaxIter = 100
	DefaultTol     = 1e-4
	DefaultRounds  = 5
	// DefaultInitSample: k-means‖ draws about Oversample·Rounds (10·k)
	// candidates and reduces them to k, so a uniform quarter of a million
	// rows, or 256 a centre if that is more (Faiss trains k-means itself
	// on 256 a centre), seeds as well as a hundred million, for a
	// fraction of the passes. AllRows asks for every row.
	DefaultInitSample = 1 << 18
	initSamplePerK    = 256
	AllRows           = math.MaxInt64
)

// initFrac is the share of rows in the initialisation sample, 1 for all.
func (c Config) initFrac(rows int64) float64 {
	if c.InitSample <= 0 || c.InitSample >= rows {
		return 1
	}
	return float64(c.InitSample) / float64(rows)
}

// maxTable bounds K × dims: the centroid table travels in every step.
const maxTable = 1 << 26

// WithDefaults fills unset fields. Tol 0 becomes the default, so a caller
// meaning "run to MaxIter" sets Tol = 0 after calling it.
func (c Config) WithDefaults() Config {
	if c.MaxIter == 0 {
		c.MaxIter = DefaultMaxIter
	}
	if c.Tol == 0 {
		c.Tol = DefaultTol
	}
	if c.Restarts == 0 {
		c.Restarts = 1
	}
	if c.Oversample == 0 {
		c.Oversample = 2 * float64(c.K)
	}
	if c.Rounds == 0 {
		c.Rounds = DefaultRounds
	}
	if c.InitSample == 0 {
		c.InitSample = max(DefaultInitSample, initSamplePerK*int64(c.K))
	}
	return c
}

// Validate reports the first problem, naming the parameter as a spec does.
func (c Config) Validate(rows int64, dims int) error {
	key, err := c.problem(rows, dims)
	if err != nil && key != "" {
		return fmt.Errorf("%s %w", key, err)
	}
	return err
}

// problem is the first problem and the parameter it is about ("" when it
// is the data's).
func (c Config) problem(rows int64, dims int) (string, error) {
	switch {
	case c.K < 1:
		return "k", fmt.Errorf("must be at least 1 (got %d)", c.K)
	case rows < 1:
		return "", fmt.Errorf("the dataset has no rows")
	case int64(c.K) > rows:
		return "k", fmt.Errorf("%d exceeds the number of rows (%d)", c.K, rows)
	case dims < 1:
		return "", fmt.Errorf("dims must be at least 1 (got %d)", dims)
	case int64(c.K)*int64(dims) > maxTable:
		return "k", fmt.Errorf("%d × dims %d exceeds the limit of %d centroid values", c.K, dims, maxTable)
	case c.MaxIter < 1:
		return "max_iter", fmt.Errorf("must be at least 1 (got %d)", c.MaxIter)
	case c.Restarts < 1:
		return "restarts", fmt.Errorf("must be at least 1 (got %d)", c.Restarts)
	case c.Tol < 0 || math.IsNaN(c.Tol) || math.IsInf(c.Tol, 0):
		return "tol", fmt.Errorf("must be a finite number ≥ 0 (got %v)", c.Tol)
	case c.Oversample < 0 || math.IsNaN(c.Oversample) || math.IsInf(c.Oversample, 0):
		return "oversample", fmt.Errorf("must be a finite number ≥ 0 (got %v)", c.Oversample)
	case c.Rounds < 0:
		return "rounds", fmt.Errorf("must be ≥ 0 (got %d)", c.Rounds)
	case c.InitSample < 0 || c.InitSample > 0 && c.InitSample < int64(c.K):
		return "init_sample", fmt.Errorf("must be at least k (%d) rows, or all (got %d)", c.K, c.InitSample)
	}
	return "", nil
}
