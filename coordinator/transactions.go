package coordinator

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cohort/cohort/algorithms/features"
	"github.com/cohort/cohort/algorithms/prepare"
	"github.com/cohort/cohort/jobspec"
	"github.com/cohort/cohort/partition"
)

// prepareTransactions reads a job's transaction log on the workers, and
// builds one row per customer by a distributed group-by: each worker
// aggregates its pieces by customer and hands each customer to the holder
// of its bucket (a hash of the id), worker to worker, so no node ever
// holds every customer. The holders build the customers' features, and
// the preparation is fitted over them as over any raw rows.
func (n *Node) prepareTransactions(ctx context.Context, job Job, spec *jobspec.Spec, drop func(*clusterExecutor), clock *phaseClock) (*preparedData, error) {
	tx := spec.Transactions
	fs, err := n.planFiles(ctx, spec.Data.Path, spec.CSVHints())
	if err != nil {
		return nil, err
	}
	if err := tx.Columns.Check(fs.Schema); err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Data.Path, err)
	}
	clock.add("plan")
	// The preparation's columns are known before the log is read: a spec
	// that names what customers do not have fails before the shuffle.
	cfg, _ := spec.PrepareConfig()
	if _, err := prepare.Select(features.CustomerSchema(tx.Customer), cfg); err != nil {
		return nil, err
	}
	sh := &partition.ShuffleSpec{ID: shuffleID(job.ID), Buckets: bucketsFor(len(fs.Pieces)), Sources: len(fs.Pieces),
		Kind: features.KindCustomers, Schema: features.CustomerSchema(tx.Customer)}
	merged, pin, err := n.shuffleFiles(ctx, job, spec, fs, tx.Needed(), &features.AggregateStep{Cols: tx.Columns, N: sh.Buckets}, sh.ID, drop, clock)
	if err != nil {
		return nil, err
	}
	m, ok := merged.(*features.AggregatePartial)
	if !ok {
		return nil, fmt.Errorf("group by customer: got %T", merged)
	}
	c := m.Counts
	if c.Lines-c.NoCustomer-c.Incomplete <= 0 {
		return nil, fmt.Errorf("%s: no line has a customer, a time, an order and a value (%d lines: %d without a customer in %s, %d missing a time, order or value)",
			spec.Data.Path, c.Lines, c.NoCustomer, tx.Customer, c.Incomplete)
	}
	asOf, err := tx.AsOfMillis()
	if err != nil {
		return nil, err
	}
	if asOf == 0 {
		asOf = c.AsOf()
	}
	if sh.Params, err = json.Marshal(features.CustomersParams{AsOf: asOf, ID: tx.Customer}); err != nil {
		return nil, err
	}
	pl, err := n.fitPreparation(ctx, job, spec, partition.Spec{Shuffle: sh}, sh.Buckets, sh.Schema, pin, drop, clock)
	if err != nil {
		return nil, err
	}
	pl.Rejected, pl.Rejects = m.Tally.Rejected, m.Tally.Rejects
	data, err := json.Marshal(pl)
	if err != nil {
		return nil, err
	}
	sum := &features.LogSummary{Lines: c.Lines, Rejected: m.Tally.Rejected, Customers: pl.Counts.Rows, NoCustomer: c.NoCustomer,
		NoCustomerAmount: c.NoCustAmt, Incomplete: c.Incomplete, Returns: c.Returns,
		AsOf: time.UnixMilli(asOf).UTC().Format(time.DateOnly), Buckets: sh.Buckets}
	n.log.Printf("job %s: %d lines of %s grouped into %d customers in %d buckets (%d lines without a customer, %d incomplete, %d unreadable)",
		job.ID, c.Lines, spec.Data.Path, sum.Customers, sh.Buckets, c.NoCustomer, c.Incomplete, m.Tally.Rejected)
	return &preparedData{dataset: partition.Spec{Shuffle: sh, Prepare: data}, pipeline: pl, log: sum, pin: pin}, nil
}
