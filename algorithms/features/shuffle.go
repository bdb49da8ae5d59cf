package features

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

// Step kinds and the shuffle kind on the wire.
const (
	KindAggregate = "features/aggregate"
	// KindCustomers names what builds a customers bucket from its parts
	// (partition.ShuffleSpec.Kind).
	KindCustomers = "features/customers"
)

// AggregateStep aggregates a partition of a transaction log by customer
// and scatters the customers into buckets by a hash of their id: the
// first half of the distributed group-by. Its partial to the coordinator
// is the lines' counts and what could not be read.
type AggregateStep struct {
	Cols Columns `json:"cols"`
	N    int     `json:"buckets"`
}

var _ algorithms.Scatter = (*AggregateStep)(nil)

func (s *AggregateStep) Kind() string                   { return KindAggregate }
func (s *AggregateStep) MarshalBinary() ([]byte, error) { return json.Marshal(s) }
func (s *AggregateStep) Buckets() int                   { return s.N }

// Map refuses: the step's customers must go to their buckets' holders.
func (s *AggregateStep) Map(b *partition.Block) (algorithms.Partial, error) {
	return nil, fmt.Errorf("%s scatters customers to buckets; run it as a shuffle", KindAggregate)
}

// Scatter implements algorithms.Scatter.
func (s *AggregateStep) Scatter(b *partition.Block) (algorithms.Partial, [][]byte, error) {
	if b.Table == nil {
		return nil, nil, fmt.Errorf("partition %d has no table of transactions", b.ID)
	}
	if s.N < 1 {
		return nil, nil, fmt.Errorf("%d buckets", s.N)
	}
	l, err := Aggregate(b.Table, s.Cols)
	if err != nil {
		return nil, nil, err
	}
	parts := make([][]byte, s.N)
	for i, p := range l.Split(s.N) {
		parts[i] = EncodeCustomers(p.Customers)
	}
	c := l.Counts
	c.Customers = 0 // a customer may have lines in several partitions: counted once bucketed
	return &AggregatePartial{Counts: c, Tally: partition.TallyOf(b)}, parts, nil
}

// AggregatePartial is what became of a log's lines: the counts, and the
// rows of its files that could not be read.
type AggregatePartial struct {
	Counts Counts          `json:"counts"`
	Tally  partition.Tally `json:"tally"`
}

func (p *AggregatePartial) Merge(next algorithms.Partial) error {
	n, ok := next.(*AggregatePartial)
	if !ok {
		return errors.New("merge mismatched transaction partials")
	}
	latest := max(p.Counts.Latest, n.Counts.Latest)
	p.Counts.Lines += n.Counts.Lines
	p.Counts.NoCustomer += n.Counts.NoCustomer
	p.Counts.NoCustAmt += n.Counts.NoCustAmt
	p.Counts.Incomplete += n.Counts.Incomplete
	p.Counts.Returns += n.Counts.Returns
	p.Counts.Latest = latest
	p.Tally.Merge(&n.Tally)
	return nil
}

func (p *AggregatePartial) MarshalBinary() ([]byte, error) { return json.Marshal(p) }

// ReadTally is what reading the log's files found.
func (p *AggregatePartial) ReadTally() *partition.Tally { return &p.Tally }

// AsOf is the start of the day after the latest line.
func (c Counts) AsOf() int64 { return (c.Latest/int64(day) + 1) * int64(day) }

// Codec decodes the features' steps and partials.
type Codec struct{}

func (Codec) DecodeStep(kind string, params []byte) (algorithms.Step, error) {
	if kind != KindAggregate {
		return nil, fmt.Errorf("unknown features step %q", kind)
	}
	s := &AggregateStep{}
	if err := json.Unmarshal(params, s); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	return s, nil
}

func (Codec) DecodePartial(kind string, data []byte) (algorithms.Partial, error) {
	if kind != KindAggregate {
		return nil, fmt.Errorf("unknown features partial %q", kind)
	}
	p := &AggregatePartial{}
	if err := json.Unmarshal(data, p); err != nil {
		return nil, fmt.Errorf("decode %s partial: %w", kind, err)
	}
	return p, nil
}

// EncodeCustomers writes customers in id order: an id, first and last
// times, lines, money, then orders and returns as sorted hashes, deltas
// in varints. About 40 bytes for a customer of a few orders.
func EncodeCustomers(cs map[string]*Customer) []byte {
	ids := make([]string, 0, len(cs))
	size := 10
	for id, c := range cs {
		ids = append(ids, id)
		size += len(id) + 48 + 4*(len(c.Orders)+len(c.Returns))
	}
	slices.Sort(ids)
	out := make([]byte, 0, size)
	out = binary.AppendUvarint(out, uint64(len(ids)))
	for _, id := range ids {
		c := cs[id]
		out = binary.AppendUvarint(out, uint64(len(id)))
		out = append(out, id...)
		out = binary.AppendVarint(out, c.First)
		out = binary.AppendVarint(out, c.Last-c.First)
		out = binary.AppendVarint(out, c.Lines)
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(c.Spent))
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(c.Refunded))
		out = appendSet(out, c.Orders)
		out = appendSet(out, c.Returns)
	}
	return out
}

