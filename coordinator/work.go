package coordinator

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/features"
	"github.com/cohort/cohort/algorithms/prepare"
	"github.com/cohort/cohort/algorithms/profile"
	"github.com/cohort/cohort/partition"
	"github.com/cohort/cohort/results"
)

// This file is what the stages do on the workers; stages.go is how they
// follow one another and are committed.

// integrate groups the rows by customer across the workers: a transaction
// log's lines into one row per customer, or the rows of one id under a
// data.duplicates rule. Each worker scatters its pieces' rows to the
// holders of their buckets, worker to worker, so no node holds every
// customer (shuffle.go).
func (r *jobRun) integrate() error {
	if r.spec.Transactions != nil {
		return r.integrateTransactions()
	}
	spec, fs := r.spec, r.fileSet
	cfg, _ := spec.PrepareConfig()
	used, err := prepare.Select(fs.Schema, cfg)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(fs.Schema, func(f partition.Field) bool { return f.Name == spec.Data.ID })
	if i < 0 {
		return fmt.Errorf("data.id: %s has no column %q", spec.Data.Path, spec.Data.ID)
	}
	schema := slices.Clone(used)
	if !slices.ContainsFunc(used, func(f partition.Field) bool { return f.Name == spec.Data.ID }) {
		schema = append(schema, fs.Schema[i])
	}
	sh := &partition.ShuffleSpec{ID: shuffleID(r.job.ID), Buckets: bucketsFor(len(fs.Pieces)), Sources: len(fs.Pieces),
		Kind: prepare.KindDedup, Schema: schema}
	if sh.Params, err = json.Marshal(prepare.DedupParams{ID: spec.Data.ID, Rule: spec.Data.Duplicates}); err != nil {
		return err
	}
	merged, pin, err := r.shuffleFiles(fs, partition.FieldNames(schema), &prepare.DedupStep{ID: spec.Data.ID, N: sh.Buckets}, sh.ID, nil)
	if err != nil {
		return err
	}
	if spec.JoinsLabels() {
		if sh.Join, err = r.shuffleLabels(sh.Buckets, pin); err != nil {
			return err
		}
	}
	r.shuffle, r.pin, r.tally = sh, pin, merged.(tallied).ReadTally()
	return nil
}

