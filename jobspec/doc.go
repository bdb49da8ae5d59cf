// Package jobspec parses and validates a job's YAML spec. Both the CLI (to
// refuse a bad spec before it reaches a cluster) and the coordinator (the
// spec it stores in the Raft log is the user's own text) use it, so the two
// can never disagree on what a spec means.
package jobspec
