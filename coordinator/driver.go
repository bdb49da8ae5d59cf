package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/prepare"
	"github.com/cohort/cohort/algorithms/profile"
	"github.com/cohort/cohort/jobspec"
	"github.com/cohort/cohort/partition"
	"github.com/cohort/cohort/results"
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
		fin.Phases, fin.Transactions = res.Phases.times, res.Transactions
		n.log.Printf("job %s succeeded: %s, %d segments after %d iterations %v", id, res.Result.Algorithm, res.Result.Segments, res.Result.Iterations, res.Result.Metrics)
	}
	if _, err := n.apply(cmdFinishJob, fin); err != nil && !errors.Is(err, ErrJobTerminal) {
		n.log.Printf("record end of job %s: %v", id, err)
	}
}

// jobOutcome is what a finished job leaves besides its model:
// for a job over files, the fitted preparation and the rows and features
// it made.
type jobOutcome struct {
	Result   *Result
	Prepared json.RawMessage
	Profiles json.RawMessage
	// A job over a transaction log: what became of its lines.
	Transactions json.RawMessage
	Rows         int64
	Dims         int
	Phases       phaseClock
}

// PhaseTime is the wall time a job spent in one phase.
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

// driveTimed is algorithms.Drive that also gives each step's time to the
// phase the program was in when the step started.
func driveTimed(ctx context.Context, p algorithms.Program, ex algorithms.Executor, clock *phaseClock, after func(algorithms.Progress, []byte) error) error {
	phase := p.Progress().Phase
	return algorithms.Drive(ctx, p, ex, func(pr algorithms.Progress, cp []byte) error {
		clock.add(phase)
		phase = pr.Phase
		if after == nil {
			return nil
		}
		return after(pr, cp)
	})
}

