// Package results turns a finished clustering of a file dataset into what
// a person acts on: every customer's segment and score, written by the
// workers as part files (one per partition, Parquet or CSV) under the
// job's output directory, the statistics of every segment in the data's
// own units, merged into profiles (algorithms/profile), and every row
// that could not be read, with its file, line and reason (RejectsStep).
//
// AssignStep works for any registered algorithm: it decodes the job's
// model through the registry, asks it to assign the partition's prepared
// rows, and names the score column as the model does (k-means:
// "distance"). The rows' ids and the profiled columns come from the
// partition's raw table (Block.Reread): from memory when the raw tables
// were kept beside the features, from the source (or a shuffle's inbox)
// again when they did not fit.
//
// These are steps like the algorithms' but not one of them: they write
// files, which algorithm code must not.
package results
