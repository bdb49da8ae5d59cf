// Package partition holds what a dataset is once it is in memory: the
// contiguous float32 Block a worker keeps per partition, the Sources that
// build blocks (so far the synthetic Gaussian-mixture "blobs"), the Spec that
// names a dataset on the wire and in the Raft log, and rendezvous placement of
// partitions on workers.
//
// A partition's content depends only on the dataset spec and the partition
// id, never on which worker loads it or how many workers there are; that is
// what lets results be bit-identical across cluster sizes and lets a lost
// worker cost a reload rather than data.
package partition
