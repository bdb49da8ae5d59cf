// Package clustertest starts real Cohort clusters for tests: coordinators
// on Raft's in-memory transport (or, with Options.OnDisk, real TCP Raft
// with Bolt stores in a temporary directory), workers on loopback gRPC
// with real gossip, all in this process and sharing one failpoint.Set, so
// a test can arm a named failpoint (a stage's start or end, a Raft apply,
// a step's map on a partition, a shuffle's hand-off) and watch the
// cluster recover. It is importable, unlike a _test.go harness, so that
// any package's tests (the coordinator's today) drive clusters the same
// way; Close is registered with t.Cleanup.
//
// StartProcs starts the same cluster as real cohort processes from a
// built binary, each coordinator with its own data directory, for the
// tests that must see a process die: failpoints reach them as text
// through failpoint.EnvVar ("stage/done@prepare:exit" ends whichever
// coordinator leads, like a crash, once the preparation is committed).
package clustertest
