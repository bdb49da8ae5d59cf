package coordinator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/kmeans"
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
		fin.State, fin.Result = JobSucceeded, res
		n.log.Printf("job %s succeeded: wcss %.6g after %d iterations", id, res.WCSS, res.Iterations)
	}
	if _, err := n.apply(cmdFinishJob, fin); err != nil && !errors.Is(err, ErrJobTerminal) {
		n.log.Printf("record end of job %s: %v", id, err)
	}
}

func (n *Node) driveJob(ctx context.Context, job Job, elapsed func() int64) (*kmeans.Result, error) {
	spec, err := jobspec.Parse([]byte(job.SpecYAML))
	if err != nil {
		return nil, err
	}
	cfg, err := spec.KMeans()
	if err != nil {
		return nil, err
	}
	src, err := partition.Open(spec.Dataset(), nil)
	if err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	workers, err := n.awaitWorkers(ctx, job.ID)
	if err != nil {
		return nil, err
	}
	if _, err := n.apply(cmdStartJob, startJob{ID: job.ID, At: time.Now().UnixNano(), Workers: workers}); err != nil {
		return nil, fmt.Errorf("start job: %w", err)
	}

	var prog *kmeans.Program
	if len(job.Checkpoint) > 0 {
		n.log.Printf("job %s: resuming from checkpoint at step %d (%s, iteration %d)", job.ID, job.Steps, job.Progress.Phase, job.Progress.Iteration)
		prog, err = kmeans.Resume(job.Checkpoint)
	} else {
		prog, err = kmeans.New(cfg, src.Rows(), src.Dims())
	}
	if err != nil {
		return nil, err
	}

	ex, err := newClusterExecutor(n, job.ID, spec.Dataset(), src.NumPartitions())
	if err != nil {
		return nil, err
	}
	defer func() {
		dropCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if ctx.Err() == nil {
			ex.drop(dropCtx)
		}
	}()

	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go n.cancelOnUserCancel(jobCtx, cancel, job.ID)

	// A checkpoint commits while the next steps run: Raft's log write
	// overlaps the workers' passes instead of adding to them. At most one
	// commit is in flight and each is awaited before the next starts, so
	// commits stay in order and a failed one stops the job soon after; a new
	// leader resumes from the last committed checkpoint either way. Steps
	// that end within CheckpointEvery of the last commit are not committed,
	// except the last step of the job, so the job's final progress is
	// recorded.
	var pending func() (any, error)
	await := func() error {
		if pending == nil {
			return nil
		}
		_, err := pending()
		pending = nil
		if errors.Is(err, ErrJobTerminal) {
			return errCancelled
		}
		return err
	}
	steps := job.Steps
	var lastCommit time.Time
	var unsaved *jobProgress
	phase, restart := job.Progress.Phase, job.Progress.Restart
	commit := func(p jobProgress) error {
		if err := await(); err != nil {
			return err
		}
		lastCommit, unsaved = time.Now(), nil
		phase, restart = p.Progress.Phase, p.Progress.Restart
		pending = n.applyAsync(cmdJobProgress, p)
		return nil
	}
	err = algorithms.Drive(jobCtx, prog, ex, func(p algorithms.Progress, checkpoint []byte) error {
		steps++
		if n.cfg.OnStep != nil {
			n.cfg.OnStep(job.ID, p)
		}
		jp := jobProgress{ID: job.ID, Progress: p, Checkpoint: checkpoint, RunNanos: elapsed(), Steps: steps}
		// A new phase commits at once, so watchers see it when it starts.
		if time.Since(lastCommit) < n.cfg.CheckpointEvery && p.Phase == phase && p.Restart == restart {
			unsaved = &jp
			return nil
		}
		return commit(jp)
	})
	if err == nil && unsaved != nil {
		err = commit(*unsaved)
	}
	if werr := await(); err == nil {
		err = werr
	}
	if cause := context.Cause(jobCtx); errors.Is(cause, errCancelled) {
		return nil, errCancelled
	}
	if err != nil {
		return nil, err
	}
	res, err := prog.Result()
	if err != nil {
		return nil, err
	}
	return &res, nil
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
