package features

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cohort/cohort/partition"
)

// Columns names a transaction log's columns, as a job spec's transactions
// section does. Amount, if set, is the line's value; otherwise it is
// Quantity × Price.
type Columns struct {
	Customer string `json:"customer" yaml:"customer"`
	Time     string `json:"time" yaml:"time"`
	Order    string `json:"order" yaml:"order"`
	Quantity string `json:"quantity,omitempty" yaml:"quantity"`
	Price    string `json:"price,omitempty" yaml:"price"`
	Amount   string `json:"amount,omitempty" yaml:"amount"`
	// CancelPrefix marks a cancelled order by its id's first characters
	// (Online Retail's "C"); a line with a negative value is a return too.
	// Default "C".
	CancelPrefix string `json:"cancel_prefix,omitempty" yaml:"cancel_prefix"`
}

// Customer is what the lines seen so far say about one customer.
type Customer struct {
	First, Last int64    // Unix ms of the customer's first and last line
	Orders      []uint64 // distinct orders bought, as hashes of their ids, sorted
	Returns     []uint64 // distinct orders returned or cancelled
	Spent       float64  // the value of the lines bought
	Refunded    float64  // the value of the lines returned, as a positive amount
	Lines       int64
}

// Counts say what became of a log's lines; none is lost without a count.
type Counts struct {
	Lines      int64   `json:"lines"`
	Customers  int64   `json:"customers"`   // distinct, once merged
	NoCustomer int64   `json:"no_customer"` // lines without a customer id: not a customer's
	NoCustAmt  float64 `json:"no_customer_amount"`
	Incomplete int64   `json:"incomplete"` // lines missing their time, order or value
	Returns    int64   `json:"returns"`    // lines that are returns or cancellations
	Latest     int64   `json:"latest"`     // Unix ms of the latest line with a time
}

// Log is a transaction log aggregated by customer: a partition's part, or
// several merged.
type Log struct {
	Customers map[string]*Customer
	Counts    Counts
}

// Check reports the first column the log does not have, or not of a type
// its role needs, naming the spec's field.
func (cols Columns) Check(schema []partition.Field) error {
	check := func(role, name string, types ...partition.ColumnType) error {
		if name == "" {
			return fmt.Errorf("transactions.%s: name the column", role)
		}
		i := slices.IndexFunc(schema, func(f partition.Field) bool { return f.Name == name })
		if i < 0 {
			return fmt.Errorf("transactions.%s: the data has no column %q (columns: %s)", role, name, strings.Join(partition.FieldNames(schema), ", "))
		}
		if !slices.Contains(types, schema[i].Type) {
			return fmt.Errorf("transactions.%s: column %s is %s, not %s", role, name, schema[i].Type, types[0])
		}
		return nil
	}
	if err := check("customer", cols.Customer, partition.Text, partition.Number); err != nil {
		return err
	}
	if err := check("time", cols.Time, partition.Time); err != nil {
		return err
	}
	if err := check("order", cols.Order, partition.Text, partition.Number); err != nil {
		return err
	}
	if cols.Amount != "" {
		return check("amount", cols.Amount, partition.Number)
	}
	if err := check("quantity", cols.Quantity, partition.Number); err != nil {
		return fmt.Errorf("%w (or name an amount column)", err)
	}
	if err := check("price", cols.Price, partition.Number); err != nil {
		return fmt.Errorf("%w (or name an amount column)", err)
	}
	return nil
}

// Needed are the columns a log's features are made from: the only ones
// read.
func (cols Columns) Needed() []string {
	out := []string{cols.Customer, cols.Time, cols.Order}
	if cols.Amount != "" {
		return append(out, cols.Amount)
	}
	return append(out, cols.Quantity, cols.Price)
}

// Aggregate folds a partition's transaction lines into a Log.
func Aggregate(t *partition.Table, cols Columns) (*Log, error) {
	if err := cols.Check(t.Schema()); err != nil {
		return nil, err
	}
	cust, tm, order := t.Column(cols.Customer), t.Column(cols.Time), t.Column(cols.Order)
	var amount, qty, price *partition.Column
	if cols.Amount != "" {
		amount = t.Column(cols.Amount)
	} else {
		qty, price = t.Column(cols.Quantity), t.Column(cols.Price)
	}
	prefix := cols.CancelPrefix
	if prefix == "" {
		prefix = "C"
	}

	l := &Log{Customers: map[string]*Customer{}, Counts: Counts{Latest: math.MinInt64}}
	for r := range t.Rows {
		l.Counts.Lines++
		ms := tm.Times[r]
		var v float64
		if amount != nil {
			v = amount.Num[r]
		} else {
			v = qty.Num[r] * price.Num[r]
		}
		id, hasOrder := key(order, r)
		if ms == partition.MissingTime || !hasOrder || math.IsNaN(v) || math.IsInf(v, 0) {
			l.Counts.Incomplete++
			continue
		}
		l.Counts.Latest = max(l.Counts.Latest, ms)
		cancelled := strings.HasPrefix(id, prefix) || v < 0
		if cancelled {
			l.Counts.Returns++
		}
		who, ok := key(cust, r)
		if !ok {
			l.Counts.NoCustomer++
			l.Counts.NoCustAmt += v
			continue
		}
		c := l.Customers[who]
		if c == nil {
			c = &Customer{First: ms, Last: ms}
			l.Customers[who] = c
		}
		c.First, c.Last = min(c.First, ms), max(c.Last, ms)
		c.Lines++
		h := hash(id)
		if cancelled {
			c.Refunded -= v
			c.Returns = insert(c.Returns, h)
		} else {
			c.Spent += v
			c.Orders = insert(c.Orders, h)
		}
	}
	l.Counts.Customers = int64(len(l.Customers))
	return l, nil
}

