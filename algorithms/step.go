package algorithms

import (
	"context"

	"github.com/cohort/cohort/partition"
)

// Step is one pass over every partition of a dataset. Map runs wherever the
// partition lives (in process or on a worker); its partials are merged in
// partition-id order so the result does not depend on placement.
type Step interface {
	// Kind names the step on the wire; a Codec turns (Kind, params) back into a Step.
	Kind() string
	// MarshalBinary encodes the step's parameters.
	MarshalBinary() ([]byte, error)
	// Map computes this step's partial over one block. It must not keep b.
	Map(b *partition.Block) (Partial, error)
}

// Partial is the mergeable result of a Step over one or more partitions.
type Partial interface {
	// Merge folds next, which covers partitions after the receiver's, into the receiver.
	Merge(next Partial) error
	MarshalBinary() ([]byte, error)
}

// Codec decodes steps and partials that crossed the wire.
type Codec interface {
	DecodeStep(kind string, params []byte) (Step, error)
	DecodePartial(kind string, data []byte) (Partial, error)
}

// Progress is what a running program reports after each update.
type Progress struct {
	Phase     string  // e.g. "init", "lloyd", "done"
	Restart   int     // 0-based restart being run
	Iteration int     // iterations completed in the current phase
	Objective float64 // e.g. WCSS of the last pass
	Shift     float64 // e.g. largest centroid movement of the last update
}

// Program is a whole computation as a state machine: it proposes steps, folds
// in their merged partials, and can be checkpointed between steps and resumed
// from the checkpoint on another node.
type Program interface {
	// Next returns the next step, or done=true when the program has finished.
	Next() (step Step, done bool, err error)
	// Update consumes the merged partial of the step Next last returned.
	Update(merged Partial) error
	// Checkpoint encodes the state reached after the last Update.
	Checkpoint() ([]byte, error)
	Progress() Progress
}

// Executor runs a step over every partition of a dataset and returns the
// partials merged in partition-id order.
type Executor interface {
	Run(ctx context.Context, step Step) (Partial, error)
}

// Scatter is a step whose output goes, besides a partial to the
// coordinator, to the buckets of another dataset: a shuffle. Scatter
// returns the block's partial and, for each of Buckets() buckets, the part
// of its output that belongs there (empty when nothing does); the node
// that ran it sends each part to the bucket's holder. A bucket is built by
// merging its parts in source partition order, so it does not depend on
// placement either. Map is not used for a Scatter.
type Scatter interface {
	Step
	Buckets() int
	Scatter(b *partition.Block) (Partial, [][]byte, error)
}

// Regroup is a Scatter a Program proposes like any step: Drive runs it
// through the executor's Shuffle, and the program's later steps run over
// the buckets it made, each built from its parts by the bucket builder
// registered for Bucket().Kind (RegisterBucket). It is how an algorithm
// moves rows between partitions (grid cells and their halos, rows of one
// id) without driver code.
type Regroup interface {
	Scatter
	Bucket() BucketKind
}

// BucketKind is how a regrouped dataset's buckets are built: the builder's
// kind, the schema of the rows its parts hold and its parameters.
type BucketKind struct {
	Kind   string
	Schema []partition.Field
	Params []byte
}

// Shuffler is an Executor that can regroup its rows: it runs step over
// its partitions, hands every bucket's parts to the bucket's holder, and
// returns the merged partial and an Executor over the buckets (a bucket's
// block holds its built table), whose partitions are the buckets.
type Shuffler interface {
	Executor
	Shuffle(ctx context.Context, step Regroup) (Partial, Executor, error)
}
