// Package algorithms is the seam every distributed computation is written
// against, and the registry through which the rest of the system knows
// the algorithms without naming one.
//
// # One algorithm, two executors
//
// A Program proposes Steps, a Step maps one partition to a Partial,
// partials merge in partition-id order (MergeInOrder), and the Program
// updates itself from the merged result; Drive runs a Program on an
// Executor. LocalExecutor maps in-process blocks with goroutines; the
// coordinator's cluster executor sends the step (its kind and encoded
// parameters) to the workers that hold the partitions, decodes their
// partials with the Codec and merges them itself. Because the merge order
// is fixed by partition id, float64 sums add in the same order whatever
// the placement, and both executors give bit-identical results; tests run
// both and compare bits.
//
// A Scatter step also cuts each partition's output into parts for the
// buckets of another dataset: a shuffle. A Regroup is a Scatter a Program
// proposes like any step: Drive runs it through the executor's Shuffle
// (a Shuffler), each bucket is built from its parts, in source order, by
// the builder registered for its kind, and the program's later steps run
// over the buckets. That is how an algorithm moves rows between
// partitions without driver code.
//
// # The registry
//
// An algorithm registers itself from its package's init (Register): its
// name, a summary, the parameters of the spec's cluster section it reads
// (Params refuses any other key, naming the line), Configure (the section
// and the job's seed to a Config, which checks the data's size and starts
// or resumes a Fit), the Codec of its steps and partials, and DecodeModel.
// A Fit is a Program that ends with a Model, which encodes itself for the
// Raft log, describes itself (segments, sizes, metrics, centres), names
// its per-row score and assigns prepared rows to segments. RegisterSteps
// adds the codec of steps that are not an algorithm's (preparation,
// results), RegisterBucket the builder of a shuffle's buckets. Package
// builtin imports everything this build registers. The registry is
// written by init functions only, so it is fixed before any job runs;
// coordinators and workers must be built with the same registrations.
//
// # Subsets
//
// A Subset is a deterministic share of a dataset's rows, drawn by a hash
// of (seed, partition id, row position), so that a resample and its
// Complementary, or a holdout and the rows fitted, split the rows exactly
// for any placement. Subset.Step wraps any step: its kind is "subset/"
// and the inner kind, which is how the partial's kind (the step's) finds
// the inner codec, and its Map hands the inner step a block of the
// selected rows (Block.Select: in the block's form, with its ID, so
// partials still merge in partition order). Subset.Fit runs any Fit over
// the subset, its checkpoints the inner fit's own; it must be started
// with the subset's exact row count (Count, or Start, which counts,
// checks and starts), not the expected one: k-means' sample shares are
// fractions of it, so an expected count draws other rows. The selected
// rows are cached with each block (its scratch) with what the inner
// steps keep there, for the whole fit: copying them every Lloyd pass
// cost several times the pass. Release lets go of them. A subset cannot
// regroup rows: the buckets are other partitions, whose rows its
// positions do not name.
//
// Algorithm packages below this one are pure: no networking, no global
// state besides their registration, deterministic for a seed.
package algorithms