// key is an id cell as text (partition.Column.Key); false when missing.
func key(c *partition.Column, r int) (string, bool) { return c.Key(r) }

func hash(s string) uint64 { return partition.Hash(s) }

// insert adds h to the sorted set s.
func insert(s []uint64, h uint64) []uint64 {
	i, found := slices.BinarySearch(s, h)
	if found {
		return s
	}
	return slices.Insert(s, i, h)
}

// union merges sorted sets.
func union(a, b []uint64) []uint64 {
	out := make([]uint64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}

// Merge adds o into l. Distinct orders stay distinct across parts (an
// order's lines may be split between partitions); sums of money are added
// in the order parts are merged, so merging in partition order gives the
// same bits on any placement.
func (l *Log) Merge(o *Log) {
	for who, oc := range o.Customers {
		c := l.Customers[who]
		if c == nil {
			cp := *oc
			cp.Orders, cp.Returns = slices.Clone(oc.Orders), slices.Clone(oc.Returns)
			l.Customers[who] = &cp
			continue
		}
		c.add(oc)
	}
	l.Counts.Lines += o.Counts.Lines
	l.Counts.NoCustomer += o.Counts.NoCustomer
	l.Counts.NoCustAmt += o.Counts.NoCustAmt
	l.Counts.Incomplete += o.Counts.Incomplete
	l.Counts.Returns += o.Counts.Returns
	l.Counts.Latest = max(l.Counts.Latest, o.Counts.Latest)
	l.Counts.Customers = int64(len(l.Customers))
}

// add folds o, a later part of the same customer, into c.
func (c *Customer) add(o *Customer) {
	c.First, c.Last = min(c.First, o.First), max(c.Last, o.Last)
	c.Orders, c.Returns = union(c.Orders, o.Orders), union(c.Returns, o.Returns)
	c.Spent += o.Spent
	c.Refunded += o.Refunded
	c.Lines += o.Lines
}

// Bucket is the shuffle's owner of a customer among n: workers send each
// customer's part to the worker of its bucket, so that no node holds every
// customer.
func Bucket(customer string, n int) int { return partition.Bucket(customer, n) }

// Split cuts l into n logs by Bucket; the counts of lines stay with the
// first, so that merging the parts back gives l's counts.
func (l *Log) Split(n int) []*Log {
	out := make([]*Log, n)
	for i := range out {
		out[i] = &Log{Customers: map[string]*Customer{}, Counts: Counts{Latest: math.MinInt64}}
	}
	out[0].Counts = l.Counts
	for who, c := range l.Customers {
		out[Bucket(who, n)].Customers[who] = c
	}
	for _, p := range out {
		p.Counts.Customers = int64(len(p.Customers))
	}
	return out
}

// Names are the features a customer row has, in order.
var Names = []string{"recency_days", "frequency", "monetary", "tenure_days", "avg_order_value", "clv_3y"}

// Table is one row per customer: ids sorted, and len(Names) features each.
type Table struct {
	IDs    []string
	Values []float64
}

const day = 86_400_000.0

// AsOf is the date recency and tenure are measured from by default: the
// start of the day after the latest line.
func (l *Log) AsOf() int64 { return l.Counts.AsOf() }

// Features is the customer table as of asOf (Unix ms):
//
//   - recency_days: days since the customer's last line;
//   - frequency: distinct orders bought (returns not counted);
//   - monetary: spent less refunded, in the data's currency;
//   - tenure_days: days since the customer's first line;
//   - avg_order_value: monetary ÷ frequency (0 without orders);
//   - clv_3y: a run-rate lifetime value, monetary per day of tenure (at
//     least 30 days, so a new customer's first order is not annualised
//     from an hour) over three years — a plain extrapolation, not a
//     probabilistic model of churn.
func (l *Log) Features(asOf int64) Table {
	// Numeric ids in numeric order, the rest after them as text. Each id is
	// parsed once, not at every comparison of the sort.
	type key struct {
		id  string
		num float64
		ok  bool
	}
	keys := make([]key, 0, len(l.Customers))
	for who := range l.Customers {
		x, err := strconv.ParseFloat(who, 64)
		keys = append(keys, key{who, x, err == nil})
	}
	slices.SortFunc(keys, func(a, b key) int {
		switch {
		case a.ok && b.ok && a.num != b.num:
			return cmp.Compare(a.num, b.num)
		case a.ok != b.ok:
			if a.ok {
				return -1
			}
			return 1
		}
		return strings.Compare(a.id, b.id)
	})
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.id
	}
	t := Table{IDs: ids, Values: make([]float64, 0, len(ids)*len(Names))}
	for _, who := range ids {
		c := l.Customers[who]
		freq := float64(len(c.Orders))
		money := c.Spent - c.Refunded
		tenure := float64(asOf-c.First) / day
		aov := 0.0
		if freq > 0 {
			aov = money / freq
		}
		t.Values = append(t.Values, float64(asOf-c.Last)/day, freq, money, tenure, aov, money/max(tenure, 30)*3*365)
	}
	return t
}
