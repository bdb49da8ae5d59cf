// Package kmeans is k-means as an algorithms.Program: k-means‖
// initialisation (Bahmani et al. 2012: a first row, a few rounds of
// oversampling proportional to squared distance, greedy weighted k-means++ on the
// candidates), then Lloyd iterations, then one evaluation pass so that the
// returned WCSS and sizes describe the returned centroids exactly.
//
// Every random choice that touches rows is a hash of (seed, restart, round,
// partition id, row index), never a shared generator, so it is the same
// wherever and in whatever order partitions are mapped. Partial sums are
// float64 and merged in partition order. The whole state between steps fits
// in a checkpoint, and a resumed program finishes bit-identically.
package kmeans
