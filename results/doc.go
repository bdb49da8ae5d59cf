// Package results turns a finished clustering of a file dataset into what
// a person acts on: every customer's segment and distance to its centre,
// written by the workers as part files (one per partition, Parquet or CSV)
// under the job's output directory, and the statistics of every segment in
// the data's own units, merged into profiles (algorithms/profile).
//
// It is a step like the algorithms' but not one of them: it writes files,
// which algorithm code must not, and it reads a partition's raw rows again
// (they are not kept in memory beside the prepared features).
package results