// shuffleLabels scatters a file of labels into buckets by customer id as
// the data's were, each bucket to the worker holding the data's bucket of
// its number, and returns the join that puts the labels beside the
// customers when a bucket is built.
func (r *jobRun) shuffleLabels(buckets int, pin map[int]string) (*partition.Join, error) {
	l, _ := r.spec.Labels()
	lf, key := r.labelFiles, labelsKey(r.spec)
	var schema []partition.Field
	for _, name := range []string{key, l.Column} {
		i := slices.IndexFunc(lf.Schema, func(f partition.Field) bool { return f.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("evaluate.labels: %s has no column %q", l.Path, name)
		}
		schema = append(schema, lf.Schema[i])
	}
	id := shuffleID(r.job.ID)
	if _, _, err := r.shuffleFiles(lf, partition.FieldNames(schema), &prepare.DedupStep{ID: key, N: buckets}, id, pin); err != nil {
		return nil, fmt.Errorf("evaluate.labels: %w", err)
	}
	return &partition.Join{ID: id, Sources: len(lf.Pieces), Schema: schema, Key: key, Column: l.Column, On: r.spec.Data.ID}, nil
}

// integrateTransactions builds one row per customer from a transaction
// log by a distributed group-by: each worker aggregates its pieces by
// customer and hands each customer to the holder of its bucket. The
// holders build the customers' features, which are then prepared like any
// raw rows.
func (r *jobRun) integrateTransactions() error {
	spec, tx, fs := r.spec, r.spec.Transactions, r.fileSet
	// The preparation's columns are known before the log is read: a spec
	// that names what customers do not have fails before the shuffle.
	cfg, _ := spec.PrepareConfig()
	if _, err := prepare.Select(features.CustomerSchema(tx.Customer), cfg); err != nil {
		return err
	}
	sh := &partition.ShuffleSpec{ID: shuffleID(r.job.ID), Buckets: bucketsFor(len(fs.Pieces)), Sources: len(fs.Pieces),
		Kind: features.KindCustomers, Schema: features.CustomerSchema(tx.Customer)}
	merged, pin, err := r.shuffleFiles(fs, tx.Needed(), &features.AggregateStep{Cols: tx.Columns, N: sh.Buckets}, sh.ID, nil)
	if err != nil {
		return err
	}
	m, ok := merged.(*features.AggregatePartial)
	if !ok {
		return fmt.Errorf("group by customer: got %T", merged)
	}
	c := m.Counts
	if c.Lines-c.NoCustomer-c.Incomplete <= 0 {
		return fmt.Errorf("%s: no line has a customer, a time, an order and a value (%d lines: %d without a customer in %s, %d missing a time, order or value)",
			spec.Data.Path, c.Lines, c.NoCustomer, tx.Customer, c.Incomplete)
	}
	asOf, err := tx.AsOfMillis()
	if err != nil {
		return err
	}
	if asOf == 0 {
		asOf = c.AsOf()
	}
	if sh.Params, err = json.Marshal(features.CustomersParams{AsOf: asOf, ID: tx.Customer}); err != nil {
		return err
	}
	r.shuffle, r.pin, r.tally = sh, pin, &m.Tally
	r.log = &features.LogSummary{Lines: c.Lines, Rejected: m.Tally.Rejected, NoCustomer: c.NoCustomer,
		NoCustomerAmount: c.NoCustAmt, Incomplete: c.Incomplete, Returns: c.Returns,
		AsOf: time.UnixMilli(asOf).UTC().Format(time.DateOnly), Buckets: sh.Buckets}
	r.n.log.Printf("job %s: %d lines of %s grouped into %d buckets (%d lines without a customer, %d incomplete, %d unreadable)",
		r.job.ID, c.Lines, spec.Data.Path, sh.Buckets, c.NoCustomer, c.Incomplete, m.Tally.Rejected)
	return nil
}

// fitPreparation fits the job's preparation over the raw rows of a
// dataset (file pieces, or a shuffle's buckets) of the given columns,
// loaded on the workers as raw tables, and writes the rows that could not
// be read.
func (r *jobRun) fitPreparation(raw partition.Spec, partitions int, schema []partition.Field) (*prepare.Pipeline, error) {
	spec := r.spec
	cfg, scale := spec.PrepareConfig()
	// The workers read only the columns the preparation uses.
	used, err := prepare.Select(schema, cfg)
	if err != nil {
		return nil, err
	}
	names := partition.FieldNames(used)
	// The raw tables also hold the id, so that the assignments can be
	// written from them once the segments are known, and labels made
	// elsewhere, for the evaluation.
	cfg.Columns, raw.Columns = names, names
	if id := spec.Data.ID; id != "" && !slices.Contains(names, id) && slices.ContainsFunc(schema, func(f partition.Field) bool { return f.Name == id }) {
		raw.Columns = append(slices.Clone(names), id)
	}
	if l, ok := spec.Labels(); ok && !slices.Contains(raw.Columns, l.Column) {
		raw.Columns = append(slices.Clone(raw.Columns), l.Column)
	}
	ex, err := r.executor(r.job.ID+rawSuffix, raw, partitions)
	if err != nil {
		return nil, err
	}
	ex.pin = r.pin
	if err := ex.place(r.ctx); err != nil {
		r.drop(ex)
		return nil, err
	}
	if raw.Shuffle != nil {
		r.clock.add("buckets") // each holder merging its buckets' parts
	} else {
		r.clock.add("read")
	}
	prog := prepare.NewProgram(cfg, scale, used)
	err = r.watch(prog, ex)
	if err != nil {
		r.drop(ex)
		return nil, fmt.Errorf("prepare %s: %w", spec.Data.Path, err)
	}
	pl, err := prog.Result()
	if err != nil {
		r.drop(ex)
		return nil, err
	}
	if pl.Rejected > 0 && spec.Output.Dir != "" {
		// Every unreadable row, not only the first ones the summary shows.
		step := &results.RejectsStep{Dir: spec.Output.Dir, Offsets: prog.LineOffsets()}
		if _, err := ex.Run(r.ctx, step); err != nil {
			r.drop(ex)
			return nil, fmt.Errorf("write rejects: %w", err)
		}
		r.clock.add("rejects")
	}
	r.n.log.Printf("job %s: prepared %d features from %d rows of %s (%d could not be read, %d dropped)",
		r.job.ID, len(pl.Encoder.Names), pl.Counts.Rows, spec.Data.Path, pl.Rejected, pl.Counts.Dropped)
	r.keepRaw(ex, pl)
	return pl, nil
}

// rawSuffix names a job's raw dataset (JOB/raw).
const rawSuffix = "/raw"

// keepShare is the most of the workers' memory the raw tables and the
// features may take together for the raw tables to stay: the rest is for
// the algorithm's own state, the steps' buffers and the collector.
const keepShare = 0.5

// keepRaw decides whether the raw tables stay in the workers' memory, for
// the features to be made from and the assignments written from, or are
// dropped now and read again by those stages (counted in their bytes
// read). The stage's note says which, and why.
func (r *jobRun) keepRaw(ex *clusterExecutor, pl *prepare.Pipeline) {
	raw := ex.heldBytes()
	features := pl.Counts.Rows * partition.RowBytes(pl)
	var memory int64
	for _, w := range ex.liveWorkers() {
		memory += w.MemoryBytes
	}
	r.keep = memory > 0 && float64(raw+features) <= keepShare*float64(memory)
	if r.keep {
		r.rawEx = ex
		r.note = fmt.Sprintf("raw rows kept in memory (%s, with the features %s, of the workers' %s)", gib(raw), gib(features), gib(memory))
		return
	}
	// Each alone fits: the features are made from the raw rows in memory,
	// each table let go as its block is made, and only the assignments
	// read the files again.
	r.consume = r.shuffle == nil && memory > 0 && float64(max(raw, features)) <= keepShare*float64(memory)
	if r.consume {
		r.rawEx = ex
		r.note = fmt.Sprintf("raw rows made into features in memory, then read again for the assignments: %s of raw rows and %s of features together exceed half of the workers' %s",
			gib(raw), gib(features), gib(memory))
		r.n.log.Printf("job %s: %s", r.job.ID, r.note)
		return
	}
	r.drop(ex)
	r.note = fmt.Sprintf("raw rows read again by the later stages: %s of raw rows and %s of features exceed half of the workers' %s",
		gib(raw), gib(features), gib(memory))
	r.n.log.Printf("job %s: %s", r.job.ID, r.note)
}

// gib is n bytes in GiB for a note (MiB below one), two units that
// compare at a glance.
func gib(n int64) string {
	if n < 1<<30 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}

// drive is algorithms.Drive that also gives each step's time to the phase
// the program was in when the step started.
func (r *jobRun) drive(p algorithms.Program, ex algorithms.Executor, after func(algorithms.Progress, []byte) error) error {
	tick := r.phases(p)
	return algorithms.Drive(r.ctx, p, ex, func(pr algorithms.Progress, cp []byte) error {
		tick(pr)
		if after == nil {
			return nil
		}
		return after(pr, cp)
	})
}

// phases gives the time up to each update to the phase the program was
// in, by the progress the update reports.
func (r *jobRun) phases(p algorithms.Program) func(algorithms.Progress) {
	phase := p.Progress().Phase
	return func(pr algorithms.Progress) {
		r.clock.add(phase)
		phase = pr.Phase
	}
}

// watch runs a program that is not checkpointed (a preparation, an
// evaluation: a new leader runs them again from their start), timing its
// phases and telling OnStep.
func (r *jobRun) watch(p algorithms.Program, ex algorithms.Executor) error {
	tick := r.phases(p)
	return algorithms.Watch(r.ctx, p, ex, func(pr algorithms.Progress) error {
		tick(pr)
		if r.n.cfg.OnStep != nil {
			r.n.cfg.OnStep(r.job.ID, pr)
		}
		return nil
	})
}

// fit drives the algorithm to its end, committing its checkpoint as it
// goes. A checkpoint commits while the next steps run: Raft's log write
// overlaps the workers' passes instead of adding to them. At most one
// commit is in flight and each is awaited before the next starts, so
// commits stay in order and a failed one stops the job soon after; a new
// leader resumes from the last committed checkpoint either way. Steps that
// end within CheckpointEvery of the last commit are not committed, except
// the last step of the job, so the job's final progress is recorded.
func (r *jobRun) fit(prog algorithms.Fit, ex *clusterExecutor) error {
	n, job := r.n, r.job
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
	err := r.drive(prog, ex, func(p algorithms.Progress, checkpoint []byte) error {
		steps++
		if n.cfg.OnStep != nil {
			n.cfg.OnStep(job.ID, p)
		}
		jp := jobProgress{ID: job.ID, Progress: p, Checkpoint: checkpoint, RunNanos: r.elapsed(), Steps: steps}
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
	return err
}

// assign gives every customer its segment by the fitted model, written
// where the partitions are, and the segments' statistics in the data's
// units, merged into profiles.
func (r *jobRun) assign() error {
	ex, err := r.features()
	if err != nil {
		return err
	}
	spec := r.spec
	step := &results.AssignStep{ModelRef: algorithms.ModelRef{Algorithm: r.res.Algorithm, Model: r.res.Model},
		Dir: spec.Output.Dir, Format: spec.Output.Format, ID: spec.Data.ID, Columns: r.pipeline.Columns()}
	merged, err := ex.Run(r.ctx, step)
	if err != nil {
		return fmt.Errorf("assign segments: %w", err)
	}
	r.clock.add("assign")
	m, ok := merged.(*results.Partial)
	if !ok {
		return fmt.Errorf("assign segments: got %T", merged)
	}
	if m.Rows != r.rows {
		return fmt.Errorf("assign segments: %d rows assigned of %d", m.Rows, r.rows)
	}
	r.profiles, err = json.Marshal(profile.Build(m.Stats, 5))
	return err
}
