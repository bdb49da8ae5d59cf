package features

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cohort/cohort/partition"
)

var retailColumns = Columns{Customer: "CustomerID", Time: "InvoiceDate", Order: "InvoiceNo", Quantity: "Quantity", Price: "UnitPrice"}

func readCSV(t testing.TB, path string, start, end int64) *partition.Table {
	t.Helper()
	format, schema, err := partition.SniffCSV(path, partition.CSVHints{Types: map[string]string{"InvoiceNo": "text"}})
	if err != nil {
		t.Fatal(err)
	}
	tab, _, rejects, err := partition.ReadCSVRange(path, format, schema, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if len(rejects) > 0 {
		t.Fatalf("%d rejected rows, first %+v", len(rejects), rejects[0])
	}
	return tab
}

type expected struct {
	AsOf       string `json:"asof"`
	NoCustomer int64  `json:"no_customer"`
	Rows       int64  `json:"rows"`
	Customers  map[string]struct {
		Recency, Monetary, Spent, Refunded, Tenure float64
		Frequency, Lines, Returns                  int
	} `json:"customers"`
}

// The excerpt of Online Retail, against features computed by excerpt.py
// in Python: every customer, every feature, the lines without a customer.
func TestOnlineRetailExcerpt(t *testing.T) {
	var want expected
	data, err := os.ReadFile("testdata/online_retail_excerpt_expected.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	l, err := Aggregate(readCSV(t, "testdata/online_retail_excerpt.csv", 0, -1), retailColumns)
	if err != nil {
		t.Fatal(err)
	}
	asOf, _ := time.Parse("2006-01-02", want.AsOf)
	if l.AsOf() != asOf.UnixMilli() {
		t.Fatalf("as of %v, want %v", time.UnixMilli(l.AsOf()).UTC(), asOf)
	}
	if l.Counts.Lines != want.Rows || l.Counts.NoCustomer != want.NoCustomer || l.Counts.Incomplete != 0 || int(l.Counts.Customers) != len(want.Customers) {
		t.Fatalf("counts %+v; want %d lines, %d without a customer, %d customers", l.Counts, want.Rows, want.NoCustomer, len(want.Customers))
	}
	tab := l.Features(l.AsOf())
	if len(tab.IDs) != len(want.Customers) {
		t.Fatalf("%d customer rows, want %d", len(tab.IDs), len(want.Customers))
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b)) }
	for i, id := range tab.IDs {
		w, ok := want.Customers[id]
		if !ok {
			t.Fatalf("customer %q is not in the excerpt", id)
		}
		f := tab.Values[i*len(Names) : (i+1)*len(Names)]
		c := l.Customers[id]
		if !near(f[0], w.Recency) || f[1] != float64(w.Frequency) || !near(f[2], w.Monetary) || !near(f[3], w.Tenure) ||
			c.Lines != int64(w.Lines) || len(c.Returns) != w.Returns || !near(c.Refunded, w.Refunded) {
			t.Errorf("customer %s: features %v, lines %d, returns %d; want %+v", id, f, c.Lines, len(c.Returns), w)
		}
		if w.Frequency > 0 && !near(f[4], w.Monetary/float64(w.Frequency)) {
			t.Errorf("customer %s: average order %v", id, f[4])
		}
	}
	if i := slices.Index(tab.IDs, "17547"); i < 0 || tab.Values[i*len(Names)+1] != 0 || tab.Values[i*len(Names)+2] >= 0 {
		t.Errorf("the customer with only a cancellation: %v", tab.Values[i*len(Names):(i+1)*len(Names)])
	}
}

// Aggregating byte ranges of the file apart, splitting each by bucket and
// merging the buckets per owner gives the whole file's customers, with
// orders split between ranges counted once.
func TestSplitsShuffleAndMergeEqualTheWhole(t *testing.T) {
	path := "testdata/online_retail_excerpt.csv"
	whole, err := Aggregate(readCSV(t, path, 0, -1), retailColumns)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	const ranges, owners = 7, 3
	byOwner := make([]*Log, owners)
	for r := range ranges {
		part, err := Aggregate(readCSV(t, path, st.Size()*int64(r)/ranges, st.Size()*int64(r+1)/ranges), retailColumns)
		if err != nil {
			t.Fatal(err)
		}
		for o, p := range part.Split(owners) {
			if byOwner[o] == nil {
				byOwner[o] = p
			} else {
				byOwner[o].Merge(p)
			}
		}
	}
	merged := byOwner[0]
	for o, p := range byOwner[1:] {
		for who := range p.Customers {
			if Bucket(who, owners) != o+1 {
				t.Fatalf("customer %s at owner %d, bucket %d", who, o+1, Bucket(who, owners))
			}
		}
		merged.Merge(p)
	}
	// Money is added in another order, so its last bits may differ.
	mc, wc := merged.Counts, whole.Counts
	if math.Abs(mc.NoCustAmt-wc.NoCustAmt) > 1e-9*math.Abs(wc.NoCustAmt) {
		t.Fatalf("amount without a customer: merged %v, whole %v", mc.NoCustAmt, wc.NoCustAmt)
	}
	mc.NoCustAmt = wc.NoCustAmt
	if mc != wc {
		t.Fatalf("merged counts %+v, whole %+v", mc, wc)
	}
	a, b := merged.Features(whole.AsOf()), whole.Features(whole.AsOf())
	if !slices.Equal(a.IDs, b.IDs) {
		t.Fatal("customers differ")
	}
	for i := range a.Values {
		if math.Abs(a.Values[i]-b.Values[i]) > 1e-9*max(1, math.Abs(b.Values[i])) {
			t.Fatalf("feature %d of customer %s: %v vs %v", i%len(Names), a.IDs[i/len(Names)], a.Values[i], b.Values[i])
		}
	}
}

