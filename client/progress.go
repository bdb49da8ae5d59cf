package client

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	pb "github.com/cohort/cohort/proto"
)

// Bar shows a job's progress as the algorithm reports it: iterations
// against its max_iter, with the phase, restart, objective and shift of
// the last one (for k-means, WCSS and the largest centroid move); it
// names no algorithm. On a terminal it is a redrawn bar; elsewhere (a log file, CI)
// it prints a plain line at most once a second and at every phase change.
type Bar struct {
	w     io.Writer
	bar   *progressbar.ProgressBar // nil when w is not a terminal
	max   int
	phase string
	last  time.Time
	ended bool
}

// NewBar draws on w, normally stderr so that stdout stays parseable.
func NewBar(w io.Writer) *Bar {
	b := &Bar{w: w}
	if isTerminal(w) {
		b.bar = progressbar.NewOptions(-1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
	}
	return b
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func describeJob(j *pb.Job) string {
	desc := fmt.Sprintf("%-6s", j.Phase)
	if j.Restart > 0 {
		desc += fmt.Sprintf(" restart %d", j.Restart+1)
	}
	switch {
	case j.Phase == "init":
		desc += fmt.Sprintf(" round %d", j.Iteration)
	case j.Iteration > 0 && j.Objective > 0:
		desc += fmt.Sprintf(" iteration %d/%d objective %.6g shift %.3g", j.Iteration, j.MaxIter, j.Objective, j.Shift)
	case j.Iteration > 0: // a pass that trusted its bounds did not measure the objective
		desc += fmt.Sprintf(" iteration %d/%d shift %.3g", j.Iteration, j.MaxIter, j.Shift)
	}
	return desc
}

// Update shows a job state.
func (b *Bar) Update(j *pb.Job) {
	if b.bar == nil {
		now := time.Now()
		if !b.ended && (j.Phase != b.phase || now.Sub(b.last) >= time.Second || Terminal(j)) {
			fmt.Fprintf(b.w, "%s: %s\n", j.Id, describeJob(j))
			b.ended = Terminal(j) || j.Phase == "done"
			b.phase, b.last = j.Phase, now
		}
		return
	}
	if m := int(j.MaxIter); m > 0 && m != b.max {
		b.max = m
		b.bar.ChangeMax(m)
	}
	b.bar.Describe(describeJob(j))
	if j.Phase != "init" && j.Phase != "queued" && j.MaxIter > 0 {
		_ = b.bar.Set(int(j.Iteration))
	}
	if Terminal(j) {
		_ = b.bar.Finish()
	}
}
