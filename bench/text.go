package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteText prints the report for a person; --json is the exact contract.
func (r *KMeansReport) WriteText(w io.Writer) error {
	p := &errWriter{w: w}
	p.printf("k-means: %d rows × %d dims, k=%d, %d workers, %d cores\n", r.Rows, r.Dims, r.K, r.Workers, r.Cores)
	p.printf("  %d iterations, median %.4fs per iteration (init %.2fs, total %.2fs)\n", r.Iterations, r.SecondsPerIter, r.InitSeconds, r.TotalSeconds)
	p.printf("  WCSS %.6g, worst true centre off by %.3g spreads\n", r.WCSS, r.MaxCenterError)
	p.printf("  peak resident %.1f MiB, partition data %.1f MiB\n", float64(r.BytesResident)/(1<<20), float64(r.DataBytes)/(1<<20))
	p.printf("  memory read of %.3g GB: %.3g s (%.3g GB/s); iteration / read = %s\n",
		float64(r.MemoryReadBytes)/1e9, r.MemoryReadSeconds, r.MemoryReadGBps, times(r.IterToReadRatio))
	if c := r.Compare; c != nil {
		verdict := times(c.Ratio) + "x faster"
		if c.Ratio < 1 {
			verdict = times(1/c.Ratio) + "x slower"
		}
		p.printf("  Cohort %.4f s/iter, scikit-learn lloyd %.4f s/iter: %s\n", r.SecondsPerIter, c.PeerSecondsPerIter, verdict)
		threads := "unknown"
		if c.PeerThreads != nil {
			threads = fmt.Sprint(*c.PeerThreads)
		}
		p.printf("  (scikit-learn %s, %d iterations, %s threads, inertia %.6g)\n", c.PeerVersion, c.PeerIterations, threads, c.PeerInertia)
	}
	return p.err
}

// times prints a ratio with two significant digits, never in exponent form.
func times(x float64) string {
	if x >= 100 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.2g", x)
}

// errWriter keeps the first write error so a run of prints checks it once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// WriteText prints the e2e report for a person: per format, both sides'
// medians and the ratio, then each side's stages.
func (r *E2EReport) WriteText(w io.Writer) error {
	p := &errWriter{w: w}
	p.printf("e2e: %d rows × %d dims and an id, k=%d, %d workers, %d cores; medians of %d runs\n",
		r.Rows, r.Dims, r.K, r.Workers, r.Cores, r.Repeat)
	c := r.Cohort
	p.printf("cohort: %s init, max_iter %d, tol %g (largest centroid move), %d restart, %s scaling\n",
		c.Init, c.MaxIter, c.Tol, c.Restarts, c.Scale)
	for _, f := range r.Formats {
		p.printf("\n%s (%.1f MB): cohort %.2fs (runs %s, iterations %v)\n", f.Format, float64(f.FileBytes)/1e6,
			f.Cohort.Seconds, runs(f.Cohort.Runs), f.Cohort.Iterations)
		if f.Peer == nil {
			p.printf("  peer skipped: %s\n", f.PeerSkipped)
		} else {
			s := f.PeerInfo
			verdict := "met"
			if *f.Ratio > 0.5 {
				verdict = "missed"
			}
			p.printf("  pandas + scikit-learn %.2fs (runs %s, iterations %v): ratio %.2f, target ≤ 0.5 %s\n",
				f.Peer.Seconds, runs(f.Peer.Runs), f.Peer.Iterations, *f.Ratio, verdict)
			threads := "unknown"
			if s.Threads != nil {
				threads = fmt.Sprint(*s.Threads)
			}
			p.printf("  (peer: %s; %s init, max_iter %d, tol %g of the mean variance, %s threads; objective %.6g vs cohort's %.6g)\n",
				versions(s.Versions), s.Init, s.MaxIter, s.Tol, threads, f.Peer.Objective, f.Cohort.Objective)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  side\tstage\tseconds\tshare\t")
		stages := func(side string, s *E2ESide) {
			for _, st := range s.Stages {
				fmt.Fprintf(tw, "  %s\t%s\t%.3f\t%.0f%%\t\n", side, st.Name, st.Seconds, 100*st.Seconds/s.Seconds)
			}
		}
		stages("cohort", &f.Cohort)
		if f.Peer != nil {
			stages("peer", f.Peer)
		}
		if p.err == nil {
			p.err = tw.Flush()
		}
	}
	return p.err
}

func runs(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, ", ")
}

func versions(v map[string]string) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(v)) {
		parts = append(parts, name+" "+v[name])
	}
	return strings.Join(parts, ", ")
}
