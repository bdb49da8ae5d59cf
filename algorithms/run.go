package algorithms

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/cohort/cohort/partition"
)

// MergeInOrder folds per-partition partials, given in partition-id order,
// left to right. Floating-point sums therefore add in one fixed order, which
// is what makes a result independent of placement and parallelism.
func MergeInOrder(parts []Partial) (Partial, error) {
	if len(parts) == 0 {
		return nil, errors.New("merge: no partials")
	}
	for i, p := range parts {
		if p == nil {
			return nil, fmt.Errorf("merge: partial %d is missing", i)
		}
	}
	acc := parts[0]
	for i, p := range parts[1:] {
		if err := acc.Merge(p); err != nil {
			return nil, fmt.Errorf("merge partial %d: %w", i+1, err)
		}
	}
	return acc, nil
}

// LocalExecutor runs steps over blocks held in this process.
type LocalExecutor struct {
	Blocks      []*partition.Block // in partition-id order
	Parallelism int                // goroutines; default GOMAXPROCS
}

// Run implements Executor.
func (e *LocalExecutor) Run(ctx context.Context, step Step) (Partial, error) {
	par := e.Parallelism
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	parts := make([]Partial, len(e.Blocks))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(par)
	for i, b := range e.Blocks {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			p, err := step.Map(b)
			if err != nil {
				return fmt.Errorf("step %s on partition %d: %w", step.Kind(), b.ID, err)
			}
			parts[i] = p
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return MergeInOrder(parts)
}

// Drive runs a program to completion on an executor. after, when set, sees
// the progress and checkpoint following every update; an error from it
// stops the run (the cluster uses it to commit each checkpoint to Raft).
// A Regroup step is run by the executor's Shuffle, and the steps after it
// run over the buckets it made. A program that regroups resumes from a
// checkpoint taken after its last regroup only by running that regroup
// again, so such programs checkpoint the state before it.
func Drive(ctx context.Context, p Program, ex Executor, after func(Progress, []byte) error) error {
	return drive(ctx, p, ex, after, true)
}

// Watch runs a program to completion like Drive, with watch seeing the
// progress after every update but no checkpoint taken: for a program no
// one resumes mid-way, whose checkpoint (an evaluation's measured rows)
// costs more to encode than its steps to run.
func Watch(ctx context.Context, p Program, ex Executor, watch func(Progress) error) error {
	var after func(Progress, []byte) error
	if watch != nil {
		after = func(pr Progress, _ []byte) error { return watch(pr) }
	}
	return drive(ctx, p, ex, after, false)
}

func drive(ctx context.Context, p Program, ex Executor, after func(Progress, []byte) error, checkpoints bool) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		step, done, err := p.Next()
		if err != nil {
			return fmt.Errorf("next step: %w", err)
		}
		if done {
			return nil
		}
		var merged Partial
		if rg, ok := step.(Regroup); ok {
			sh, ok := ex.(Shuffler)
			if !ok {
				return fmt.Errorf("run %s: the executor cannot regroup rows", step.Kind())
			}
			if merged, ex, err = sh.Shuffle(ctx, rg); err != nil {
				return fmt.Errorf("run %s: %w", step.Kind(), err)
			}
		} else if merged, err = ex.Run(ctx, step); err != nil {
			return fmt.Errorf("run %s: %w", step.Kind(), err)
		}
		if err := p.Update(merged); err != nil {
			return fmt.Errorf("update after %s: %w", step.Kind(), err)
		}
		if after == nil {
			continue
		}
		var cp []byte
		if checkpoints {
			if cp, err = p.Checkpoint(); err != nil {
				return fmt.Errorf("checkpoint after %s: %w", step.Kind(), err)
			}
		}
		if err := after(p.Progress(), cp); err != nil {
			return err
		}
	}
}

// Codecs decodes steps and partials of several algorithms, chosen by the
// kind's prefix before the first "/" ("kmeans/lloyd" → Codecs["kmeans"]).
type Codecs map[string]Codec

func (c Codecs) codec(kind string) (Codec, error) {
	prefix, _, _ := strings.Cut(kind, "/")
	cc, ok := c[prefix]
	if !ok {
		return nil, fmt.Errorf("unknown step kind %q", kind)
	}
	return cc, nil
}

// DecodeStep implements Codec.
func (c Codecs) DecodeStep(kind string, params []byte) (Step, error) {
	cc, err := c.codec(kind)
	if err != nil {
		return nil, err
	}
	return cc.DecodeStep(kind, params)
}

// DecodePartial implements Codec.
func (c Codecs) DecodePartial(kind string, data []byte) (Partial, error) {
	cc, err := c.codec(kind)
	if err != nil {
		return nil, err
	}
	return cc.DecodePartial(kind, data)
}
