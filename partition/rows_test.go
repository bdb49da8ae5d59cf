package partition

import (
	"math"
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