func (n *Node) driveJob(ctx context.Context, job Job, elapsed func() int64) (*jobOutcome, error) {
	spec, err := jobspec.Parse([]byte(job.SpecYAML))
	if err != nil {
		return nil, err
	}
	cfg := spec.Config()
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
	// drop releases a dataset's partitions on the workers, unless the node
	// is stopping (its successor may still use them).
	drop := func(ex *clusterExecutor) {
		dropCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if ctx.Err() == nil {
			ex.drop(dropCtx)
		}
	}

	out := &jobOutcome{}
	out.Phases.start()
	dataset := spec.Dataset()
	var pipeline *prepare.Pipeline
	var pin map[int]string
	if spec.Files() {
		// After a change of leader the preparation is reused if it was
		// committed, or fitted again (and the data shuffled again): it is
		// deterministic, so the dataset, and the k-means checkpoint taken
		// on it, are the same.
		if spec.Shuffles() {
			// A shuffle's parts stay on the workers until the job ends,
			// however it ends: a bucket is built from them whenever it is
			// loaded. Dropping the job's name drops every run's parts,
			// an earlier leader's too.
			parts, err := newClusterExecutor(n, job.ID, partition.Spec{}, 0)
			if err != nil {
				return nil, err
			}
			defer drop(parts)
		}
		var pd *preparedData
		if spec.Transactions != nil {
			pd, err = n.prepareTransactions(jobCtx, job, spec, drop, &out.Phases)
		} else {
			pd, err = n.prepareFiles(jobCtx, job, spec, drop, &out.Phases)
		}
		if err != nil {
			return nil, cancelled(jobCtx, err)
		}
		dataset, pipeline, pin = pd.dataset, pd.pipeline, pd.pin
		if pd.log != nil {
			if out.Transactions, err = json.Marshal(pd.log); err != nil {
				return nil, err
			}
		}
	}
	out.Prepared = dataset.Prepare
	src, err := partition.Open(dataset, partition.Env{Prepare: prepare.Open})
	if err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	out.Rows, out.Dims = src.Rows(), src.Dims()
	if err := cfg.Check(out.Rows, out.Dims); err != nil {
		return nil, err
	}

	var prog algorithms.Fit
	if len(job.Checkpoint) > 0 {
		n.log.Printf("job %s: resuming from checkpoint at step %d (%s, iteration %d)", job.ID, job.Steps, job.Progress.Phase, job.Progress.Iteration)
		prog, err = cfg.Resume(job.Checkpoint)
	} else {
		prog, err = cfg.New(out.Rows, out.Dims)
	}
	if err != nil {
		return nil, err
	}

	ex, err := newClusterExecutor(n, job.ID, dataset, src.NumPartitions())
	if err != nil {
		return nil, err
	}
	ex.pin = pin
	defer drop(ex)
	// Loading (reading, preparing) the partitions is a phase of its own;
	// the first step would otherwise pay it.
	if err := ex.place(jobCtx); err != nil {
		return nil, err
	}
	out.Phases.add("load")

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
	err = driveTimed(jobCtx, prog, ex, &out.Phases, func(p algorithms.Progress, checkpoint []byte) error {
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
	model, err := prog.Model()
	if err != nil {
		return nil, err
	}
	if out.Result, err = newResult(spec.Cluster.Algorithm, model); err != nil {
		return nil, err
	}
	if pipeline != nil {
		// Every customer's segment, written where the partitions are, and
		// the segments' statistics in the data's units.
		step := &results.AssignStep{Algorithm: out.Result.Algorithm, Model: out.Result.Model, Segments: out.Result.Segments,
			Dir: spec.Output.Dir, Format: spec.Output.Format, ID: spec.Data.ID, Columns: pipeline.Columns()}
		merged, err := ex.Run(jobCtx, step)
		if err != nil {
			return nil, fmt.Errorf("assign segments: %w", err)
		}
		out.Phases.add("assign")
		m, ok := merged.(*results.Partial)
		if !ok {
			return nil, fmt.Errorf("assign segments: got %T", merged)
		}
		if m.Rows != out.Rows {
			return nil, fmt.Errorf("assign segments: %d rows assigned of %d", m.Rows, out.Rows)
		}
		if out.Profiles, err = json.Marshal(profile.Build(m.Stats, 5)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// prepareFiles plans a job's files into pieces and fits its preparation
// over their raw rows on the workers. With a data.duplicates rule, the rows
// are first shuffled by customer id, so that each id's rows meet on one
// worker and are folded there into one row (or dropped).
func (n *Node) prepareFiles(ctx context.Context, job Job, spec *jobspec.Spec, drop func(*clusterExecutor), clock *phaseClock) (*preparedData, error) {
	fs, err := n.planFiles(ctx, spec.Data.Path, spec.CSVHints())
	if err != nil {
		return nil, err
	}
	clock.add("plan")
	if len(job.Fitted) > 0 && !spec.Shuffles() {
		// Fitted under an earlier leader: the same files give the same
		// pieces, and the pipeline is what fitting again would give.
		var pl prepare.Pipeline
		if err := json.Unmarshal(job.Fitted, &pl); err != nil {
			return nil, fmt.Errorf("the preparation an earlier leader fitted: %w", err)
		}
		n.log.Printf("job %s: reusing the preparation fitted by an earlier leader", job.ID)
		return &preparedData{dataset: partition.Spec{Files: fs, Prepare: job.Fitted}, pipeline: &pl}, nil
	}
	raw, partitions, schema := partition.Spec{Files: fs}, len(fs.Pieces), fs.Schema
	var pin map[int]string
	var tally *partition.Tally
	rule := spec.Data.Duplicates
	if spec.Shuffles() {
		cfg, _ := spec.PrepareConfig()
		used, err := prepare.Select(fs.Schema, cfg)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(fs.Schema, func(f partition.Field) bool { return f.Name == spec.Data.ID })
		if i < 0 {
			return nil, fmt.Errorf("data.id: %s has no column %q", spec.Data.Path, spec.Data.ID)
		}
		schema = slices.Clone(used)
		if !slices.ContainsFunc(used, func(f partition.Field) bool { return f.Name == spec.Data.ID }) {
			schema = append(schema, fs.Schema[i])
		}
		sh := &partition.ShuffleSpec{ID: shuffleID(job.ID), Buckets: bucketsFor(len(fs.Pieces)), Sources: len(fs.Pieces),
			Kind: prepare.KindDedup, Schema: schema}
		if sh.Params, err = json.Marshal(prepare.DedupParams{ID: spec.Data.ID, Rule: rule}); err != nil {
			return nil, err
		}
		merged, l, err := n.shuffleFiles(ctx, job, spec, fs, partition.FieldNames(schema), &prepare.DedupStep{ID: spec.Data.ID, N: sh.Buckets}, sh.ID, drop, clock)
		if err != nil {
			return nil, err
		}
		raw, partitions, pin, tally = partition.Spec{Shuffle: sh}, sh.Buckets, l, merged.(tallied).ReadTally()
	}
	pl, err := n.fitPreparation(ctx, job, spec, raw, partitions, schema, pin, drop, clock)
	if err != nil {
		return nil, err
	}
	if tally != nil {
		// The rows that could not be read are the files', counted by the
		// shuffle; the preparation saw only the rows that were.
		pl.Rejected, pl.Rejects, pl.DuplicateRule = tally.Rejected, tally.Rejects, rule
	}
	data, err := json.Marshal(pl)
	if err != nil {
		return nil, err
	}
	if !spec.Shuffles() {
		// A shuffled dataset's buckets die with the workers' inboxes, so
		// only a preparation over the files themselves is worth keeping.
		if _, err := n.apply(cmdJobFitted, jobFitted{ID: job.ID, Pipeline: data}); err != nil {
			return nil, fmt.Errorf("record the preparation: %w", err)
		}
	}
	raw.Prepare, raw.Columns = data, nil
	return &preparedData{dataset: raw, pipeline: pl, pin: pin}, nil
}

// fitPreparation fits a job's preparation over the raw rows of a dataset
// (file pieces, or a shuffle's buckets) of the given columns, loaded on
// the workers as raw tables, and writes the rows that could not be read.
// pin, for a shuffle's buckets, is where they are.
func (n *Node) fitPreparation(ctx context.Context, job Job, spec *jobspec.Spec, raw partition.Spec, partitions int, schema []partition.Field,
	pin map[int]string, drop func(*clusterExecutor), clock *phaseClock) (*prepare.Pipeline, error) {
	cfg, scale := spec.PrepareConfig()
	// The workers read only the columns the preparation uses.
	used, err := prepare.Select(schema, cfg)
	if err != nil {
		return nil, err
	}
	names := partition.FieldNames(used)
	cfg.Columns, raw.Columns = names, names
	ex, err := newClusterExecutor(n, job.ID+"/raw", raw, partitions)
	if err != nil {
		return nil, err
	}
	ex.pin = pin
	defer drop(ex)
	if err := ex.place(ctx); err != nil {
		return nil, err
	}
	if raw.Shuffle != nil {
		clock.add("buckets") // each holder merging its buckets' parts
	} else {
		clock.add("read")
	}
	prog := prepare.NewProgram(cfg, scale, used)
	err = driveTimed(ctx, prog, ex, clock, func(p algorithms.Progress, _ []byte) error {
		if n.cfg.OnStep != nil {
			n.cfg.OnStep(job.ID, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", spec.Data.Path, err)
	}
	pl, err := prog.Result()
	if err != nil {
		return nil, err
	}
	if pl.Rejected > 0 && spec.Output.Dir != "" {
		// Every unreadable row, not only the first ones the summary shows.
		step := &results.RejectsStep{Dir: spec.Output.Dir, Offsets: prog.LineOffsets()}
		if _, err := ex.Run(ctx, step); err != nil {
			return nil, fmt.Errorf("write rejects: %w", err)
		}
		clock.add("rejects")
	}
	n.log.Printf("job %s: prepared %d features from %d rows of %s (%d could not be read, %d dropped)",
		job.ID, len(pl.Encoder.Names), pl.Counts.Rows, spec.Data.Path, pl.Rejected, pl.Counts.Dropped)
	return pl, nil
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