func appendSet(out []byte, s []uint64) []byte {
	out = binary.AppendUvarint(out, uint64(len(s)))
	var prev uint64
	for _, h := range s {
		out = binary.AppendUvarint(out, h-prev)
		prev = h
	}
	return out
}

// DecodeCustomers reads what EncodeCustomers wrote.
func DecodeCustomers(data []byte) (map[string]*Customer, error) {
	r := reader{buf: data}
	n := r.uvarint()
	if r.err == nil && n > uint64(len(data)) {
		r.err = fmt.Errorf("%d customers in %d bytes", n, len(data))
	}
	out := make(map[string]*Customer, min(n, uint64(len(data))))
	for range n {
		if r.err != nil {
			break
		}
		id := string(r.bytes(r.uvarint()))
		c := &Customer{First: r.varint()}
		c.Last = c.First + r.varint()
		c.Lines = r.varint()
		c.Spent, c.Refunded = r.float(), r.float()
		c.Orders, c.Returns = r.set(), r.set()
		if _, dup := out[id]; dup && r.err == nil {
			r.err = fmt.Errorf("customer %q twice", id)
		}
		out[id] = c
	}
	if r.err == nil && len(r.buf) > 0 {
		r.err = fmt.Errorf("%d bytes after the customers", len(r.buf))
	}
	if r.err != nil {
		return nil, fmt.Errorf("decode customers: %w", r.err)
	}
	return out, nil
}

// reader reads varints off a buffer; the first error sticks.
type reader struct {
	buf []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.err = errors.New("truncated")
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.err = errors.New("truncated")
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.buf)) {
		r.err = errors.New("truncated")
		return nil
	}
	b := r.buf[:n]
	r.buf = r.buf[n:]
	return b
}

func (r *reader) float() float64 {
	b := r.bytes(8)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

func (r *reader) set() []uint64 {
	n := r.uvarint()
	if r.err != nil || n == 0 {
		return nil
	}
	if n > uint64(len(r.buf)) {
		r.err = errors.New("truncated")
		return nil
	}
	out := make([]uint64, n)
	var prev uint64
	for i := range out {
		d := r.uvarint()
		if i > 0 && d == 0 && r.err == nil {
			r.err = errors.New("a set not strictly increasing")
		}
		prev += d
		out[i] = prev
	}
	return out
}

// CustomersParams are a customers shuffle's parameters: the instant
// recency and tenure are measured from, and the name of the id column.
type CustomersParams struct {
	AsOf int64  `json:"as_of"`
	ID   string `json:"id"`
}

// CustomerSchema is a customers table's columns: the id, then Names.
func CustomerSchema(id string) []partition.Field {
	out := []partition.Field{{Name: id, Type: partition.Text}}
	for _, n := range Names {
		out = append(out, partition.Field{Name: n, Type: partition.Number})
	}
	return out
}

// BucketTable merges a bucket's parts, in source partition order, into
// one row per customer (ids in Features' order), with the named columns
// (nil: every one).
func BucketTable(parts [][]byte, p CustomersParams, columns []string) (*partition.Table, error) {
	l := &Log{Customers: map[string]*Customer{}}
	for s, data := range parts {
		cs, err := DecodeCustomers(data)
		if err != nil {
			return nil, fmt.Errorf("part from partition %d: %w", s, err)
		}
		// The decoded customers are this call's own: moved, not copied.
		for who, c := range cs {
			if cur := l.Customers[who]; cur != nil {
				cur.add(c)
			} else {
				l.Customers[who] = c
			}
		}
	}
	ft := l.Features(p.AsOf)
	t := partition.NewTable(CustomerSchema(p.ID))
	t.Rows = len(ft.IDs)
	for _, id := range ft.IDs {
		t.AppendText(0, id, false)
	}
	w := len(Names)
	for j := range Names {
		col := make([]float64, t.Rows)
		for r := range col {
			col[r] = ft.Values[r*w+j]
		}
		t.Columns[1+j].Num = col
	}
	if columns == nil {
		return t, nil
	}
	return t.Project(columns)
}

// LogSummary says what became of a transaction log's lines, for a job's
// summary: every line is read into a customer, or counted here.
type LogSummary struct {
	Lines            int64   `json:"lines"`
	Rejected         int64   `json:"rejected"` // could not be read: see the rejects files
	Customers        int64   `json:"customers"`
	NoCustomer       int64   `json:"no_customer"` // lines without a customer id
	NoCustomerAmount float64 `json:"no_customer_amount"`
	Incomplete       int64   `json:"incomplete"` // lines without a time, an order or a value
	Returns          int64   `json:"returns"`    // lines that are returns or cancellations
	AsOf             string  `json:"as_of"`      // what recency and tenure count from (UTC)
	Buckets          int     `json:"buckets"`    // the customers' partitions
}
