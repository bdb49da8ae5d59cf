package client

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/cohort/cohort/algorithms/evaluate"
)

// spread is a measure's mean and range over resamples, or a dash.
func spread(s evaluate.Spread) string {
	if s.Mean == nil {
		return "—"
	}
	if *s.Min == *s.Max {
		return fmt.Sprintf("%.3f", *s.Mean)
	}
	return fmt.Sprintf("%.3f (%.3f to %.3f)", *s.Mean, *s.Min, *s.Max)
}

// writeStability prints how the segments survived refitting on
// resamples: overall, then each segment's recovery and prediction
// strength, the unstable ones marked.
func writeStability(w io.Writer, st *evaluate.StabilityReport) error {
	if st == nil {
		return nil
	}
	fmt.Fprintf(w, "\nstability (%d refits, each on %.0f%% of the rows):\n", st.Resamples, 100*st.Fraction)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  adjusted Rand index against the full fit\t%s\t\n", spread(st.AdjustedRand))
	fmt.Fprintf(tw, "  prediction strength (at least %.1f is stable)\t%s\t\n", evaluate.UnstableBelow, spread(st.PredictionStrength))
	if err := tw.Flush(); err != nil {
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "segment\tJaccard\tdissolved\trecovered\tprediction strength\t\t")
	for _, g := range st.Segments {
		mark := ""
		if g.Unstable {
			mark = "unstable"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\t%s\t\n", g.Segment, spread(g.Jaccard), g.Dissolved, g.Recovered, spread(g.PredictionStrength), mark)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range st.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	return nil
}

// writeHoldout prints the rows fitted and the rows held out side by side.
func writeHoldout(w io.Writer, h *evaluate.HoldoutReport) error {
	if h == nil {
		return nil
	}
	fmt.Fprintf(w, "\nheld out (%.0f%% of the rows kept out of the fit, assigned after):\n", 100*h.Fraction)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tfitted\theld out\t")
	num := func(v *float64, f string) string {
		if v == nil {
			return "—"
		}
		return fmt.Sprintf(f, *v)
	}
	row := func(name string, a, b *float64, f string) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", name, num(a, f), num(b, f))
	}
	fmt.Fprintf(tw, "rows\t%d\t%d\t\n", h.Fitted.Rows, h.HeldOut.Rows)
	row("silhouette", h.Fitted.Silhouette, h.HeldOut.Silhouette, "%.4f")
	row("WCSS per row", h.Fitted.WCSSPerRow, h.HeldOut.WCSSPerRow, "%.6g")
	row("Calinski-Harabasz", h.Fitted.CalinskiHarabasz, h.HeldOut.CalinskiHarabasz, "%.6g")
	row("Davies-Bouldin", h.Fitted.DaviesBouldin, h.HeldOut.DaviesBouldin, "%.4f")
	for i := range max(len(h.Fitted.Shares), len(h.HeldOut.Shares)) {
		var a, b *float64
		if i < len(h.Fitted.Shares) {
			a = pct(h.Fitted.Shares[i])
		}
		if i < len(h.HeldOut.Shares) {
			b = pct(h.HeldOut.Shares[i])
		}
		row(fmt.Sprintf("segment %d share", i), a, b, "%.1f%%")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return nil
}

func pct(v float64) *float64 { v *= 100; return &v }
