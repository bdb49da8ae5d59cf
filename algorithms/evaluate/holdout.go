package evaluate

import (
	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

// holdoutSalt keeps a holdout's draw apart from the other draws a job
// makes from its seed.
const holdoutSalt = 0x9b05688c2b3e6c1f

// Holdout is the share of rows a job keeps out of its fit, drawn from
// the job's seed: the same rows for the same data and partitions on any
// number of workers. Its Complementary is the rows fitted.
func Holdout(seed uint64, fraction float64) algorithms.Subset {
	return algorithms.Subset{Seed: partition.Mix64(seed ^ holdoutSalt), Fraction: fraction}
}

// HoldoutReport sets the rows fitted and the rows held out side by side,
// each evaluated on its own (a side's silhouette is over its rows only).
type HoldoutReport struct {
	Fraction float64     `json:"fraction"`
	Fitted   HoldoutSide `json:"fitted"`
	HeldOut  HoldoutSide `json:"held_out"`
}

// HoldoutSide is one side's scores: what a model that generalises keeps
// about the same on rows it never saw.
type HoldoutSide struct {
	Rows             int64       `json:"rows"`
	Silhouette       *float64    `json:"silhouette,omitempty"`
	SilhouetteCI     *[2]float64 `json:"silhouette_ci,omitempty"`
	WCSSPerRow       *float64    `json:"wcss_per_row,omitempty"`
	CalinskiHarabasz *float64    `json:"calinski_harabasz,omitempty"`
	DaviesBouldin    *float64    `json:"davies_bouldin,omitempty"`
	// Shares are each segment's share of the side's rows in a segment.
	Shares []float64 `json:"shares"`
}

// NewHoldoutReport compares the evaluations of the two sides, of the
// same model.
func NewHoldoutReport(fraction float64, fitted, heldOut *Report) *HoldoutReport {
	return &HoldoutReport{Fraction: fraction, Fitted: sideOf(fitted), HeldOut: sideOf(heldOut)}
}

func sideOf(r *Report) HoldoutSide {
	s := HoldoutSide{Rows: r.Rows, Silhouette: r.Silhouette, SilhouetteCI: r.SilhouetteCI,
		CalinskiHarabasz: r.CalinskiHarabasz, DaviesBouldin: r.DaviesBouldin}
	var in int64
	for _, g := range r.PerSegment {
		in += g.Size
	}
	if in > 0 {
		w := r.WCSS / float64(in)
		s.WCSSPerRow = &w
	}
	s.Shares = make([]float64, len(r.PerSegment))
	for i, g := range r.PerSegment {
		if in > 0 {
			s.Shares[i] = float64(g.Size) / float64(in)
		}
	}
	return s
}
