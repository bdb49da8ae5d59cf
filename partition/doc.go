// Package partition holds what a dataset is, on disk and in memory:
//
//   - Block, the contiguous row-major float32 matrix (rows × dims padded to
//     8) a worker keeps per partition, with its rows' ids, and for data
//     from files the typed Table it was prepared from;
//   - Table, a partition's rows as typed columns (number, text as
//     dictionary codes, time in Unix ms; missing values marked), read from
//     CSV (sniffed: BOM, delimiter, header, types), Parquet row groups (plain
//     number columns decoded straight into the table, the rest through
//     Arrow's pqarrow) or Arrow IPC, and written as CSV or Parquet
//     (WriteAssignments for a job's per-customer segments);
//   - Spec, which names a dataset on the wire and in the Raft log:
//     synthetic blobs, a FileSet planned into pieces (PlanFiles: CSV byte
//     ranges aligned to lines, runs of Parquet row groups, whole gzip'd
//     CSV or Arrow files; PieceBytesFor sizes them at a 32nd of the data,
//     but at least 1 MiB and at most 64 MiB), or the buckets of a shuffle
//     (ShuffleSpec); raw tables, or the features a fitted preparation
//     (Preparer) makes of them — from the raw tables the node already
//     holds when the spec says From, so a job reads its source once, and
//     letting each go as its block is made when it says Consume too;
//     prepared blocks are quantized (Quantize) so that sums of their rows
//     are exact in any order;
//   - the Sources that build blocks, the Tally of rows a pass over files
//     could not read (with absolute line numbers), the row codec a shuffle
//     moves rows with, the hash Bucket of an id, and rendezvous Place.
//
// A prepared block is packed when its Preparer says which features are
// one-hot runs (OneHotPreparer; a fitted preparation's text columns, but
// not under PCA): the other features as float32, row by row, and per run
// a code (a byte, two past 256 features) naming the row's hot feature,
// whose two values, cold and hot, the block keeps once per feature. A
// customers row of 5 numbers and 16 one-hot features in 3 runs takes 23
// bytes instead of 96, besides its id (RowBytes). Quantizing rounds the
// numbers column by column and each run feature's two values on that
// column's grid, as it would the dense block's, so Span and Gather,
// which every reader goes through a chunk at a time, expand rows into the
// very bits the dense block holds. Packing checks every row: one that the
// runs do not describe leaves the block dense.
//
// A partition's content depends only on the dataset spec and the partition
// id, never on which worker loads it or how many workers there are; that is
// what lets results be bit-identical across cluster sizes and lets a lost
// worker cost a reload rather than data. Blocks report what building them
// read from the source (BytesRead, Rereads), which the stages' bytes read
// add up.
package partition
