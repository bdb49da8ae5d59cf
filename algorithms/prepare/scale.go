package prepare

import (
	"fmt"
	"math"

	"github.com/cohort/cohort/partition"
)

// Scaling methods.
const (
	ScaleStandard = "standard" // (x − mean) / standard deviation
	ScaleMinMax   = "minmax"   // (x − min) / (max − min), into [0, 1]
	ScaleRobust   = "robust"   // (x − median) / interquartile range
	ScaleNone     = "none"
)

// Scaling puts encoded features on a common scale, so that no feature
// dominates distances by its units alone. It is fitted on the statistics of
// the encoded features (FeatureStats merged over every partition).
type Scaling struct {
	Method string    `json:"method"`
	Center []float64 `json:"center"`
	// Scale divides a centred feature; a feature without spread (one value
	// throughout) gets 1, so it becomes 0 rather than NaN.
	Scale []float64 `json:"scale"`
}

// FitScaling fits method ("" means standard) to the features' statistics.
func FitScaling(method string, stats []ColumnStats) (*Scaling, error) {
	if method == "" {
		method = ScaleStandard
	}
	s := &Scaling{Method: method, Center: make([]float64, len(stats)), Scale: make([]float64, len(stats))}
	for i := range stats {
		st := &stats[i]
		if st.Count == 0 && method != ScaleNone {
			return nil, fmt.Errorf("scale: feature %d has no values", i)
		}
		var c, w float64
		switch method {
		case ScaleStandard:
			c, w = st.Mean, math.Sqrt(st.Variance())
		case ScaleMinMax:
			c, w = st.Min, st.Max-st.Min
		case ScaleRobust:
			c, w = st.Sketch.Quantile(0.5), st.Sketch.Quantile(0.75)-st.Sketch.Quantile(0.25)
		case ScaleNone:
			c, w = 0, 1
		default:
			return nil, fmt.Errorf("prepare.scale %q is unknown (use standard, minmax, robust or none)", method)
		}
		if !(w > 0) || math.IsInf(w, 0) {
			w = 1
		}
		s.Center[i], s.Scale[i] = c, w
	}
	return s, nil
}

// Apply scales one row of features in place.
func (s *Scaling) Apply(row []float64) {
	for i, v := range row {
		row[i] = (v - s.Center[i]) / s.Scale[i]
	}
}

// Invert undoes Apply on one row in place: scaled features back to
// encoded ones.
func (s *Scaling) Invert(row []float64) {
	for i, v := range row {
		row[i] = v*s.Scale[i] + s.Center[i]
	}
}

// FeatureStats computes the statistics of each of width features over rows
// of encoded features (as Encoder.Encode writes them), to be merged across
// partitions and fitted by FitScaling.
func FeatureStats(rows []float64, width int) []ColumnStats {
	return featureStats(rows, width, true)
}

// featureStats is FeatureStats with the quantile sketches left empty
// unless quantiles is set: only robust scaling needs them, and adding
// every value of every feature to a sketch (a logarithm each) was most of
// the pass's time.
func featureStats(rows []float64, width int, quantiles bool) []ColumnStats {
	out := newFeatureStats(width)
	addFeatureStats(out, rows, width, quantiles)
	return out
}

// newFeatureStats is the statistics of width features before any row.
func newFeatureStats(width int) []ColumnStats {
	out := make([]ColumnStats, width)
	for i := range out {
		out[i].Min, out[i].Max = math.Inf(1), math.Inf(-1)
	}
	return out
}

// addFeatureStats adds feature rows to their statistics, in order:
// Welford's update a value at a time. Taking each chunk's moments in two
// passes instead (a sum, then squared deviations) was measured slower,
// 36 against 30 ms for 5M values (bench/RESULTS.md).
func addFeatureStats(out []ColumnStats, rows []float64, width int, quantiles bool) {
	for lo := 0; lo+width <= len(rows); lo += width {
		for j, v := range rows[lo : lo+width] {
			if quantiles {
				out[j].add(v)
			} else {
				out[j].addMoments(v)
			}
		}
	}
}

// balanceOneHot makes a text column weigh in distances like one number
// column, not like as many columns as it has categories: each of a
// column's L one-hot features is scaled down by √L more, so together they
// carry the variance one scaled feature does. Without it, a column of 9
// categories outweighed every number column, and segments split by it
// alone. Scaling "none" is left as asked.
func balanceOneHot(s *Scaling, enc *Encoder) {
	if s.Method == ScaleNone {
		return
	}
	at := 0
	for i := range enc.Inputs {
		in := &enc.Inputs[i]
		n := in.Features()
		if in.Type == partition.Text && n > 1 {
			w := math.Sqrt(float64(n))
			for j := at; j < at+n; j++ {
				s.Scale[j] *= w
			}
		}
		at += n
	}
}
