// Package kmeans is k-means as a registered algorithm: a Fit of steps
// (Program) with k-means‖ initialisation (Bahmani et al. 2012), Lloyd
// iterations that read only the rows their distance bounds cannot
// settle, and one exact pass so that the returned WCSS and sizes describe
// the returned centroids; its Model assigns a row to the nearest centroid
// with the distance to it as the score ("distance").
//
// # Phases
//
// Per restart the program moves through:
//
//   - pick: the row with the smallest hash of (seed, restart, partition,
//     row), a uniform first centre chosen without knowing partition sizes;
//   - sample: k-means‖ rounds. Each pass sums the cost (squared distance
//     to the nearest candidate so far) and keeps a row with probability
//     ℓ·d²/φ, where φ is the previous pass's cost, an upper bound of the
//     current one: that fuses the paper's cost and sampling passes into
//     one. The first pass only measures the cost; sampling stops after
//     the configured rounds, or at a cost of zero. A block keeps each
//     row's nearest candidate so far (seeding), so a pass measures only
//     the candidates added since the last one: ~ℓ·rounds distances a row
//     in all instead of ~ℓ·rounds²/2, with a full search's result;
//   - weights: the rows nearest each candidate (the seeding's labels);
//     then, on the coordinator,
//     the best of ten greedy weighted k-means++ reductions of the
//     candidates to k centres, each refined by weighted Lloyd;
//   - lloyd: iterations until the largest centroid shift is below tol, or
//     max_iter;
//   - final: an exact pass, whose WCSS and sizes are the restart's. The
//     restart with the lowest WCSS is kept.
//
// The pick, sample and weights passes run on an initialisation sample
// (init_sample, about 2¹⁸ rows or 256·k by default, "all" for every row): each row
// is in it with probability init_sample/rows, by a hash of its position
// and the restart, and a block gathers its sampled rows once per restart
// into the seeding. k-means‖ draws about ℓ·rounds candidates whatever the
// rows, so at 100M rows the sample seeds from the same kind of candidate
// set for a hundredth of eight passes over the data (15 s of a 2-minute
// job); Lloyd and the final pass always read every row. Like Faiss's
// training sample and scikit-learn's MiniBatchKMeans init_size, it trades
// an initialisation on all rows, which this data showed no better: over
// four seeds on 10M customers, runs seeded on 1M rows ended 30 Lloyd
// iterations at WCSS 0.3% below to 1.2% above the full seeding's.
//
// Every per-row random draw is a hash of the row's position, so sampling
// does not depend on who maps what. Sums and WCSS are float64 and merged
// in partition order. An empty cluster takes the row farthest from its
// own centroid among the other clusters (ties by partition, then row).
// The checkpoint is the whole state as JSON (float64 values round-trip
// exactly), so a resumed program finishes bit-identically.
//
// # Lazy Lloyd
//
// Lloyd iterations are lazy: a partition reads only the rows its bounds
// cannot separate and returns sums and counts but neither WCSS nor
// farthest rows, so progress shows no objective for them. The final pass
// is exact, so the reported WCSS has the bits of a run whose every pass
// measured every row (TestLazyRunMatchesExactRun). An iteration whose
// lazy pass leaves a cluster empty is repeated exactly (state.NeedExact),
// for the farthest rows that re-seed it. Partials carry farthest rows as
// float32: they are rows of the data, and most of a partial's bytes.
//
// # Bounds
//
// After its first pass a block keeps, beside its data
// (partition.Block.TakeScratch and PutScratch), each row's label, a lower
// bound on its true distance to every other centroid and an upper bound
// on its distance to its own, the centroids the bounds refer to, and the
// block's float64 sums and counts by label. Bounds are only an
// accelerator: a block without them, or with bounds for another k,
// searches every row.
//
// A lazy pass moves the bounds with the centroids (the upper grows by the
// row's own centroid's movement, the lower shrinks by the largest
// movement of any other), stored relative to per-cluster running totals
// of movement, so a row costs three loads and no write while
// kernels.Separated(u, l) holds, u²(1+ε) + 2η < l²(1−ε) with ε and η
// bounding the float32 error of the canonical sum: the search would pick
// the same centroid, so the row is not read. Otherwise, for k above
// tightenAbove, its distance is measured (which may settle it); the rows
// still unsettled are searched a chunk at a time, gathered into one
// buffer, or, in a dense block, the whole chunk in place when more than a
// quarter of it is. Every pass reads a packed block (partition.Block.Span,
// Gather) a chunk at a time, expanded into a buffer kept with the bounds,
// with the bits of the dense block: expanding only the unsettled rows
// costs nothing a whole chunk would save.
// Sums and counts depend on the labels alone: a block whose labels did not
// change reuses its cached ones. One whose did either moves each row that
// changed cluster from one sum to the other, when the block is quantized
// (partition.Quantize: every value a multiple of its column's float32
// resolution, so float64 sums are exact in any order), or sums its rows
// again in order (kernels.Accumulate); either way they have the bits of a
// full search. On data with no clusters to find (customers, k = 5) most
// blocks change every iteration, and summing them again was a third of
// an iteration. At 100M × 16, k = 16, an iteration costs less than
// reading the data once (0.126 s against 0.193 s, bench/RESULTS.md).
//
// An exact pass (the final one, and the repeat after an empty cluster)
// folds the running totals into the lower bounds and runs the fused
// kernels.Bounded: distance, the test d < (1−ε)·l² − η, sums, counts,
// WCSS and farthest row in one pass over each row. It stops at the first
// row it cannot vouch for, which is searched and summed on its own
// (kernels.Assign), so rows are summed in order and the pass has the bits
// of a full search (TestBoundedPassesMatchFullSearch, and
// TestLazyPassesMatchFullSearch for lazy passes).
package kmeans
