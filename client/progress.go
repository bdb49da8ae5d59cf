package client

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	pb "github.com/cohort/cohort/proto"
)

// Bar draws a job's progress: iterations against max_iter, with the phase,
// restart, objective (WCSS) and centroid shift of the last iteration.
type Bar struct {
	bar *progressbar.ProgressBar
	max int
}

// NewBar draws on w, normally stderr so that stdout stays parseable.
func NewBar(w io.Writer) *Bar {
	return &Bar{bar: progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)}
}

// Update redraws the bar for a job state.
func (b *Bar) Update(j *pb.Job) {
	if m := int(j.MaxIter); m > 0 && m != b.max {
		b.max = m
		b.bar.ChangeMax(m)
	}
	desc := fmt.Sprintf("%-9s", j.Phase)
	if j.Restart > 0 {
		desc += fmt.Sprintf(" restart %d", j.Restart+1)
	}
	if j.Objective != 0 {
		desc += fmt.Sprintf(" wcss %.6g shift %.3g", j.Objective, j.Shift)
	}
	b.bar.Describe(desc)
	_ = b.bar.Set(int(j.Iteration))
	if Terminal(j) {
		_ = b.bar.Finish()
	}
}
