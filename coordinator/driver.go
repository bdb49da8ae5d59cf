package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cohort/cohort/jobspec"
	"github.com/cohort/cohort/partition"
)

// errCancelled stops a job's drive loop when the user cancels it.
var errCancelled = errors.New("job cancelled")

// runDriver runs jobs one at a time, oldest first, while this node leads.
// Jobs share the workers' cores, so running them in turn finishes the first
// sooner than interleaving would; a later issue may add priorities.
func (n *Node) runDriver(ctx context.Context) {
	for {
		// A job left unfinished by a lost leadership is still the next
		// job: without this check the loop would run it again at once,
		// and again, until the node stopped.
		if ctx.Err() != nil {
			return
		}
		changed := n.fsm.Changed()
		if id := n.nextJob(); id != "" {
			n.runJob(ctx, id)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-time.After(time.Second):
		}
	}
}

// nextJob picks the oldest job that is pending or was running under an
// earlier leader.
func (n *Node) nextJob() string {
	var id string
	n.fsm.Read(func(s *State) {
		for _, jid := range s.Order {
			if j := s.Jobs[jid]; !j.Terminal() {
				id = jid
				return
			}
		}
	})
	return id
}

func (n *Node) runJob(ctx context.Context, id string) {
	job, ok := n.fsm.Job(id)
	if !ok || job.Terminal() {
		return
	}
	runStart := time.Now()
	prior := job.RunNanos
	elapsed := func() int64 { return prior + time.Since(runStart).Nanoseconds() }
	res, err := n.driveJob(ctx, job, elapsed)
	for retries := 0; err != nil && shuffleLost(err) && ctx.Err() == nil && retries < shuffleAttempts; retries++ {
		// A worker holding buckets of the job's shuffle restarted, or the
		// buckets had to move: read and shuffle the data again, and
		// resume from the last committed checkpoint.
		n.log.Printf("job %s: shuffled data lost (%v); running the job again from its last checkpoint", id, err)
		if _, err := n.apply(cmdStagesReset, stagesReset{ID: id, From: stageIntegrate}); err != nil {
			n.log.Printf("job %s: forget the lost shuffle: %v", id, err)
			return
		}
		if job, ok = n.fsm.Job(id); !ok || job.Terminal() {
			return
		}
		res, err = n.driveJob(ctx, job, elapsed)
	}
	if ctx.Err() != nil {
		// Leadership was lost or the node is stopping: the next leader resumes
		// from the last committed checkpoint, so record nothing here.
		return
	}
	fin := finishJob{ID: id, At: time.Now().UnixNano(), RunNanos: elapsed()}
	switch {
	case errors.Is(err, errCancelled):
		return // the cancel command already ended the job
	case err != nil:
		n.log.Printf("job %s failed: %v", id, err)
		fin.State, fin.Error = JobFailed, err.Error()
	default:
		fin.State, fin.Result, fin.Prepared, fin.Profiles, fin.Rows, fin.Dims = JobSucceeded, res.Result, res.Prepared, res.Profiles, res.Rows, res.Dims
		fin.Phases, fin.Transactions, fin.Stages, fin.Evaluation = res.Phases, res.Transactions, res.Stages, res.Evaluation
		n.log.Printf("job %s succeeded: %s, %d segments after %d iterations %v", id, res.Result.Algorithm, res.Result.Segments, res.Result.Iterations, res.Result.Metrics)
	}
	if _, err := n.apply(cmdFinished, fin); err != nil && !errors.Is(err, ErrJobTerminal) {
		n.log.Printf("record end of job %s: %v", id, err)
	}
}

// jobOutcome is what a finished job leaves: its model, and for a job over
// files the fitted preparation, the segments' profiles and the rows and
// features it made.
type jobOutcome struct {
	Result   *Result
	Prepared json.RawMessage
	Profiles json.RawMessage
	// Evaluation is the segmentation's scores, when the spec asked.
	Evaluation json.RawMessage
	// A job over a transaction log: what became of its lines.
	Transactions json.RawMessage
	Rows         int64
	Dims         int
	Phases       []PhaseTime
	Stages       []StageRecord
}

