package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/choose"
	"github.com/cohort/cohort/algorithms/evaluate"
	"github.com/cohort/cohort/algorithms/features"
	"github.com/cohort/cohort/algorithms/prepare"
	"github.com/cohort/cohort/failpoint"
	"github.com/cohort/cohort/jobspec"
	"github.com/cohort/cohort/partition"
)

// A job runs as a pipeline of stages (doc.go): each reads what earlier
// stages left in the jobRun and leaves its own output there, and each
// output is committed to the Raft log (cmdStageDone) as the stage ends. A
// new leader restores the committed outputs instead of running those
// stages again, and runs the rest: it resumes at the last committed stage.
type stage struct {
	name string
	// applies says whether the job has this stage (a synthetic dataset is
	// not planned or prepared).
	applies func(r *jobRun) bool
	run     func(r *jobRun) error
	// output is what to commit once run has succeeded; restore puts a
	// committed output back into the run.
	output  func(r *jobRun) (any, error)
	restore func(r *jobRun, data json.RawMessage) error
}

// Stage names, as the log, the summary and failpoint events know them.
const (
	stagePlan      = "plan"
	stageIntegrate = "integrate"
	stagePrepare   = "prepare"
	stageCluster   = "cluster"
	stageEvaluate  = "evaluate"
	stageAssign    = "assign"
)

// stages, in order; registering the model is the job's end (cmdFinished).
var stages = []stage{
	{name: stagePlan, applies: (*jobRun).files, run: (*jobRun).plan, output: (*jobRun).planOutput, restore: (*jobRun).restorePlan},
	{name: stageIntegrate, applies: (*jobRun).shuffles, run: (*jobRun).integrate, output: (*jobRun).integrateOutput, restore: (*jobRun).restoreIntegrate},
	{name: stagePrepare, applies: (*jobRun).files, run: (*jobRun).prepare, output: (*jobRun).prepareOutput, restore: (*jobRun).restorePrepare},
	{name: stageCluster, applies: always, run: (*jobRun).cluster, output: (*jobRun).clusterOutput, restore: (*jobRun).restoreCluster},
	{name: stageEvaluate, applies: (*jobRun).evaluates, run: (*jobRun).evaluate, output: (*jobRun).evaluateOutput, restore: (*jobRun).restoreEvaluate},
	{name: stageAssign, applies: (*jobRun).assigns, run: (*jobRun).assign, output: (*jobRun).assignOutput, restore: (*jobRun).restoreAssign},
}

func always(*jobRun) bool { return true }

// jobRun is one run of a job on this leader: the stages' inputs and
// outputs, and what the run holds on the workers.
type jobRun struct {
	n    *Node
	job  Job // as committed when the run began
	spec *jobspec.Spec
	// ctx is the job's: ended by a user's cancel, a lost leadership or
	// the node stopping. stopping is the leadership's: once it ends, the
	// run leaves what it holds on the workers for the next leader.
	ctx, stopping context.Context
	clock         phaseClock
	elapsed       func() int64 // the job's run time, over leaders
	read          atomic.Int64 // bytes read from the data's source, all stages
	held          []*clusterExecutor

	// plan
	fileSet *partition.FileSet
	// labelFiles are the pieces of a file of labels to join (nil: none).
	labelFiles *partition.FileSet
	// integrate: a shuffle's buckets, where they are, what reading the
	// files found, and for a transaction log what became of its lines.
	shuffle *partition.ShuffleSpec
	pin     map[int]string
	tally   *partition.Tally
	log     *features.LogSummary
	// prepare: the pipeline, and whether the raw tables stay in the
	// workers' memory (rawEx, until the features are made from them).
	pipeline *prepare.Pipeline
	prepared json.RawMessage
	keep     bool
	consume  bool // the raw tables are made into features and let go
	rawEx    *clusterExecutor
	// cluster
	rows int64
	dims int
	ex   *clusterExecutor // the algorithm's dataset, once loaded
	res  *Result
	// evaluate
	evaluation json.RawMessage
	// assign
	profiles json.RawMessage
	// records are the stages' ends, committed or restored, in order;
	// note is what the running stage has to say in its record.
	records []StageRecord
	note    string
}

