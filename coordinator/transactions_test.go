package coordinator_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/features"
	"github.com/cohort/cohort/algorithms/prepare"
	"github.com/cohort/cohort/jobspec"
	"github.com/cohort/cohort/partition"
)

const retailExcerpt = "../algorithms/features/testdata/online_retail_excerpt.csv"

// retailSpec segments the Online Retail excerpt's customers; its assignments
// are written as CSV to out.
func retailSpec(out string, maxIter int) string { return retailSpecAt(retailExcerpt, out, maxIter) }

// retailSpecAt is retailSpec over the log at path.
func retailSpecAt(path, out string, maxIter int) string {
	return fmt.Sprintf(`
name: retail
seed: 5
data:
  path: %s
  csv: {types: {InvoiceNo: text}}
transactions: {customer: CustomerID, time: InvoiceDate, order: InvoiceNo, quantity: Quantity, price: UnitPrice}
prepare:
  log1p: [frequency, tenure_days]
  scale: robust
cluster: {k: 4, max_iter: %d, tol: 0}
output: {dir: %s, format: csv}
`, path, maxIter, out)
}

// splitExcerpt writes the excerpt as a folder of n CSV files, each with
// the header, so that a customer's lines lie in several pieces.
func splitExcerpt(t *testing.T, n int) string {
	t.Helper()
	text, err := os.ReadFile(retailExcerpt)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(text), "\n"), "\n")
	header, rows := lines[0], lines[1:]
	dir := t.TempDir()
	for i := range n {
		part := header + strings.Join(rows[i*len(rows)/n:(i+1)*len(rows)/n], "")
		if !strings.HasSuffix(part, "\n") {
			part += "\n"
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("part-%d.csv", i)), []byte(part), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// excerptCustomers are the customer ids of the excerpt, as computed
// independently of the Go code (excerpt.py).
func excerptCustomers(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../algorithms/features/testdata/online_retail_excerpt_expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Customers map[string]json.RawMessage `json:"customers"`
	}
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(want.Customers))
	for id := range want.Customers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// assignments reads a job's assignment part files: each customer's segment.
// A customer written twice fails the test.
func assignments(t *testing.T, dir string) map[string]string {
	t.Helper()
	return assignmentFields(t, dir, func(r []string) string { return r[1] })
}

// assignmentFields is assignments with each customer's fields as field
// makes them of its row.
func assignmentFields(t *testing.T, dir string, field func([]string) string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "assignments", "part-*.csv"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no assignment files in %s (%v)", dir, err)
	}
	out := map[string]string{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(fh).ReadAll()
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(rows) == 0 || strings.Join(rows[0], ",") != "id,segment,distance" {
			t.Fatalf("%s: header %v", f, rows[:min(1, len(rows))])
		}
		for _, r := range rows[1:] {
			if _, dup := out[r[0]]; dup {
				t.Fatalf("customer %s assigned twice", r[0])
			}
			out[r[0]] = field(r)
		}
	}
	return out
}

