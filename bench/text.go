package bench

import (
	"fmt"
	"io"
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
