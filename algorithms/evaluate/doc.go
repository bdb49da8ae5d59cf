// Package evaluate scores a fitted segmentation of a dataset, whatever
// algorithm made it: a Program of steps over the prepared partitions that
// labels every row with the model (algorithms.Model.Assign) and measures
// how well the segments are separated. Everything is float64, and
// partials merge in partition order, so a report has the same bits for
// any number of workers.
//
// # Passes
//
//   - segments: rows and float64 sums of each segment, so its mean;
//   - spread: each row's squared and plain distance to its segment's mean
//     (WCSS and the Davies-Bouldin scatter), the simplified silhouette
//     (distances to the means), and the rows whose silhouette is measured:
//     every row, or a sample drawn per segment by a hash of the row's
//     position;
//   - distances, in batches of the measured rows: for each measured row,
//     the sum of its distances to the rows of every segment, over every
//     partition. Memory is the batch × segments sums, never rows². A
//     partition's rows are labelled once a step and taken one segment at
//     a time, in tiles of up to 2048 of its rows laid out as float64
//     columns, which kernels.DistanceBlock takes four batch rows at a
//     time. The cores take whole tiles (no barrier but the step's end;
//     each tile's sums are added in tile order, so the bits do not depend
//     on it): a dataset small enough to be one partition has no other
//     parallelism.
//   - When every row is measured (the exact silhouette) each unordered
//     pair is measured once: a batch's step measures it against the rows
//     from the batch on, and the later rows' side of those distances is
//     kept with their partition (Block scratch), by the batch row's
//     segment, until their own batch's step adds it (halfPlan). A
//     partition that lost what it kept (its block loaded again, a step
//     run twice) says so in its partial, and the distances start again
//     from the first batch, to the same bits; after maxRestarts the
//     evaluation fails. Kept sums cost segments × rows float64 (128 MB
//     at 1M rows and 16 segments) until each partition's last batch.
//
// The coordinator runs an evaluation without checkpoints
// (algorithms.Watch): its state holds every measured row and its sums,
// which cost more to encode after every step than the steps take.
//
// A row's silhouette is (b − a)/max(a, b), a its mean distance to the
// other rows of its segment and b the least mean distance to another
// segment's rows; 0 for a row alone in its segment, as scikit-learn has
// it. Rows with no segment (noise, segment −1) are left out of every
// metric.
//
// # Sampled silhouette
//
// Past Config.Exact rows the silhouette is measured on a stratified
// sample of about Config.Sample rows: each segment gets its proportional
// share but at least minStratum rows (all of a smaller one), so small
// segments are over-sampled, and the estimate reweights each segment's
// sample mean by its share of the rows. Its 95% confidence interval comes
// from the stratified variance with the finite-population correction.
// Each measured row is still measured exactly, against every row. The
// interval is the normal one, which the silhouette's skew makes slightly
// narrow for small strata: over 1000 seeds it covered the exact value 95%
// of the time with strata of about 170 rows (1000 of 3000 blobs), 94.6%
// with strata of 100 (300 of 3000).
//
// Calinski-Harabasz is the ratio of between- to within-segment dispersion,
// each over its degrees of freedom; Davies-Bouldin the mean over segments
// of the largest (sᵢ + sⱼ)/‖μᵢ − μⱼ‖, s the mean distance to the mean. All
// three follow scikit-learn's definitions (tested against it).
//
// # Agreement between two segmentations
//
// For stability and holdout (issue 14): the contingency step
// (NewContingencyStep, kind agreement/contingency, its own prefix) labels
// every row of a block with two models and counts the pairs of segments in
// a Contingency, merged in partition order; wrapped in an
// algorithms.Subset it counts a resample's or a holdout's rows. Noise
// (−1) has its own row and column, so every row is counted, but the
// measures leave it out as the metrics above do: they are over the rows
// both models put in a segment. From the table: the adjusted Rand index
// (scikit-learn's, from exact integer pair counts), each reference
// segment's best Jaccard similarity to the other fit's segments over the
// rows both saw (R's clusterboot), and Tibshirani and Walther's
// prediction strength (per test segment, the share of its n(n−1)/2 pairs
// the training fold's model also puts together; the least of them). An
// undefined value (no rows, a segment of one row: no pairs) is absent with
// its reason, never NaN. Tested against scikit-learn and against the
// definitions counted pair by pair (testdata/agreement_reference.py).
//
// # Stability
//
// Stability (evaluate.stability) is a Program that refits the
// segmentation's own algorithm Config on resamples. Resample i splits the
// rows by a hash (algorithms.Subset, seeded from the job's seed and i)
// into a training fold of Fraction of the rows and a test fold of the
// rest, and runs, each step over its fold: the training fold's fit (its
// rows counted first, by Subset.Config), the table of the full fit
// against it over the training fold (ARI, each full segment's Jaccard),
// the test fold's own fit, the table of the test fit against the training
// model over the test fold (prediction strength), and of the test fit
// against the full fit (which full segment each test segment is). Steps
// over one fold run together, so each fold is hashed and copied once.
// A full segment's prediction strength in a resample is the least of
// the test segments most like it, and it is flagged unstable when its
// mean over resamples is below 0.8. The folds' fits cost what the full fit
// does on their rows: ten resamples are about ten full fits. Its
// checkpoint holds the finished resamples and the fold fit's checkpoint;
// the coordinator's evaluate stage runs it unchecked (a new leader runs it
// again), a choice of k checkpoints it with the candidate.
//
// # Holdout
//
// evaluate.holdout keeps a hashed share of rows (Holdout, from the job's
// seed: the same rows for the same data and partitions on any number of
// workers) out of the cluster stage's fit, which is the algorithm's
// Config over the complement (Subset.Config). The evaluate stage then
// scores the model on the fitted rows and on the held-out rows, each
// evaluation over its side's rows only, and HoldoutReport sets
// silhouette, WCSS per row, Calinski-Harabasz, Davies-Bouldin and segment
// shares side by side. Assignments and profiles still cover every row.
//
// # Labels made elsewhere
//
// `cohort evaluate SPEC --labels FILE:COLUMN` (evaluate.labels) scores
// another tool's segmentation with these metrics. GivenConfig stands in
// for the algorithm: its fit is one step listing the distinct labels and
// their rows (at most MaxLevels: more are an id or a measure), ordered as
// numbers when all are whole numbers, else as text; its model, Given,
// labels each prepared row by its raw row's value in the column, which
// the steps read with Block.Reread and keep with the block, and refuses to
// assign new rows. A row without a label is left out as noise is. The
// column is the data's own, kept out of the features, or in a file of its
// own joined by customer id (partition.Join): both files are shuffled by
// the same hash of the id into the same buckets on the same workers, so
// a bucket meets its labels where it is built. Given is registered as a
// model (algorithms.RegisterModel), not an algorithm: no spec fits it.
package evaluate