// StageRecord is a finished stage of a job: its committed output, its
// wall time and what it read from the data's source.
type StageRecord struct {
	Name      string          `json:"name"`
	Output    json.RawMessage `json:"output,omitempty"`
	Seconds   float64         `json:"seconds"`
	BytesRead int64           `json:"bytes_read"`
	Note      string          `json:"note,omitempty"`
}

func (r *jobRun) files() bool { return r.spec.Files() }

// assigns: a job over files writes each customer's segment, unless the
// segments came with the data (labels scored, not fitted).
func (r *jobRun) assigns() bool {
	_, given := r.spec.Labels()
	return r.spec.Files() && !given
}
func (r *jobRun) evaluates() bool {
	_, holds := r.spec.Holdout()
	return r.spec.Evaluate != nil && (!r.spec.Chooses() || holds)
}
func (r *jobRun) shuffles() bool { return r.spec.Shuffles() }

// runStages runs the job's stages, restoring those an earlier leader
// committed, and returns what the job's end records.
func (r *jobRun) runStages() (*jobOutcome, error) {
	done := map[string]StageRecord{}
	for _, rec := range r.job.Stages {
		done[rec.Name] = rec
	}
	r.clock.start()
	for _, st := range stages {
		if !st.applies(r) {
			continue
		}
		if rec, ok := done[st.name]; ok {
			if err := st.restore(r, rec.Output); err != nil {
				return nil, fmt.Errorf("restore stage %s: %w", st.name, err)
			}
			r.n.log.Printf("job %s: stage %s restored from the log", r.job.ID, st.name)
			r.records = append(r.records, rec)
			continue
		}
		ev := failpoint.Event{Node: r.n.cfg.ID, Job: r.job.ID, Stage: st.name}
		if err := r.n.cfg.Failpoints.Hit(failpoint.StageStart, ev); err != nil {
			return nil, err
		}
		began, read := time.Now(), r.read.Load()
		r.note = ""
		if err := st.run(r); err != nil {
			return nil, cancelled(r.ctx, err)
		}
		out, err := st.output(r)
		if err != nil {
			return nil, err
		}
		data, err := json.Marshal(out)
		if err != nil {
			return nil, fmt.Errorf("encode stage %s: %w", st.name, err)
		}
		rec := StageRecord{Name: st.name, Output: data, Seconds: time.Since(began).Seconds(), BytesRead: r.read.Load() - read, Note: r.note}
		if _, err := r.n.apply(cmdStageDone, stageDone{ID: r.job.ID, Stage: rec}); err != nil {
			if errors.Is(err, ErrJobTerminal) {
				return nil, errCancelled
			}
			return nil, fmt.Errorf("commit stage %s: %w", st.name, err)
		}
		r.records = append(r.records, rec)
		if err := r.n.cfg.Failpoints.Hit(failpoint.StageDone, ev); err != nil {
			return nil, err
		}
	}
	out := &jobOutcome{Result: r.res, Prepared: r.prepared, Profiles: r.profiles, Evaluation: r.evaluation, Rows: r.rows, Dims: r.dims,
		Phases: r.clock.times, Stages: r.records}
	if r.log != nil {
		var err error
		if out.Transactions, err = json.Marshal(r.log); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// executor is a cluster executor for one of the job's datasets, counted
// in the run's bytes read and dropped when the run ends.
func (r *jobRun) executor(dataset string, spec partition.Spec, partitions int) (*clusterExecutor, error) {
	ex, err := newClusterExecutor(r.n, dataset, spec, partitions)
	if err != nil {
		return nil, err
	}
	ex.read = &r.read
	ex.adopt = func(made *clusterExecutor) { r.held = append(r.held, made) }
	r.held = append(r.held, ex)
	return ex, nil
}

// release drops the run's datasets on the workers, last made first,
// unless leadership is lost or the node is stopping: the next leader may
// still use them, and drops them when it ends the job.
func (r *jobRun) release() {
	if r.stopping.Err() != nil {
		return
	}
	for i := len(r.held) - 1; i >= 0; i-- {
		r.drop(r.held[i])
	}
}

// drop releases one dataset now (unless leadership is lost).
func (r *jobRun) drop(ex *clusterExecutor) {
	if r.stopping.Err() != nil || ex.dropped {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ex.drop(ctx)
	ex.dropped = true
}

// plan cuts the job's files into pieces.
func (r *jobRun) plan() error {
	fs, err := r.n.planFiles(r.ctx, r.spec.Data.Path, r.spec.CSVHints())
	if err != nil {
		return err
	}
	if t := r.spec.Transactions; t != nil {
		if err := t.Columns.Check(fs.Schema); err != nil {
			return fmt.Errorf("%s: %w", r.spec.Data.Path, err)
		}
	}
	r.fileSet = fs
	if l, ok := r.spec.Labels(); ok && !r.spec.JoinsLabels() && !slices.ContainsFunc(fs.Schema, func(f partition.Field) bool { return f.Name == l.Column }) {
		return fmt.Errorf("evaluate.labels: %s has no column %q (it has %s)", r.spec.Data.Path, l.Column, strings.Join(partition.FieldNames(fs.Schema), ", "))
	}
	if r.spec.JoinsLabels() {
		l, _ := r.spec.Labels()
		lf, err := r.n.planFiles(r.ctx, l.Path, partition.CSVHints{})
		if err != nil {
			return fmt.Errorf("evaluate.labels: %w", err)
		}
		for _, c := range []string{labelsKey(r.spec), l.Column} {
			if !slices.ContainsFunc(lf.Schema, func(f partition.Field) bool { return f.Name == c }) {
				return fmt.Errorf("evaluate.labels: %s has no column %q (it has %s)", l.Path, c, strings.Join(partition.FieldNames(lf.Schema), ", "))
			}
		}
		if slices.ContainsFunc(fs.Schema, func(f partition.Field) bool { return f.Name == l.Column }) {
			return fmt.Errorf("evaluate.labels: %s has a column %q too: the labels joined from %s would hide it (rename one)", r.spec.Data.Path, l.Column, l.Path)
		}
		r.labelFiles = lf
	}
	r.clock.add("plan")
	return nil
}

// labelsKey is the customer id column of a file of labels.
func labelsKey(s *jobspec.Spec) string {
	if l, _ := s.Labels(); l.ID != "" {
		return l.ID
	}
	return s.Data.ID
}

type planOutput struct {
	Files  *partition.FileSet `json:"files"`
	Labels *partition.FileSet `json:"labels,omitempty"`
}

func (r *jobRun) planOutput() (any, error) {
	return planOutput{Files: r.fileSet, Labels: r.labelFiles}, nil
}

func (r *jobRun) restorePlan(data json.RawMessage) error {
	var o planOutput
	if err := json.Unmarshal(data, &o); err != nil || o.Files == nil {
		return fmt.Errorf("the plan: %v", err)
	}
	r.fileSet, r.labelFiles = o.Files, o.Labels
	return nil
}

// integrateOutput is a shuffle's buckets and what reading the files found.
type integrateOutput struct {
	Shuffle *partition.ShuffleSpec `json:"shuffle"`
	Pin     map[int]string         `json:"pin"`
	Tally   *partition.Tally       `json:"tally,omitempty"`
	Log     *features.LogSummary   `json:"log,omitempty"`
}

func (r *jobRun) integrateOutput() (any, error) {
	return integrateOutput{Shuffle: r.shuffle, Pin: r.pin, Tally: r.tally, Log: r.log}, nil
}

// restoreIntegrate trusts the buckets to be where the shuffle put them:
// the workers keep a shuffle's parts until the job ends. If a holder has
// gone since, loading them says so (errShuffleLost) and the job runs the
// shuffle again.
func (r *jobRun) restoreIntegrate(data json.RawMessage) error {
	var o integrateOutput
	if err := json.Unmarshal(data, &o); err != nil || o.Shuffle == nil {
		return fmt.Errorf("the shuffle: %v", err)
	}
	r.shuffle, r.pin, r.tally, r.log = o.Shuffle, o.Pin, o.Tally, o.Log
	return nil
}

// prepare fits the job's preparation over its raw rows: the files'
// pieces, or the shuffle's buckets.
func (r *jobRun) prepare() error {
	raw, partitions, schema := partition.Spec{Files: r.fileSet}, len(r.fileSet.Pieces), r.fileSet.Schema
	if r.shuffle != nil {
		raw, partitions, schema = partition.Spec{Shuffle: r.shuffle}, r.shuffle.Buckets, r.shuffle.Schema
	}
	pl, err := r.fitPreparation(raw, partitions, schema)
	if err != nil {
		return err
	}
	if r.tally != nil {
		// The rows that could not be read are the files', counted by the
		// shuffle; the preparation saw only the rows that were.
		pl.Rejected, pl.Rejects = r.tally.Rejected, r.tally.Rejects
		if r.spec.Transactions == nil {
			pl.DuplicateRule = r.spec.Data.Duplicates
		}
	}
	if r.log != nil {
		r.log.Customers = pl.Counts.Rows
	}
	return r.setPipeline(pl)
}

func (r *jobRun) setPipeline(pl *prepare.Pipeline) error {
	data, err := json.Marshal(pl)
	if err != nil {
		return err
	}
	r.pipeline, r.prepared = pl, data
	return nil
}

type prepareOutput struct {
	Pipeline json.RawMessage `json:"pipeline"`
	Keep     bool            `json:"keep,omitempty"`
	Consume  bool            `json:"consume,omitempty"`
}

func (r *jobRun) prepareOutput() (any, error) {
	return prepareOutput{Pipeline: r.prepared, Keep: r.keep, Consume: r.consume}, nil
}

func (r *jobRun) restorePrepare(data json.RawMessage) error {
	var o prepareOutput
	if err := json.Unmarshal(data, &o); err != nil {
		return fmt.Errorf("the preparation: %w", err)
	}
	var pl prepare.Pipeline
	if err := json.Unmarshal(o.Pipeline, &pl); err != nil {
		return fmt.Errorf("the preparation: %w", err)
	}
	r.pipeline, r.prepared, r.keep, r.consume = &pl, o.Pipeline, o.Keep, o.Consume
	if r.log != nil {
		r.log.Customers = pl.Counts.Rows
	}
	return nil
}

// dataset is what the algorithm runs over: the synthetic data, or the
// prepared features of the files or buckets.
func (r *jobRun) dataset() partition.Spec {
	var s partition.Spec
	switch {
	case r.shuffle != nil:
		s = partition.Spec{Shuffle: r.shuffle, Prepare: r.prepared}
	case r.fileSet != nil:
		s = partition.Spec{Files: r.fileSet, Prepare: r.prepared}
	default:
		return r.spec.Dataset()
	}
	switch {
	case r.keep:
		// Made from the raw tables the workers hold, which stay with the
		// blocks: the columns profiled and the id, for the assignments.
		s.From, s.Columns = r.job.ID+rawSuffix, r.pipeline.Columns()
		if id := r.spec.Data.ID; id != "" && !slices.Contains(s.Columns, id) {
			s.Columns = append(slices.Clone(s.Columns), id)
		}
		if l, ok := r.spec.Labels(); ok && !slices.Contains(s.Columns, l.Column) {
			s.Columns = append(slices.Clone(s.Columns), l.Column)
		}
	case r.consume:
		s.From, s.Consume = r.job.ID+rawSuffix, true
	}
	return s
}

// features loads the algorithm's dataset on the workers, once.
func (r *jobRun) features() (*clusterExecutor, error) {
	if r.ex != nil {
		return r.ex, nil
	}
	data := r.dataset()
	src, err := partition.Open(data, partition.Env{Prepare: prepare.Open})
	if err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	r.rows, r.dims = src.Rows(), src.Dims()
	ex, err := r.executor(r.job.ID, data, src.NumPartitions())
	if err != nil {
		return nil, err
	}
	ex.pin = r.pin
	// Loading (reading, preparing) the partitions is a phase of its own;
	// the first step would otherwise pay it.
	if err := ex.place(r.ctx); err != nil {
		return nil, err
	}
	r.clock.add("load")
	r.ex = ex
	if r.rawEx != nil {
		// The blocks hold the tables now; the raw dataset's names go.
		r.drop(r.rawEx)
		r.rawEx = nil
	} else if r.keep || r.consume {
		// A preparation restored from the log: the raw dataset is an
		// earlier leader's, and goes as its own would have. Tables it
		// still holds are of partitions now placed on other workers
		// (one joined meanwhile), read from the source there instead.
		raw, err := newClusterExecutor(r.n, r.job.ID+rawSuffix, partition.Spec{}, 0)
		if err != nil {
			return nil, err
		}
		r.drop(raw)
	}
	return ex, nil
}

// cluster fits the job's algorithm, resuming from its last committed
// checkpoint when an earlier leader ran some of it.
func (r *jobRun) cluster() error {
	ex, err := r.features()
	if err != nil {
		return err
	}
	cfg := r.spec.Config()
	if err := cfg.Check(r.rows, r.dims); err != nil {
		return err
	}
	var fit algorithms.Fit
	if len(r.job.Checkpoint) > 0 {
		r.n.log.Printf("job %s: resuming from checkpoint at step %d (%s, iteration %d)", r.job.ID, r.job.Steps, r.job.Progress.Phase, r.job.Progress.Iteration)
		fit, err = cfg.Resume(r.job.Checkpoint)
	} else {
		fit, err = cfg.New(r.rows, r.dims)
	}
	if err != nil {
		return err
	}
	if err := r.fit(fit, ex); err != nil {
		return err
	}
	model, err := fit.Model()
	if err != nil {
		return err
	}
	if c, ok := algorithms.Inner(fit).(*choose.Program); ok {
		// The candidates were scored to choose one: that is the job's
		// evaluation.
		rep, err := c.Report()
		if err != nil {
			return err
		}
		if r.evaluation, err = json.Marshal(rep); err != nil {
			return err
		}
		r.note = fmt.Sprintf("k=%d chosen by %s of %d candidates", rep.ChosenK, rep.Rule, len(rep.Candidates))
	}
	if c, ok := fit.(interface{ Rows() int64 }); ok {
		r.note = strings.TrimPrefix(r.note+fmt.Sprintf("; fitted on %d of %d rows, the rest held out", c.Rows(), r.rows), "; ")
	}
	r.res, err = newResult(r.spec.Cluster.Algorithm, model)
	return err
}

type clusterOutput struct {
	Result     *Result         `json:"result"`
	Rows       int64           `json:"rows"`
	Dims       int             `json:"dims"`
	Evaluation json.RawMessage `json:"evaluation,omitempty"`
}

func (r *jobRun) clusterOutput() (any, error) {
	return clusterOutput{Result: r.res, Rows: r.rows, Dims: r.dims, Evaluation: r.evaluation}, nil
}

func (r *jobRun) restoreCluster(data json.RawMessage) error {
	var o clusterOutput
	if err := json.Unmarshal(data, &o); err != nil || o.Result == nil {
		return fmt.Errorf("the model: %v", err)
	}
	r.res, r.rows, r.dims, r.evaluation = o.Result, o.Rows, o.Dims, o.Evaluation
	return nil
}

// evaluate scores the fitted model over the algorithm's dataset (the
// rows fitted, when some are held out), measures its stability when asked,
// and scores the held-out rows beside the fitted ones. A choice of k
// scored its candidates already: only the holdout is left. It is not
// checkpointed step by step, and a new leader runs the stage again from
// its start, to the same bits.
func (r *jobRun) evaluate() error {
	ex, err := r.features()
	if err != nil {
		return err
	}
	model, err := r.res.Decode()
	if err != nil {
		return err
	}
	hold, holds := r.spec.Holdout()
	var fitted *algorithms.Subset
	if holds {
		f := hold.Complementary()
		fitted = &f
	}
	rep := &choose.Report{}
	if r.spec.Chooses() {
		if err := json.Unmarshal(r.evaluation, rep); err != nil {
			return fmt.Errorf("the choice of k's evaluation: %w", err)
		}
	} else {
		ev, rows, err := r.score(ex, model, fitted)
		if err != nil {
			return err
		}
		rep.Report = *ev
		if sc := r.spec.StabilityConfig(); sc != nil {
			st, err := evaluate.NewStability(*sc, r.spec.Refit(), r.res.Algorithm, model, rows, r.dims)
			if err != nil {
				return err
			}
			if err := r.watch(over(fitted, st), ex); err != nil {
				return fmt.Errorf("evaluate: %w", err)
			}
			if rep.Stability, err = st.Report(); err != nil {
				return err
			}
		}
	}
	if holds {
		held, _, err := r.score(ex, model, &hold)
		if err != nil {
			return fmt.Errorf("the held-out rows: %w", err)
		}
		rep.Holdout = evaluate.NewHoldoutReport(hold.Fraction, &rep.Report, held)
		// The rows the subsets' steps kept with each block go now, not
		// with the job.
		if _, err := ex.Run(r.ctx, algorithms.Release()); err != nil {
			return fmt.Errorf("release the held-out rows: %w", err)
		}
	}
	r.evaluation, err = json.Marshal(rep)
	return err
}

// score evaluates model over the rows of s (nil: every row), and says
// how many there were.
func (r *jobRun) score(ex algorithms.Executor, model algorithms.Model, s *algorithms.Subset) (*evaluate.Report, int64, error) {
	rows := r.rows
	if s != nil {
		var err error
		if rows, err = s.CountRows(r.ctx, ex); err != nil {
			return nil, 0, err
		}
	}
	cfg, _ := r.spec.EvaluateConfig()
	p, err := evaluate.New(cfg, r.res.Algorithm, model, rows, r.dims)
	if err != nil {
		return nil, 0, fmt.Errorf("evaluate: %w", err)
	}
	if err := r.watch(over(s, p), ex); err != nil {
		return nil, 0, fmt.Errorf("evaluate: %w", err)
	}
	rep, err := p.Report()
	return rep, rows, err
}

// over is p run over the rows of s (nil: every row).
func over(s *algorithms.Subset, p algorithms.Program) algorithms.Program {
	if s == nil {
		return p
	}
	return s.Program(p)
}

type evaluateOutput struct {
	Report json.RawMessage `json:"report"`
}

func (r *jobRun) evaluateOutput() (any, error) { return evaluateOutput{Report: r.evaluation}, nil }

func (r *jobRun) restoreEvaluate(data json.RawMessage) error {
	var o evaluateOutput
	if err := json.Unmarshal(data, &o); err != nil || o.Report == nil {
		return fmt.Errorf("the evaluation: %v", err)
	}
	r.evaluation = o.Report
	return nil
}

type assignOutput struct {
	Profiles json.RawMessage `json:"profiles"`
}

func (r *jobRun) assignOutput() (any, error) { return assignOutput{Profiles: r.profiles}, nil }

func (r *jobRun) restoreAssign(data json.RawMessage) error {
	var o assignOutput
	if err := json.Unmarshal(data, &o); err != nil {
		return fmt.Errorf("the profiles: %w", err)
	}
	r.profiles = o.Profiles
	return nil
}
