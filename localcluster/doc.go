// Package localcluster runs a whole Cohort cluster in one process: one
// coordinator (real Raft with on-disk stores, real gossip) and N workers,
// all on loopback gRPC ports, the cores shared out among the workers. It
// is the embedded mode behind `cohort run`, `cohort local` and `cohort
// bench` — the same code paths as a fleet, minus the process boundaries.
// Tests start their clusters with package clustertest instead.
package localcluster
