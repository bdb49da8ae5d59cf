package partition

import (
	"hash/fnv"
	"math"
	"strconv"
	"testing"
)

func rowsTable() *Table {
	t := NewTable([]Field{{Name: "id", Type: Text}, {Name: "x", Type: Number}, {Name: "at", Type: Time}})
	for r, v := range []struct {
		id string
		x  float64
		at int64
	}{{"a", 1.5, 10}, {"", math.NaN(), MissingTime}, {"ü€", -2, -5}, {"a", math.Inf(1), 0}} {
		t.AppendText(0, v.id, v.id == "")
		t.Columns[1].Num = append(t.Columns[1].Num, v.x)
		t.Columns[2].Times = append(t.Columns[2].Times, v.at)
		t.Rows = r + 1
	}
	return t
}

// Rows sent through a shuffle come back with every value's bits, missing
// values missing; a part cut short or with bytes after it is refused.
func TestEncodedRowsRoundTrip(t *testing.T) {
	src := rowsTable()
	data := src.EncodeRows([]int{3, 1, 2})
	dst := NewTable(src.Schema())
	if err := dst.AppendEncoded(data); err != nil {
		t.Fatal(err)
	}
	if err := dst.AppendEncoded(src.EncodeRows(nil)); err != nil || dst.Rows != 3 {
		t.Fatalf("no rows: %v, %d rows", err, dst.Rows)
	}
	for i, r := range []int{3, 1, 2} {
		a, aok := src.Columns[0].Text(r)
		b, bok := dst.Columns[0].Text(i)
		if a != b || aok != bok || math.Float64bits(src.Columns[1].Num[r]) != math.Float64bits(dst.Columns[1].Num[i]) ||
			src.Columns[2].Times[r] != dst.Columns[2].Times[i] {
			t.Fatalf("row %d (source %d) came back different", i, r)
		}
	}
	for cut := range len(data) {
		if err := NewTable(src.Schema()).AppendEncoded(data[:cut]); err == nil {
			t.Fatalf("%d of %d bytes decoded without an error", cut, len(data))
		}
	}
	if err := NewTable(src.Schema()).AppendEncoded(append(data, 7)); err == nil {
		t.Fatal("a trailing byte decoded without an error")
	}
}

func TestKeysOfIDColumns(t *testing.T) {
	tab := rowsTable()
	if k, ok := tab.Columns[0].Key(1); ok || k != "" {
		t.Errorf("missing text id: %q", k)
	}
	num := &Column{Field: Field{Type: Number}, Num: []float64{17850, 17850.5, math.NaN()}}
	for r, want := range []string{"17850", "17850.5", ""} {
		if k, ok := num.Key(r); k != want || ok != (want != "") {
			t.Errorf("number id %v: %q %v", num.Num[r], k, ok)
		}
	}
	if Bucket("17850", 16) != Bucket("17850", 16) || Bucket("x", 1) != 0 {
		t.Error("buckets are not a function of the key")
	}
}

// dropThirds is a Preparer that keeps rows whose x is not a multiple of 3,
// as features (x, -x).
type dropThirds struct{}

func (dropThirds) Width() int        { return 2 }
func (dropThirds) Total() int64      { return 0 }
func (dropThirds) Columns() []string { return []string{"x"} }
func (dropThirds) Bind(t *Table) (func(lo, hi int, values []float64, kept []int) ([]float64, []int), error) {
	xs := t.Column("x").Num
	return func(lo, hi int, values []float64, kept []int) ([]float64, []int) {
		for r := lo; r < hi; r++ {
			if x := xs[r]; int(x)%3 != 0 {
				values, kept = append(values, x, -x), append(kept, r)
			}
		}
		return values, kept
	}, nil
}

// A partition prepared a chunk at a time keeps the rows, features and
// row indices a whole-table pass would, across chunk boundaries.
func TestPreparedBlockInChunks(t *testing.T) {
	tab := NewTable([]Field{{Name: "x", Type: Number}})
	n := 2*ChunkRows + 123
	for r := range n {
		tab.Columns[0].Num = append(tab.Columns[0].Num, float64(r))
	}
	tab.Rows = n
	b, err := Prepare(7, tab, dropThirds{})
	if err != nil {
		t.Fatal(err)
	}
	encode, _ := dropThirds{}.Bind(tab)
	want, kept := encode(0, n, nil, nil)
	if b.ID != 7 || b.Rows != len(kept) || len(b.IDs) != len(kept) || len(b.Data) != len(kept)*b.Stride || b.Validate() != nil {
		t.Fatalf("block of %d rows (%d ids, %d values) for %d kept", b.Rows, len(b.IDs), len(b.Data), len(kept))
	}
	for r, i := range kept {
		if b.IDs[r] != int64(i) || b.Row(r)[0] != float32(want[2*r]) || b.Row(r)[1] != float32(want[2*r+1]) {
			t.Fatalf("row %d: id %d, %v; want %d, %v", r, b.IDs[r], b.Row(r), i, want[2*r:2*r+2])
		}
	}
}

// A text column of distinct values stops indexing them after the probe,
// and still reads back every value; one of repeated values keeps its
// dictionary small.
func TestDistinctTextColumnsSkipTheIndex(t *testing.T) {
	tab := NewTable([]Field{{Name: "id", Type: Text}, {Name: "g", Type: Text}})
	n := distinctProbe + 1000
	for r := range n {
		tab.AppendText(0, strconv.Itoa(r%(n-10)), false) // 10 repeats at the end
		tab.AppendText(1, []string{"F", "M"}[r%2], r%7 == 0)
		tab.Rows++
	}
	ids, g := tab.Column("id"), tab.Column("g")
	if ids.index != nil || g.index == nil || len(g.Dict) != 2 {
		t.Fatalf("id indexed %v, g indexed %v with %d entries", ids.index != nil, g.index != nil, len(g.Dict))
	}
	for r := range n {
		if v, ok := ids.Text(r); !ok || v != strconv.Itoa(r%(n-10)) {
			t.Fatalf("row %d: %q", r, v)
		}
	}
}

func TestHashIsFNV1a(t *testing.T) {
	for _, s := range []string{"", "17850", "C536379", "ü€"} {
		h := fnv.New64a()
		h.Write([]byte(s))
		if Hash(s) != h.Sum64() {
			t.Errorf("Hash(%q) = %x, FNV-1a %x", s, Hash(s), h.Sum64())
		}
	}
}