func TestColumnsErrorsNameTheProblem(t *testing.T) {
	tab := readCSV(t, "testdata/online_retail_excerpt.csv", 0, 4000)
	for _, c := range []struct {
		cols Columns
		want string
	}{
		{Columns{Customer: "Customer", Time: "InvoiceDate", Order: "InvoiceNo", Amount: "UnitPrice"}, `transactions.customer: the data has no column "Customer"`},
		{Columns{Customer: "CustomerID", Time: "Country", Order: "InvoiceNo", Amount: "UnitPrice"}, "transactions.time: column Country is text, not time"},
		{Columns{Customer: "CustomerID", Time: "InvoiceDate", Order: "InvoiceNo", Quantity: "Quantity"}, "transactions.price: name the column (or name an amount column)"},
		{Columns{Customer: "CustomerID", Time: "InvoiceDate", Amount: "UnitPrice"}, "transactions.order: name the column"},
	} {
		if _, err := Aggregate(tab, c.cols); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cols, err, c.want)
		}
	}
}

// Lines without a time, order or value are counted as incomplete, not
// lost; an amount column may stand for quantity × price.
func TestIncompleteLinesAreCounted(t *testing.T) {
	tab := partition.NewTable([]partition.Field{{Name: "c", Type: partition.Text}, {Name: "t", Type: partition.Time}, {Name: "o", Type: partition.Number}, {Name: "a", Type: partition.Number}})
	add := func(c string, ms int64, o, a float64) {
		tab.AppendText(0, c, c == "")
		tab.Columns[1].Times = append(tab.Columns[1].Times, ms)
		tab.Columns[2].Num = append(tab.Columns[2].Num, o)
		tab.Columns[3].Num = append(tab.Columns[3].Num, a)
		tab.Rows++
	}
	add("x", 1000, 1, 10)
	add("x", 2000, 1, 5) // same order: frequency stays 1
	add("x", partition.MissingTime, 2, 5)
	add("y", 3000, math.NaN(), 5)
	add("y", 3000, 3, math.NaN())
	add("", 4000, 4, 7)
	add("y", 5000, 5, -3) // a return without a cancel prefix
	l, err := Aggregate(tab, Columns{Customer: "c", Time: "t", Order: "o", Amount: "a"})
	if err != nil {
		t.Fatal(err)
	}
	want := Counts{Lines: 7, Customers: 2, NoCustomer: 1, NoCustAmt: 7, Incomplete: 3, Returns: 1, Latest: 5000}
	if l.Counts != want {
		t.Fatalf("counts %+v, want %+v", l.Counts, want)
	}
	x, y := l.Customers["x"], l.Customers["y"]
	if len(x.Orders) != 1 || x.Spent != 15 || len(y.Orders) != 0 || y.Refunded != 3 || len(y.Returns) != 1 {
		t.Fatalf("x %+v, y %+v", x, y)
	}
}

// The whole Online Retail file, when ../shared is there: 4,372 customers
// and 135,080 lines without a customer id, counted.
func TestOnlineRetailWhole(t *testing.T) {
	path := "../../../shared/data/online_retail/online_retail.csv.gz"
	if _, err := os.Stat(path); err != nil {
		t.Skip("the shared Online Retail file is not here")
	}
	l, err := Aggregate(readCSV(t, path, 0, -1), retailColumns)
	if err != nil {
		t.Fatal(err)
	}
	if l.Counts.Lines != 541_909 || l.Counts.Customers != 4_372 || l.Counts.NoCustomer != 135_080 || l.Counts.Incomplete != 0 {
		t.Fatalf("counts %+v", l.Counts)
	}
	if got := time.UnixMilli(l.AsOf()).UTC().Format(time.DateOnly); got != "2011-12-10" {
		t.Fatalf("as of %s", got)
	}
	if tab := l.Features(l.AsOf()); len(tab.IDs) != 4_372 || len(tab.Values) != 4_372*len(Names) {
		t.Fatalf("%d customer rows", len(tab.IDs))
	}
}
