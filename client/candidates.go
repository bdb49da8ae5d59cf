package client

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/cohort/cohort/algorithms/choose"
)

// elbowWidth is the columns the WCSS bars take at most.
const elbowWidth = 40

// writeCandidates prints the candidates of a choice of k, the chosen one
// marked, with WCSS drawn as bars so the elbow shows in a terminal.
func writeCandidates(w io.Writer, e *choose.Report) error {
	if len(e.Candidates) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nchoosing k by %s: k=%d\n", strings.ReplaceAll(e.Rule, "_", "-"), e.ChosenK)
	most := 0.0
	for _, c := range e.Candidates {
		most = math.Max(most, c.WCSS)
	}
	stable := false
	for _, c := range e.Candidates {
		stable = stable || c.Stability != nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "  \tk\tsilhouette\tCalinski-Harabasz\tDavies-Bouldin\t"
	if stable {
		head += "prediction strength\tARI\t"
	}
	fmt.Fprintln(tw, head+"WCSS\t")
	num := func(v *float64, f string) string {
		if v == nil {
			return "—"
		}
		return fmt.Sprintf(f, *v)
	}
	for _, c := range e.Candidates {
		mark := ""
		if c.Chosen {
			mark = "→"
		}
		sil := num(c.Silhouette, "%.4f")
		if ci := c.SilhouetteCI; ci != nil && c.Silhouette != nil {
			sil += fmt.Sprintf(" ±%.4f", (ci[1]-ci[0])/2)
		}
		bar := ""
		if most > 0 {
			bar = strings.Repeat("█", int(math.Round(c.WCSS/most*elbowWidth)))
		}
		stab := ""
		if stable {
			var ps, ari *float64
			if c.Stability != nil {
				ps, ari = c.Stability.PredictionStrength, c.Stability.AdjustedRand
			}
			stab = num(ps, "%.3f") + "\t" + num(ari, "%.3f") + "\t"
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s%.6g\t%s\n", mark, c.K, sil, num(c.CalinskiHarabasz, "%.6g"), num(c.DaviesBouldin, "%.4f"), stab, c.WCSS, bar)
	}
	return tw.Flush()
}
