// Package features builds the customer table marketers segment on from a
// transaction log: one row per customer with recency, frequency, monetary
// value, tenure, average order value and a lifetime-value estimate, with
// returns and cancellations netted off as the data marks them.
//
// It is a group-by that must not need one machine to hold every customer:
// each worker aggregates its own splits of the log (Aggregate), cuts the
// aggregate by a hash of the customer id (Split, Bucket) for the workers
// that own those customers, and each owner merges what it receives
// (Merge) before the features are computed. Distinct orders are kept as
// sets of hashed order ids, because one order's lines may fall in two
// splits. Lines that are no customer's (no customer id) or cannot be read
// as a sale (no time, order or value) are counted, never dropped silently.
package features
