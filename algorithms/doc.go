// Package algorithms is the seam every distributed computation is written
// against: a Program proposes Steps, a Step maps one partition to a Partial,
// partials merge in partition-id order, and the Program updates itself from
// the merged result. LocalExecutor runs steps over in-process blocks; the
// coordinator's cluster executor runs the same steps on workers. Because the
// merge order is fixed by partition id, both give bit-identical results.
//
// Algorithm packages below this one are pure: no networking, no global
// state, deterministic for a seed.
package algorithms
