package partition

import (
	"context"
	"runtime"

	"golang.org/x/sync/errgroup"
)

// Source is a dataset cut into partitions by the data itself (a synthetic
// block of fixed row count, later a byte or row-group range), never by the
// number of workers. Load must be deterministic: any node loading partition
// id gets the same block, which is what makes a lost worker cost a reload.
type Source interface {
	Dims() int
	Rows() int64
	NumPartitions() int
	Load(ctx context.Context, id int) (*Block, error)
}

// LoadAll loads every partition of src, one a core at a time: a whole
// dataset in one process, for benchmarks, tests and in-process runs.
func LoadAll(ctx context.Context, src Source) ([]*Block, error) {
	blocks := make([]*Block, src.NumPartitions())
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for id := range blocks {
		g.Go(func() (err error) {
			blocks[id], err = src.Load(gctx, id)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return blocks, nil
}
