package algorithms

import (
	"context"
	"fmt"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/cohort/cohort/partition"
)

// ShuffleLocal runs a Scatter over blocks held in this process: the
// partials merged in partition order, and each bucket's parts in source
// order (parts[bucket][source]). It is the in-process twin of a shuffle
// between workers, which tests hold the cluster to.
func ShuffleLocal(ctx context.Context, blocks []*partition.Block, step Scatter) (Partial, [][][]byte, error) {
	n := step.Buckets()
	partials := make([]Partial, len(blocks))
	bySource := make([][][]byte, len(blocks))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, b := range blocks {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			p, parts, err := step.Scatter(b)
			if err != nil {
				return fmt.Errorf("step %s on partition %d: %w", step.Kind(), b.ID, err)
			}
			if len(parts) != n {
				return fmt.Errorf("step %s on partition %d: %d parts for %d buckets", step.Kind(), b.ID, len(parts), n)
			}
			partials[i], bySource[i] = p, parts
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	merged, err := MergeInOrder(partials)
	if err != nil {
		return nil, nil, err
	}
	buckets := make([][][]byte, n)
	for b := range buckets {
		buckets[b] = make([][]byte, len(blocks))
		for s := range blocks {
			buckets[b][s] = bySource[s][b]
		}
	}
	return merged, buckets, nil
}

// Shuffle implements Shuffler: the in-process twin of a shuffle between
// workers. Each bucket is built, in source order, by the registered
// builder of the step's bucket kind.
func (e *LocalExecutor) Shuffle(ctx context.Context, step Regroup) (Partial, Executor, error) {
	merged, parts, err := ShuffleLocal(ctx, e.Blocks, step)
	if err != nil {
		return nil, nil, err
	}
	bk := step.Bucket()
	sh := &partition.ShuffleSpec{ID: "local", Buckets: step.Buckets(), Sources: len(e.Blocks), Kind: bk.Kind, Schema: bk.Schema, Params: bk.Params}
	if err := sh.Validate(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", step.Kind(), err)
	}
	blocks := make([]*partition.Block, len(parts))
	for b := range parts {
		t, dups, err := BuildBucket(sh, parts[b], nil)
		if err != nil {
			return nil, nil, fmt.Errorf("bucket %d of %s: %w", b, step.Kind(), err)
		}
		blocks[b] = &partition.Block{ID: b, Rows: t.Rows, Table: t, Duplicates: dups}
	}
	return merged, &LocalExecutor{Blocks: blocks, Parallelism: e.Parallelism}, nil
}
