// Package localcluster runs a whole Cohort cluster in one process: one
// coordinator (real Raft with on-disk stores, real gossip) and N workers,
// all on loopback gRPC ports. It is the embedded mode behind `cohort run`,
// `cohort local` and `cohort bench`, and the harness of in-process cluster
// tests — the same code paths as a fleet, minus the process boundaries.
package localcluster
