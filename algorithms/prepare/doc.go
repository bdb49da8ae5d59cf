// Package prepare holds the column statistics that a job's data preparation
// is fitted from: means and variances to impute and standardise by,
// quantiles for medians, clipping and robust scaling, category counts for
// modes and one-hot encoding.
//
// The rows never meet in one place, so every statistic is computed in one
// pass over a worker's partition and merged on the coordinator. Each is
// chosen so that the merge loses nothing the fit needs: moments combine by
// Chan's formula (in partition order, so the same bits on one worker or
// many), category counts add, and quantiles come from a relative-error
// sketch (Sketch) whose buckets add, so a median or a 1% clip point is the
// same bits however the data was split and in whatever order the parts
// arrive. An exact median would need every value on the coordinator; the
// sketch bounds its error by Alpha of the value instead.
//
// Text columns with more distinct values than one-hot encoding could use
// (a customer id, a free-text field) are marked Many rather than counted
// in full, which keeps a partial's size bounded and lets a spec that asks
// to encode such a column be told so.
package prepare
