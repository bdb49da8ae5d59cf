package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/features"
	"github.com/cohort/cohort/algorithms/prepare"
	"github.com/cohort/cohort/jobspec"
	"github.com/cohort/cohort/partition"
	pb "github.com/cohort/cohort/proto"
	"github.com/cohort/cohort/results"
)

// minBuckets is the fewest buckets a log's customers are cut into, so
// that even a log in one file spreads its customers over several workers;
// a log of more pieces gets one bucket a piece. Either way the count is
// fixed by the data, never by the number of workers.
const minBuckets = 16

// shuffleAttempts bounds how often a shuffle is run again after a bucket's
// holder could not be reached.
const shuffleAttempts = 4

// transactionsRun is what reading a job's transaction log left: the
// customers dataset's fitted preparation, what became of the lines, and
// the workers that failed, which hold no bucket.
type transactionsRun struct {
	dataset  partition.Spec
	pipeline *prepare.Pipeline
	summary  *features.LogSummary
	lost     map[string]error
}

// prepareTransactions reads a job's transaction log on the workers, and
// builds one row per customer by a distributed group-by: each worker
// aggregates its pieces by customer and hands each customer to the holder
// of its bucket (a hash of the id), worker to worker, so no node ever
// holds every customer. The holders build the customers' features, and
// the preparation is fitted over them as over any raw rows.
func (n *Node) prepareTransactions(ctx context.Context, job Job, spec *jobspec.Spec, drop func(*clusterExecutor), clock *phaseClock) (*transactionsRun, error) {
	tx := spec.Transactions
	fs, err := partition.PlanFiles(spec.Data.Path, spec.CSVHints(), 0)
	if err != nil {
		return nil, err
	}
	if err := tx.Columns.Check(fs.Schema); err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Data.Path, err)
	}
	clock.add("plan")
	lines, err := newClusterExecutor(n, job.ID+"/lines", partition.Spec{Files: fs, Columns: tx.Needed()}, len(fs.Pieces))
	if err != nil {
		return nil, err
	}
	defer drop(lines)
	if err := lines.place(ctx); err != nil {
		return nil, err
	}
	clock.add("read")

	sh := &partition.ShuffleSpec{ID: job.ID + "/shuffle", Buckets: max(len(fs.Pieces), minBuckets), Sources: len(fs.Pieces),
		Kind: features.KindCustomers, Schema: features.CustomerSchema(tx.Customer)}
	merged, err := n.shuffle(ctx, lines, &features.AggregateStep{Cols: tx.Columns, N: sh.Buckets}, sh.ID)
	if err != nil {
		return nil, fmt.Errorf("group %s by customer: %w", spec.Data.Path, err)
	}
	clock.add("shuffle")
	m, ok := merged.(*features.AggregatePartial)
	if !ok {
		return nil, fmt.Errorf("group by customer: got %T", merged)
	}
	cfg, _ := spec.PrepareConfig()
	if err := m.Tally.Check(cfg.RejectsAllowed()); err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Data.Path, err)
	}
	if m.Tally.Rejected > 0 && spec.Output.Dir != "" {
		step := &results.RejectsStep{Dir: spec.Output.Dir, Offsets: m.Tally.LineOffsets()}
		if _, err := lines.Run(ctx, step); err != nil {
			return nil, fmt.Errorf("write rejects: %w", err)
		}
		clock.add("rejects")
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
	// The buckets are where the shuffle put them: the workers it left
	// out must not be given any.
	lost := maps.Clone(lines.lost)
	pl, err := n.fitPreparation(ctx, job, spec, partition.Spec{Shuffle: sh}, sh.Buckets, sh.Schema, lost, drop, clock)
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
	return &transactionsRun{dataset: partition.Spec{Shuffle: sh, Prepare: data}, pipeline: pl, summary: sum, lost: lost}, nil
}

// shuffle runs a scatter step over ex's partitions, its buckets placed over
// ex's live workers exactly as a dataset of that many partitions will be
// placed on them. A holder that cannot be reached is left out and the
// shuffle run again: parts sent again replace the first ones.
func (n *Node) shuffle(ctx context.Context, ex *clusterExecutor, step algorithms.Scatter, id string) (algorithms.Partial, error) {
	for attempt := 1; ; attempt++ {
		if err := ex.place(ctx); err != nil {
			return nil, err
		}
		live := ex.liveWorkers()
		placement, err := partition.Place(step.Buckets(), slices.Sorted(maps.Keys(live)))
		if err != nil {
			return nil, err
		}
		owners := make([]string, step.Buckets())
		for b, w := range placement {
			owners[b] = live[w].GRPCAddr
		}
		merged, err := ex.Scatter(ctx, step, id, owners)
		if err == nil {
			return merged, nil
		}
		peer, ok := unreachablePeer(err)
		if !ok || attempt == shuffleAttempts {
			return nil, err
		}
		for name, w := range live {
			if w.GRPCAddr == peer {
				ex.lost[name] = err
				n.log.Printf("shuffle %s: bucket holder %s unreachable, running the shuffle again without it: %v", id, name, err)
			}
		}
	}
}

// unreachablePeer is the address of the bucket holder a scatter step
// could not reach, if that is why err failed it.
func unreachablePeer(err error) (string, bool) {
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return "", false
	}
	for _, d := range se.GRPCStatus().Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.Reason == pb.ReasonPeerUnreachable {
			return info.Metadata["peer"], true
		}
	}
	return "", false
}

// shuffleLost tells an error from loading a bucket on a worker that does
// not hold all its parts: it restarted, or the bucket moved to it after
// the shuffle. The job runs again from its last checkpoint, shuffle and
// all.
func shuffleLost(err error) bool {
	var se interface{ GRPCStatus() *status.Status }
	return errors.As(err, &se) && se.GRPCStatus().Code() == codes.DataLoss
}
