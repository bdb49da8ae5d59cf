package partition

import "context"

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
