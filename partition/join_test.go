package partition

import (
	"strings"
	"testing"
)

func textTable(t *testing.T, names []string, rows ...[]string) *Table {
	t.Helper()
	schema := make([]Field, len(names))
	for i, n := range names {
		schema[i] = Field{Name: n, Type: Text}
	}
	tab := NewTable(schema)
	for _, r := range rows {
		for i, v := range r {
			tab.AppendText(i, v, v == "")
		}
		tab.Rows++
	}
	return tab
}

func allRows(t *Table) []int {
	r := make([]int, t.Rows)
	for i := range r {
		r[i] = i
	}
	return r
}

// A join puts each row's label beside it, a missing one where the labels
// have none, from parts in any order; one id with two labels is refused.
func TestJoinAddsTheColumnByID(t *testing.T) {
	data := textTable(t, []string{"id", "city"}, []string{"a", "x"}, []string{"b", "y"}, []string{"c", "z"}, []string{"", "w"})
	labels := textTable(t, []string{"customer", "seg"}, []string{"c", "s2"}, []string{"a", "s1"}, []string{"q", "s9"}, []string{"a", "s1"})
	j := &Join{ID: "l", Sources: 2, Schema: labels.Schema(), Key: "customer", Column: "seg", On: "id"}
	rows := allRows(labels)
	parts := [][]byte{labels.EncodeRows(rows[:2]), labels.EncodeRows(rows[2:])}
	if err := j.Apply(data, parts); err != nil {
		t.Fatal(err)
	}
	seg := data.Column("seg")
	var got []string
	for r := range data.Rows {
		v, ok := seg.Text(r)
		if !ok {
			v = "-"
		}
		got = append(got, v)
	}
	if strings.Join(got, ",") != "s1,-,s2,-" {
		t.Fatalf("joined %v", got)
	}
	if err := j.Apply(data, parts); err == nil || !strings.Contains(err.Error(), `a column "seg" of its own`) {
		t.Errorf("joined twice: %v", err)
	}
	two := textTable(t, []string{"customer", "seg"}, []string{"a", "s1"}, []string{"a", "s2"})
	fresh := textTable(t, []string{"id"}, []string{"a"})
	if err := j.Apply(fresh, [][]byte{two.EncodeRows(allRows(two))}); err == nil || !strings.Contains(err.Error(), `customer "a" has two values of seg: "s1" and "s2"`) {
		t.Errorf("two labels of one customer: %v", err)
	}
	if err := (&Join{ID: "l", Sources: 1, Schema: labels.Schema(), Key: "customer", Column: "colour", On: "id"}).Validate(); err == nil {
		t.Error("a join of a column its schema lacks")
	}
}
