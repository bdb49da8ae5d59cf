// Package bench holds Cohort's benchmark suites: each runs a real embedded
// cluster on a synthetic dataset and reports figures as JSON, so that
// bench/RESULTS.md quotes numbers a reader can reproduce with one command.
package bench
