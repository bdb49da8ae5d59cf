package main

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cohort/cohort/client"
)

// messyLog writes the Online Retail excerpt gzip'd, with three lines that
// cannot be read added: a ragged one, a quantity that is not a number and
// a date that is not a date.
func messyLog(t *testing.T) string {
	t.Helper()
	text, err := os.ReadFile("../../algorithms/features/testdata/online_retail_excerpt.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(text), "\n")
	bad := []string{
		"536999,22139,RAGGED,1,2010-12-01 11:52:00\n",
		"537000,22139,WORDS,some,2010-12-01 11:52:00,2.5,12921.0,United Kingdom\n",
		"537001,22139,WHEN,3,the first of may,2.5,12921.0,United Kingdom\n",
	}
	// After line 10, 1000 and 2000 of the file.
	out := append([]string{}, lines[:10]...)
	out = append(out, bad[0])
	out = append(out, lines[10:1000]...)
	out = append(out, bad[1])
	out = append(out, lines[1000:2000]...)
	out = append(out, bad[2])
	out = append(out, lines[2000:]...)
	p := filepath.Join(t.TempDir(), "retail.csv.gz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	if _, err := zw.Write([]byte(strings.Join(out, ""))); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

const retailTx = "transactions: {customer: CustomerID, time: InvoiceDate, order: InvoiceNo, quantity: Quantity, price: UnitPrice}\n"

// cohort run on a transaction log: the real binary reads the gzip'd log,
// groups it by customer across two workers, segments the customers and
// accounts for every line: in a customer's row, without a customer, or
// unreadable with its line in the rejects file.
func TestRunOnATransactionLog(t *testing.T) {
	data, out := messyLog(t), t.TempDir()
	spec := writeSpec(t, fmt.Sprintf("name: retail\ndata:\n  path: %s\n  csv: {types: {InvoiceNo: text}}\n%s"+
		"prepare: {log1p: [frequency, tenure_days], scale: robust}\ncluster: {k: 3}\noutput: {dir: %s, format: csv}\n", data, retailTx, out))
	stdout, stderr, err := cli(t, "run", spec, "--workers", "2", "--json")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	var s client.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("summary %q: %v", stdout, err)
	}
	tx := s.Transactions
	if tx == nil || tx.Lines != 3877 || tx.Rejected != 3 || tx.Customers != 60 || tx.NoCustomer != 226 || tx.AsOf != "2011-12-10" {
		t.Fatalf("transactions %+v", tx)
	}
	if s.Rows != 60 || s.Dims != 6 || s.Data == nil || s.Data.Rejected != 3 || len(s.Data.Rejects) != 3 {
		t.Fatalf("rows %d × %d, data %+v", s.Rows, s.Dims, s.Data)
	}
	if r := s.Data.Rejects; r[0].Line != 11 || r[1].Line != 1002 || !strings.Contains(r[1].Reason, "not a number") || r[2].Line != 2003 {
		t.Fatalf("rejects %+v", r)
	}
	var phases []string
	for _, p := range s.Phases {
		phases = append(phases, p.Phase)
	}
	if got := strings.Join(phases, ","); !strings.HasPrefix(got, "plan,read and shuffle,rejects,buckets,prepare stats,") {
		t.Errorf("phases %s", got)
	}
	var assigned int64
	for _, p := range s.Profiles {
		assigned += p.Size
		if !strings.ContainsAny(p.Label, "rfl") || !strings.Contains(p.Label, "value") {
			t.Errorf("segment %d label %q: RFM words expected", p.Segment, p.Label)
		}
	}
	if assigned != 60 {
		t.Fatalf("profiles hold %d customers", assigned)
	}
	ids := assignedCSV(t, out)
	if len(ids) != 60 || ids["17547"] != 1 || ids["17547.0"] != 0 || maxCount(ids) != 1 {
		t.Fatalf("%d customers assigned", len(ids))
	}
	rejects, _ := filepath.Glob(filepath.Join(out, "rejects", "part-*.csv"))
	if len(rejects) != 1 {
		t.Fatalf("rejects files %v", rejects)
	}
	if text, _ := os.ReadFile(rejects[0]); strings.Count(string(text), "\n") != 4 || !strings.Contains(string(text), ",1002,") {
		t.Fatalf("rejects file %q", text)
	}
}

// Too many unreadable lines, or a column the log does not have, fail the
// job with the problem named.
func TestRunOnATransactionLogFailsWithTheProblemNamed(t *testing.T) {
	data := messyLog(t)
	for _, c := range []struct{ extra, tx, want string }{
		{"  max_rejects: 0\n", retailTx, "3 of 3880 rows (0.08%) could not be read, more than data.max_rejects allows"},
		{"", strings.Replace(retailTx, "price: UnitPrice", "price: Price", 1), `transactions.price: the data has no column "Price"`},
		{"", strings.Replace(retailTx, "time: InvoiceDate", "time: Country", 1), "transactions.time: column Country is text, not time"},
	} {
		spec := writeSpec(t, fmt.Sprintf("data:\n  path: %s\n  csv: {types: {InvoiceNo: text}}\n%s%scluster: {k: 2}\n", data, c.extra, c.tx))
		_, stderr, err := cli(t, "run", spec)
		if err == nil || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: %v, stderr %q", c.want, err, stderr)
		}
	}
}

// The whole Online Retail log through the example spec, when the shared
// data is here: 4,372 customers, each with exactly one segment, and the
// 135,080 lines without a customer id reported, not lost.
func TestRunTheOnlineRetailExample(t *testing.T) {
	if _, err := os.Stat("../../../shared/data/online_retail/online_retail.csv.gz"); err != nil {
		t.Skip("the shared Online Retail file is not here")
	}
	text, err := os.ReadFile("../../examples/online_retail.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	spec := strings.Replace(string(text), "path: ../shared/data/", "path: ../../../shared/data/", 1)
	spec = strings.Replace(spec, "dir: out/online-retail", fmt.Sprintf("dir: %s\n  format: csv", out), 1)
	stdout, stderr, err := cli(t, "run", writeSpec(t, spec), "--workers", "2", "--json")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	var s client.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	if tx := s.Transactions; tx == nil || tx.Lines != 541_909 || tx.Customers != 4_372 || tx.NoCustomer != 135_080 || tx.Rejected != 0 || s.Rows != 4_372 {
		t.Fatalf("transactions %+v, %d rows", s.Transactions, s.Rows)
	}
	if seen := assignedCSV(t, out); len(seen) != 4_372 || maxCount(seen) != 1 {
		t.Fatalf("%d customers have a segment (at most %d each), want 4372 with one each", len(seen), maxCount(seen))
	}
}

// assignedCSV counts, by customer id, the rows of a job's CSV assignment
// part files.
func assignedCSV(t *testing.T, out string) map[string]int {
	t.Helper()
	parts, _ := filepath.Glob(filepath.Join(out, "assignments", "part-*.csv"))
	if len(parts) == 0 {
		t.Fatalf("no assignment part files in %s", out)
	}
	ids := map[string]int{}
	for _, p := range parts {
		text, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range strings.Split(strings.TrimSpace(string(text)), "\n")[1:] {
			ids[strings.Split(row, ",")[0]]++
		}
	}
	return ids
}

func maxCount(ids map[string]int) int {
	m := 0
	for _, n := range ids {
		m = max(m, n)
	}
	return m
}
