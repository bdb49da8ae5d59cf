package features

import (
	"bytes"
	"context"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

// rangeBlocks cuts the excerpt into n byte ranges read as raw blocks, as
// a worker holds a transaction log's pieces.
func rangeBlocks(t *testing.T, n int) []*partition.Block {
	t.Helper()
	path := "testdata/online_retail_excerpt.csv"
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	blocks := make([]*partition.Block, n)
	for i := range blocks {
		tab := readCSV(t, path, st.Size()*int64(i)/int64(n), st.Size()*int64(i+1)/int64(n))
		blocks[i] = &partition.Block{ID: i, Rows: tab.Rows, Table: tab}
	}
	return blocks
}

// The shuffle's buckets, built from parts merged in source order, hold
// every customer of the whole log exactly once, in the bucket its id
// hashes to, with the whole log's features; the coordinator's partial
// has the whole log's counts.
func TestShuffleBucketsAreTheWholeLog(t *testing.T) {
	whole, err := Aggregate(readCSV(t, "testdata/online_retail_excerpt.csv", 0, -1), retailColumns)
	if err != nil {
		t.Fatal(err)
	}
	want := whole.Features(whole.AsOf())
	const buckets = 5
	merged, parts, err := algorithms.ShuffleLocal(context.Background(), rangeBlocks(t, 7), &AggregateStep{Cols: retailColumns, N: buckets})
	if err != nil {
		t.Fatal(err)
	}
	m := merged.(*AggregatePartial)
	wc := whole.Counts
	if m.Counts.Lines != wc.Lines || m.Counts.NoCustomer != wc.NoCustomer || m.Counts.Returns != wc.Returns ||
		m.Counts.Incomplete != wc.Incomplete || m.Counts.AsOf() != whole.AsOf() || m.Tally.Read != wc.Lines {
		t.Fatalf("shuffle counts %+v, tally %+v; whole %+v", m.Counts, m.Tally, wc)
	}
	params := CustomersParams{AsOf: m.Counts.AsOf(), ID: "CustomerID"}
	got := map[string][]float64{}
	for b, bp := range parts {
		tab, err := BucketTable(bp, params, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids := tab.Column("CustomerID")
		for r := range tab.Rows {
			id, _ := ids.Text(r)
			if Bucket(id, buckets) != b {
				t.Fatalf("customer %s in bucket %d, hashes to %d", id, b, Bucket(id, buckets))
			}
			if _, dup := got[id]; dup {
				t.Fatalf("customer %s in two buckets", id)
			}
			for j := range Names {
				got[id] = append(got[id], tab.Columns[1+j].Num[r])
			}
		}
	}
	if len(got) != len(want.IDs) {
		t.Fatalf("%d customers in the buckets, %d in the log", len(got), len(want.IDs))
	}
	for i, id := range want.IDs {
		f := got[id]
		for j, w := range want.Values[i*len(Names) : (i+1)*len(Names)] {
			// Money is added per range, then across ranges: the last bits may differ.
			if math.Abs(f[j]-w) > 1e-9*max(1, math.Abs(w)) {
				t.Fatalf("customer %s %s: %v, whole log %v", id, Names[j], f[j], w)
			}
		}
	}
}

// The same pieces give the same bytes in every bucket, whatever runs
// them in what order: a bucket does not depend on placement.
func TestShufflePartsAreDeterministic(t *testing.T) {
	step := &AggregateStep{Cols: retailColumns, N: 4}
	blocks := rangeBlocks(t, 5)
	_, a, err := algorithms.ShuffleLocal(context.Background(), blocks, step)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(blocks)
	_, b, err := algorithms.ShuffleLocal(context.Background(), blocks, step)
	if err != nil {
		t.Fatal(err)
	}
	for k := range a {
		for s := range a[k] {
			if !bytes.Equal(a[k][s], b[k][len(blocks)-1-s]) {
				t.Fatalf("bucket %d, source %d differs between runs", k, s)
			}
		}
	}
}

func TestCustomersRoundTripAndRefuseDamage(t *testing.T) {
	l, err := Aggregate(readCSV(t, "testdata/online_retail_excerpt.csv", 0, -1), retailColumns)
	if err != nil {
		t.Fatal(err)
	}
	data := EncodeCustomers(l.Customers)
	back, err := DecodeCustomers(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(l.Customers) {
		t.Fatalf("%d customers back of %d", len(back), len(l.Customers))
	}
	for id, c := range l.Customers {
		d := back[id]
		if d == nil || d.First != c.First || d.Last != c.Last || d.Lines != c.Lines || d.Spent != c.Spent ||
			d.Refunded != c.Refunded || !slices.Equal(d.Orders, c.Orders) || !slices.Equal(d.Returns, c.Returns) {
			t.Fatalf("customer %s: %+v back as %+v", id, c, d)
		}
	}
	if empty, err := DecodeCustomers(EncodeCustomers(nil)); err != nil || len(empty) != 0 {
		t.Fatalf("no customers: %v, %v", empty, err)
	}
	for _, cut := range []int{0, 1, len(data) / 2, len(data) - 1} {
		if _, err := DecodeCustomers(data[:cut]); err == nil {
			t.Errorf("%d of %d bytes decoded without an error", cut, len(data))
		}
	}
	if _, err := DecodeCustomers(append(slices.Clone(data), 0)); err == nil {
		t.Error("a trailing byte decoded without an error")
	}
}

func TestAggregateStepRefusesMap(t *testing.T) {
	if _, err := (&AggregateStep{Cols: retailColumns, N: 2}).Map(rangeBlocks(t, 1)[0]); err == nil {
		t.Fatal("Map of a scatter step ran")
	}
}
