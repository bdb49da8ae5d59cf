// Package worker is a compute node: it gossips its address and capacity,
// builds the partitions the coordinator places on it from their source,
// holds them in memory, and maps algorithm steps over them one goroutine
// per core.
//
// A worker serves the Worker gRPC service and joins the gossip pool,
// which it finds by asking a coordinator (ClusterStatus) unless given
// gossip addresses; its metadata is its gRPC address, cores and memory.
// The leader turns gossip's join and leave events into FSM entries.
//
// # Partitions
//
// The Store holds datasets by name. LoadPartitions makes it hold exactly
// the partitions listed (exclusive: the others go, which is how a
// re-placement moves partitions off a worker), building the missing ones
// from the dataset's spec with up to one goroutine per core, and answers
// with the bytes they hold and the bytes building them read from the
// source. Every partition is rebuilt from its source wherever it lands:
// synthetic partitions are generated from (seed, partition id); a file
// piece is read by the worker itself, only the columns the pass needs,
// as a raw table or, with the dataset's fitted preparation, as float32
// features; a prepared dataset made from a raw one (partition.Spec.From)
// is prepared from the raw table this worker holds, read from the source
// only for a partition it does not; a stream dataset holds nothing and
// each step reads its pieces; a shuffled dataset's buckets are built from
// this worker's inbox. A step that names data the store does not hold
// (the worker restarted) fails with FailedPrecondition, and the
// coordinator loads it again.
//
// RunStep decodes the step with the registry's codec, maps it over the
// requested partitions with at most one goroutine per core, and returns
// one partial per partition, which the coordinator merges in partition-id
// order, with what the step read from the source (a stream's pieces, a
// block's rereads).
//
// # Shuffles
//
// For a scatter step, each partition's output is cut into one part per
// bucket; the parts of this worker's own buckets go straight to its
// inbox, the others to their holders with PushParts, one call per holder
// in parallel, each bounded by two minutes. A holder that cannot be
// reached makes the step fail with an ErrorInfo naming the peer
// (SHUFFLE_PEER_UNREACHABLE), so the coordinator blames the peer and not
// this worker. The Inbox keeps parts by shuffle, bucket and source; a part
// sent again replaces the first. A bucket asked of a worker without all
// its parts fails with DataLoss, which the coordinator answers by
// shuffling again. Dropping a shuffle refuses its late parts (the last
// 1024 dropped are remembered), and dropping a job's dataset drops every
// run of its shuffle (JOB/shuffle-*).
//
// # Memory
//
// Nodes hold their data in the Go heap, so `cohort` sets the heap's soft
// limit to 80% of the machine's memory (LimitMemory, unless GOMEMLIMIT
// says otherwise): with the collector's default headroom a heap of live
// partitions could grow to twice their size, so data that fit in memory
// twice over would not fit once. The memory a worker advertises is what
// the coordinator weighs keeping raw tables against.
//
// Uploaded files a partition reads are fetched from a coordinator into a
// private temporary directory, checked against the hash their name
// carries, and removed when the worker stops.
package worker
