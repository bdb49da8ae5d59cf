// Package prepare turns a table of customers into the numeric features a
// clustering runs on, the way a job's prepare section asks, and holds the
// column statistics that preparation is fitted from: means and variances to
// impute and standardise by, quantiles for medians, clipping and robust
// scaling, category counts for modes and one-hot encoding.
//
// Fitting and applying are apart because they happen in different places:
// the statistics of every partition are merged on the coordinator, which
// fits an Encoder (missing values, outliers, log1p, one-hot) and, from the
// statistics of the encoded features, a Scaling; both are plain data, saved
// with the model, and every worker (and later the real-time API) applies
// them to its own rows, so new customers are prepared exactly as the
// training data was. Nothing is dropped silently: Encode counts every fill,
// every value outside the bounds and every dropped row, per column.
//
// The rows never meet in one place, so every statistic is computed in one
// pass over a worker's partition and merged on the coordinator. Each is
// chosen so that the merge loses nothing the fit needs: moments combine by
// Chan's formula (in partition order, so the same bits on one worker or
// many), category counts add, and quantiles come from a relative-error
// sketch (Sketch: log-linear buckets read off a float's exponent and top
// mantissa bits, which cost a shift where ⌈log_γ v⌉ cost math.Log) whose
// buckets add, so a median or a 1% clip point is the
// same bits however the data was split and in whatever order the parts
// arrive. An exact median would need every value on the coordinator; the
// sketch bounds its error by Alpha of the value instead.
//
// Text columns with more distinct values than one-hot encoding could use
// (a customer id, a free-text field) are marked Many rather than counted
// in full, which keeps a partial's size bounded and lets a spec that asks
// to encode such a column be told so.
//
// Program fits a Pipeline over a dataset's partitions in two passes (raw
// column statistics, then the encoded features' statistics), and with PCA
// a third (the scaled features' sums and products, whose covariance
// gonum decomposes). Every pass, and the load that prepares a partition,
// encodes 16Ki rows at a time into one reused buffer, with a text
// column's dictionary mapped to features once (Encoder.Bind): a whole
// partition's float64 features were twice its block, and fresh pages cost
// more to fault in than to fill. A text column's L one-hot features are
// scaled down by √L more, so that together they weigh like one number
// column.
//
// DedupStep and DedupTable are the shuffle that brings the rows of one
// customer id together and folds them by the data.duplicates rule (first,
// last, merge, drop).
package prepare