// localRetail is the same job in one process: the log's pieces shuffled
// by the local twin of the shuffle, the preparation fitted and k-means run
// with the local executor, over buckets read from the local shuffle's parts.
func localRetail(t *testing.T, specYAML string) algorithms.Description {
	t.Helper()
	ctx := context.Background()
	spec, err := jobspec.Parse([]byte(specYAML))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := partition.PlanFiles(spec.Data.Path, spec.CSVHints(), 0)
	if err != nil {
		t.Fatal(err)
	}
	tx := spec.Transactions
	src, err := partition.Open(partition.Spec{Files: fs, Columns: tx.Needed()}, partition.Env{})
	if err != nil {
		t.Fatal(err)
	}
	lines, err := partition.LoadAll(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	const buckets = 16
	merged, parts, err := algorithms.ShuffleLocal(ctx, lines, &features.AggregateStep{Cols: tx.Columns, N: buckets})
	if err != nil {
		t.Fatal(err)
	}
	cp := features.CustomersParams{AsOf: merged.(*features.AggregatePartial).Counts.AsOf(), ID: tx.Customer}
	params, _ := json.Marshal(cp)
	sh := &partition.ShuffleSpec{ID: "local", Buckets: buckets, Sources: len(lines), Kind: features.KindCustomers, Params: params,
		Schema: features.CustomerSchema(tx.Customer)}
	env := partition.Env{Prepare: prepare.Open, Buckets: func(_ context.Context, _ *partition.ShuffleSpec, id int, columns []string) (*partition.Table, int64, error) {
		t, err := features.BucketTable(parts[id], cp, columns)
		return t, 0, err
	}}
	cfg, scale := spec.PrepareConfig()
	used, err := prepare.Select(sh.Schema, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range used {
		cfg.Columns = append(cfg.Columns, f.Name)
	}
	raw, err := partition.Open(partition.Spec{Shuffle: sh, Columns: cfg.Columns}, env)
	if err != nil {
		t.Fatal(err)
	}
	rawBlocks, err := partition.LoadAll(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	prep := prepare.NewProgram(cfg, scale, used)
	if err := algorithms.Drive(ctx, prep, &algorithms.LocalExecutor{Blocks: rawBlocks}, nil); err != nil {
		t.Fatal(err)
	}
	pl, err := prep.Result()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(pl)
	ready, err := partition.Open(partition.Spec{Shuffle: sh, Prepare: data}, env)
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := partition.LoadAll(ctx, ready)
	if err != nil {
		t.Fatal(err)
	}
	return localFit(t, spec, blocks, ready.Rows(), ready.Dims())
}

// A transaction log becomes one row per customer through the shuffle
// between workers; every customer of the excerpt gets exactly one
// segment; the lines without a customer are counted; and the centroids
// have the same bits in one process and on one or three workers, so the
// shuffle's result does not depend on who held which bucket. The log is
// four files, so customers' lines are in several pieces, read by
// different workers, and their parts merge in piece order.
func TestTransactionsJobGivesEveryCustomerOneSegment(t *testing.T) {
	customers := excerptCustomers(t)
	logDir := splitExcerpt(t, 4)
	want := localRetail(t, retailSpecAt(logDir, t.TempDir(), 30))
	var first map[string]string
	for _, workers := range []int{1, 3} {
		out := t.TempDir()
		c := startCoordinators(t, 1, 10*time.Second)
		c.AddWorkers(workers)
		res := c.Run(0, retailSpecAt(logDir, out, 30), nil)
		sameBits(t, fmt.Sprintf("%d workers", workers), want.Centres, res.Centroids)
		c.AwaitReleased() // the shuffle's parts and every dataset, at the job's end
		if res.Rows != int64(len(customers)) {
			t.Fatalf("%d workers: %d rows, want the excerpt's %d customers", workers, res.Rows, len(customers))
		}
		var sum features.LogSummary
		if err := json.Unmarshal(res.TransactionsJson, &sum); err != nil {
			t.Fatal(err)
		}
		if sum.Lines != 3877 || sum.NoCustomer != 226 || sum.Customers != int64(len(customers)) || sum.Rejected != 0 || sum.Buckets != 16 {
			t.Fatalf("%d workers: transactions %+v; want 3877 lines, 226 without a customer, %d customers", workers, sum, len(customers))
		}
		got := assignments(t, out)
		ids := make([]string, 0, len(got))
		for id := range got {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, customers) {
			t.Fatalf("%d workers: assigned %d customers %v, want %v", workers, len(ids), ids, customers)
		}
		if first == nil {
			first = got
		} else if fmt.Sprint(first) != fmt.Sprint(got) {
			t.Fatalf("segments differ between 1 and %d workers", workers)
		}
		c.Close()
	}
}

// A worker holding buckets dies during k-means: its buckets cannot be
// rebuilt from the files alone, so the job reads and shuffles the log
// again over the workers left, resumes k-means from its checkpoint, and
// ends with the same centroids and every customer assigned once.
func TestLostBucketHolderShufflesAgainWithTheSameResult(t *testing.T) {
	customers := excerptCustomers(t)
	spec := retailSpec("", 30)
	want := localRetail(t, spec)
	out := t.TempDir()
	c := startCoordinators(t, 1, 10*time.Second)
	c.AddWorkers(3)
	var killed atomic.Bool
	kill := func(p algorithms.Progress) {
		if p.Phase == "lloyd" && p.Iteration >= 2 && killed.CompareAndSwap(false, true) {
			c.Workers[2].Kill()
		}
	}
	c.OnStep(kill)
	res := c.Run(0, retailSpec(out, 30), nil)
	if !killed.Load() {
		t.Fatal("job finished before a worker could be killed")
	}
	sameBits(t, "after losing a bucket holder", want.Centres, res.Centroids)
	if got := assignments(t, out); len(got) != len(customers) {
		t.Fatalf("%d customers assigned, want %d", len(got), len(customers))
	}
	var phases []string
	for _, p := range res.Phases {
		phases = append(phases, p.Phase)
	}
	if !slices.Contains(phases, "read and shuffle") {
		t.Fatalf("phases %v", phases)
	}
}

// A worker that joins after the shuffle holds none of its buckets: the
// customers stay where the shuffle put them and the job goes on, without
// reading and shuffling the log again.
func TestWorkerJoiningAfterTheShuffleChangesNothing(t *testing.T) {
	spec := retailSpec("", 30)
	want := localRetail(t, spec)
	c := startCoordinators(t, 1, 10*time.Second)
	c.AddWorkers(2)
	var joined, redone atomic.Bool
	watch := func(p algorithms.Progress) {
		if p.Phase == "lloyd" && p.Iteration >= 2 && joined.CompareAndSwap(false, true) {
			c.AddWorkers(1) // waits for the leader to register it
		}
		if joined.Load() && strings.HasPrefix(p.Phase, "prepare") {
			redone.Store(true)
		}
	}
	c.OnStep(watch)
	res := c.Run(0, retailSpec(t.TempDir(), 30), nil)
	if !joined.Load() || redone.Load() {
		t.Fatalf("joined %v; prepared again after the join: %v", joined.Load(), redone.Load())
	}
	sameBits(t, "with a worker joining", want.Centres, res.Centroids)
}
