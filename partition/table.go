package partition

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// ColumnType is what a column of a source holds once read.
type ColumnType uint8

const (
	// Number is a float64 column; NaN marks a missing value.
	Number ColumnType = iota + 1
	// Text is a dictionary-encoded string column; code -1 marks a missing
	// value. Categories and customer ids are Text.
	Text
	// Time is an instant, as Unix milliseconds; MissingTime marks a missing
	// value.
	Time
)

// MissingTime is the Time value of a missing cell.
const MissingTime = math.MinInt64

func (t ColumnType) String() string {
	switch t {
	case Number:
		return "number"
	case Text:
		return "text"
	case Time:
		return "time"
	}
	return fmt.Sprintf("ColumnType(%d)", uint8(t))
}

// ParseColumnType reads a type as written in a job spec.
func ParseColumnType(s string) (ColumnType, error) {
	switch s {
	case "number":
		return Number, nil
	case "text", "string", "category":
		return Text, nil
	case "time", "date":
		return Time, nil
	}
	return 0, fmt.Errorf("column type %q is unknown; use number, text or time", s)
}

// Field is one column of a schema. Layout is the Go time layout of a Time
// column read from text.
type Field struct {
	Name   string     `json:"name"`
	Type   ColumnType `json:"type"`
	Layout string     `json:"layout,omitempty"`
}

// Column is one column of a Table: exactly one of Num, Codes or Times is
// used, by Type.
type Column struct {
	Field
	Num   []float64
	Codes []int32
	Dict  []string // Text: the values, in order of first appearance; equal entries are one value (see appendText)
	Times []int64

	index     map[string]int32 // Text: Dict's inverse, while building
	probed    bool             // Text: whether the column decided on its index
	fromArrow arrowDict        // Text: codes of an Arrow dictionary's entries, while reading one
}

// Table is a partition's rows as typed columns, before they become the
// float32 Block an algorithm runs on: what cleaning, encoding and the
// customer features read.
type Table struct {
	Columns []Column
	Rows    int
}

// Bytes is about what the table holds in memory: its values, and a text
// column's dictionary (string headers and bytes).
func (t *Table) Bytes() int64 {
	var n int64
	for i := range t.Columns {
		c := &t.Columns[i]
		n += 8*int64(cap(c.Num)) + 4*int64(cap(c.Codes)) + 8*int64(cap(c.Times)) + 16*int64(cap(c.Dict))
		for _, s := range c.Dict {
			n += int64(len(s))
		}
	}
	return n
}

// NewTable is an empty table with the schema's columns.
func NewTable(schema []Field) *Table {
	t := &Table{Columns: make([]Column, len(schema))}
	for i, f := range schema {
		t.Columns[i].Field = f
		if f.Type == Text {
			t.Columns[i].index = map[string]int32{}
		}
	}
	return t
}

// Reserve makes room for n more rows in every column, so that a reader
// that knows its row count appends without regrowing columns: at tens of
// millions of rows the copies and fresh pages of repeated growth were
// half of reading a Parquet piece.
func (t *Table) Reserve(n int) {
	for i := range t.Columns {
		c := &t.Columns[i]
		switch c.Type {
		case Number:
			c.Num = slices.Grow(c.Num, n)
		case Text:
			c.Codes = slices.Grow(c.Codes, n)
		case Time:
			c.Times = slices.Grow(c.Times, n)
		}
	}
}

// FieldNames are the fields' names, in order.
func FieldNames(fields []Field) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.Name
	}
	return out
}

// Schema returns the table's fields.
func (t *Table) Schema() []Field {
	out := make([]Field, len(t.Columns))
	for i := range t.Columns {
		out[i] = t.Columns[i].Field
	}
	return out
}

// Head keeps the first n rows (n ≤ Rows).
func (t *Table) Head(n int) {
	for i := range t.Columns {
		c := &t.Columns[i]
		switch c.Type {
		case Number:
			c.Num = c.Num[:n]
		case Text:
			c.Codes = c.Codes[:n]
		case Time:
			c.Times = c.Times[:n]
		}
	}
	t.Rows = n
}

// Column returns the column named name, or nil.
func (t *Table) Column(name string) *Column {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i]
		}
	}
	return nil
}

// AppendText adds a value to Text column i; a missing one if missing. The
// caller keeps every column the same length and counts the row in Rows.
func (t *Table) AppendText(i int, s string, missing bool) { t.Columns[i].appendText(s, missing) }

// distinctProbe is how many values a text column takes before it decides
// whether it is worth a dictionary.
const distinctProbe = 1 << 16

// appendText adds a Text value, or a missing one. A column whose first
// distinctProbe values are nine in ten distinct (customer or order ids)
// stops deduplicating: each later value becomes a dictionary entry of its
// own, as most would anyway, without a lookup in the index; a million
// unique ids cost more to index than to store. Readers of Dict therefore
// take equal entries as one value (counts by the string, not the code).
func (c *Column) appendText(s string, missing bool) { c.addText(s, missing, false) }

func (c *Column) addText(s string, missing, borrowed bool) {
	if missing {
		c.Codes = append(c.Codes, -1)
		return
	}
	if c.index == nil {
		if borrowed {
			s = strings.Clone(s)
		}
		c.Codes = append(c.Codes, int32(len(c.Dict)))
		c.Dict = append(c.Dict, s)
		return
	}
	code, ok := c.index[s]
	if !ok {
		if borrowed {
			s = strings.Clone(s)
		}
		code = int32(len(c.Dict))
		c.Dict = append(c.Dict, s)
		c.index[s] = code
	}
	c.Codes = append(c.Codes, code)
	c.probe()
}

// probe decides, at the first value from the distinctProbe'th on, whether
// the column keeps its index (see appendText).
func (c *Column) probe() {
	if !c.probed && len(c.Codes) >= distinctProbe {
		c.probed = true
		if 10*len(c.Dict) > 9*len(c.Codes) {
			c.index = nil
			// Most rows to come are new entries: room for as many as
			// Codes was reserved for, rather than growing by doubling.
			c.Dict = slices.Grow(c.Dict, cap(c.Codes)-len(c.Codes))
		}
	}
}

// appendBorrowed is appendText of a string whose bytes will be reused: it
// is copied only when the column keeps it, as a new value.
func (c *Column) appendBorrowed(s string, missing bool) { c.addText(s, missing, true) }

// len is how many rows the column holds.
func (c *Column) len() int {
	switch c.Type {
	case Number:
		return len(c.Num)
	case Text:
		return len(c.Codes)
	}
	return len(c.Times)
}

// Text returns row i of a Text column and whether it is present.
func (c *Column) Text(i int) (string, bool) {
	if c.Codes[i] < 0 {
		return "", false
	}
	return c.Dict[c.Codes[i]], true
}
