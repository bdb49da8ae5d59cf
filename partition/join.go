package partition

import (
	"fmt"
	"math"
	"slices"
)

// Join is a column of another shuffle's rows joined onto a shuffle's
// buckets by id: both were scattered into the same buckets by the same
// hash of their ids and placed alike, so a bucket's matches are in the
// bucket of the same number on the same worker, and the join moves no
// rows between workers. It is how labels made elsewhere, in a file of
// their own, meet the customers they label.
type Join struct {
	// ID names the joined shuffle; Sources is its partition count and
	// Schema its rows' columns.
	ID      string  `json:"id"`
	Sources int     `json:"sources"`
	Schema  []Field `json:"schema"`
	// Key is the joined rows' id column and Column the value joined; On is
	// the bucket's id column.
	Key    string `json:"key"`
	Column string `json:"column"`
	On     string `json:"on"`
}

// Validate reports the first problem with the join.
func (j *Join) Validate() error {
	i := slices.IndexFunc(j.Schema, func(f Field) bool { return f.Name == j.Column })
	switch {
	case j.ID == "" || j.Sources < 1:
		return fmt.Errorf("join: shuffle %q of %d sources", j.ID, j.Sources)
	case j.Key == "" || j.On == "" || i < 0 || !slices.ContainsFunc(j.Schema, func(f Field) bool { return f.Name == j.Key }):
		return fmt.Errorf("join: %q on %q by %q of %v", j.Column, j.On, j.Key, FieldNames(j.Schema))
	}
	return nil
}

// Apply adds the joined column to t: each row gets the value of the joined
// row whose Key is the row's On, or a missing value when there is none.
// parts are the joined shuffle's parts of t's bucket, in source order.
// One id with two different values is an error naming it; the same value
// twice is one.
func (j *Join) Apply(t *Table, parts [][]byte) error {
	if err := j.Validate(); err != nil {
		return err
	}
	if t.Column(j.Column) != nil {
		return fmt.Errorf("the data has a column %q of its own: rename the joined one", j.Column)
	}
	on := t.Column(j.On)
	if on == nil {
		return fmt.Errorf("join: the data has no id column %q", j.On)
	}
	src := NewTable(j.Schema)
	for s, data := range parts {
		if err := src.AppendEncoded(data); err != nil {
			return fmt.Errorf("joined part from partition %d: %w", s, err)
		}
	}
	key, val := src.Column(j.Key), src.Column(j.Column)
	at := make(map[string]int, src.Rows)
	for r := range src.Rows {
		k, ok := key.Key(r)
		if !ok || val.Missing(r) {
			continue
		}
		if o, seen := at[k]; seen {
			a, _ := val.Key(o)
			b, _ := val.Key(r)
			if a != b {
				return fmt.Errorf("customer %q has two values of %s: %q and %q", k, j.Column, a, b)
			}
			continue
		}
		at[k] = r
	}
	out := NewTable([]Field{val.Field})
	for r := range t.Rows {
		k, ok := on.Key(r)
		m, found := at[k]
		if !ok || !found {
			appendMissing(&out.Columns[0])
			continue
		}
		out.AppendCell(0, val, m)
	}
	t.Columns = append(t.Columns, out.Columns[0])
	return nil
}

func appendMissing(c *Column) {
	switch c.Type {
	case Number:
		c.Num = append(c.Num, math.NaN())
	case Time:
		c.Times = append(c.Times, MissingTime)
	case Text:
		c.appendText("", true)
	}
}