// PhaseTime is the wall time a job spent in one phase: the finer steps of
// its stages (read, load, the algorithm's own phases).
type PhaseTime struct {
	Phase   string  `json:"phase"`
	Seconds float64 `json:"seconds"`
}

// phaseClock adds up wall time by phase, in the order phases first ran.
// A step's time goes to the phase the program was in when it started.
type phaseClock struct {
	times []PhaseTime
	last  time.Time
}

// start begins timing phase.
func (c *phaseClock) start() { c.last = time.Now() }

// add gives the time since the last call (or start) to phase.
func (c *phaseClock) add(phase string) {
	now := time.Now()
	d := now.Sub(c.last).Seconds()
	c.last = now
	for i := range c.times {
		if c.times[i].Phase == phase {
			c.times[i].Seconds += d
			return
		}
	}
	c.times = append(c.times, PhaseTime{Phase: phase, Seconds: d})
}

// driveJob runs a job's stages on this leader.
func (n *Node) driveJob(ctx context.Context, job Job, elapsed func() int64) (*jobOutcome, error) {
	spec, err := jobspec.Parse([]byte(job.SpecYAML))
	if err != nil {
		return nil, err
	}
	workers, err := n.awaitWorkers(ctx, job.ID)
	if err != nil {
		return nil, err
	}
	if _, err := n.apply(cmdStartJob, startJob{ID: job.ID, At: time.Now().UnixNano(), Workers: workers}); err != nil {
		return nil, fmt.Errorf("start job: %w", err)
	}
	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go n.cancelOnUserCancel(jobCtx, cancel, job.ID)

	r := &jobRun{n: n, job: job, spec: spec, ctx: jobCtx, stopping: ctx, elapsed: elapsed}
	defer r.release()
	// Dropping the job's name, last, however the job ends, drops every
	// dataset of the job on the workers and every run of its shuffle: an
	// earlier leader's too, which it left for its successor (its raw
	// tables, say, which this leader may have restored the preparation
	// over). A shuffle's parts stay until then: a bucket is built from
	// them whenever it is loaded.
	if _, err := r.executor(job.ID, partition.Spec{}, 0); err != nil {
		return nil, err
	}
	out, err := r.runStages()
	if cause := context.Cause(jobCtx); errors.Is(cause, errCancelled) {
		return nil, errCancelled
	}
	return out, err
}

// cancelled is errCancelled when the user cancelled the job, whatever
// error that made its step return; otherwise err.
func cancelled(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, errCancelled) {
		return errCancelled
	}
	return err
}

// cancelOnUserCancel stops the job's steps as soon as a cancel is committed,
// rather than at the next step boundary.
func (n *Node) cancelOnUserCancel(ctx context.Context, cancel context.CancelCauseFunc, id string) {
	for {
		changed := n.fsm.Changed()
		if j, ok := n.fsm.Job(id); !ok || j.State == JobCancelled {
			cancel(errCancelled)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// awaitWorkers waits for at least one worker so that a job submitted while
// workers are still starting does not fail needlessly.
func (n *Node) awaitWorkers(ctx context.Context, id string) (int, error) {
	deadline := time.NewTimer(n.cfg.WorkerWait)
	defer deadline.Stop()
	for {
		changed := n.fsm.Changed()
		var count int
		n.fsm.Read(func(s *State) { count = len(s.Workers) })
		if count > 0 {
			return count, nil
		}
		if j, ok := n.fsm.Job(id); !ok || j.Terminal() {
			return 0, errCancelled
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-deadline.C:
			return 0, fmt.Errorf("%w: no worker joined within %s; start one with `cohort worker --coordinator %s`", ErrNoWorkers, n.cfg.WorkerWait, n.GRPCAddr())
		case <-changed:
		}
	}
}
