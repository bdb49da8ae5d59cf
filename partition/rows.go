package partition

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Key is row r of an id column as text: a text cell, or a number written
// without a trailing ".0" (Online Retail writes customer ids like
// 17850.0), or a time in Unix ms; false when missing.
func (c *Column) Key(r int) (string, bool) {
	switch c.Type {
	case Text:
		return c.Text(r)
	case Number:
		v := c.Num[r]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", false
		}
		return strconv.FormatFloat(v, 'f', -1, 64), true
	}
	ms := c.Times[r]
	return strconv.FormatInt(ms, 10), ms != MissingTime
}

// Bucket is the bucket of n that a key belongs to in a shuffle: a hash,
// the same on every node.
func Bucket(key string, n int) int { return int(Hash(key) % uint64(n)) }

// Hash is the 64-bit FNV-1a hash of s, computed in place: hash/fnv's
// writer costs an allocation a call, and a shuffle hashes every line.
func Hash(s string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * prime
	}
	return h
}

// EncodeRows writes the given rows of t, column by column, for a shuffle:
// numbers as their bits, times as varints, text as length-prefixed bytes
// (length 0 is missing, n+1 a value of n bytes).
func (t *Table) EncodeRows(rows []int) []byte {
	out := binary.AppendUvarint(nil, uint64(len(rows)))
	for i := range t.Columns {
		c := &t.Columns[i]
		switch c.Type {
		case Number:
			for _, r := range rows {
				out = binary.LittleEndian.AppendUint64(out, math.Float64bits(c.Num[r]))
			}
		case Time:
			for _, r := range rows {
				out = binary.AppendVarint(out, c.Times[r])
			}
		case Text:
			for _, r := range rows {
				s, ok := c.Text(r)
				if !ok {
					out = append(out, 0)
					continue
				}
				out = binary.AppendUvarint(out, uint64(len(s))+1)
				out = append(out, s...)
			}
		}
	}
	return out
}

var errTruncated = errors.New("truncated")

// AppendEncoded adds the rows EncodeRows wrote of a table with t's schema.
func (t *Table) AppendEncoded(data []byte) error {
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)) {
		return fmt.Errorf("decode rows: %w", errTruncated)
	}
	data = data[k:]
	for i := range t.Columns {
		c := &t.Columns[i]
		for range n {
			switch c.Type {
			case Number:
				if len(data) < 8 {
					return fmt.Errorf("decode rows: column %s: %w", c.Name, errTruncated)
				}
				c.Num = append(c.Num, math.Float64frombits(binary.LittleEndian.Uint64(data)))
				data = data[8:]
			case Time:
				v, k := binary.Varint(data)
				if k <= 0 {
					return fmt.Errorf("decode rows: column %s: %w", c.Name, errTruncated)
				}
				c.Times, data = append(c.Times, v), data[k:]
			case Text:
				l, k := binary.Uvarint(data)
				if k <= 0 || l > uint64(len(data)-k)+1 {
					return fmt.Errorf("decode rows: column %s: %w", c.Name, errTruncated)
				}
				data = data[k:]
				if l == 0 {
					c.appendText("", true)
					continue
				}
				c.appendText(string(data[:l-1]), false)
				data = data[l-1:]
			}
		}
	}
	if len(data) > 0 {
		return fmt.Errorf("decode rows: %d bytes after the rows", len(data))
	}
	t.Rows += int(n)
	return nil
}

// AppendCell adds row r of src, a column of the same type, to column i.
// The caller keeps every column the same length and counts the row.
func (t *Table) AppendCell(i int, src *Column, r int) {
	c := &t.Columns[i]
	switch c.Type {
	case Number:
		c.Num = append(c.Num, src.Num[r])
	case Time:
		c.Times = append(c.Times, src.Times[r])
	case Text:
		s, ok := src.Text(r)
		c.appendText(s, !ok)
	}
}

// Missing says whether row r of the column has no value.
func (c *Column) Missing(r int) bool {
	switch c.Type {
	case Number:
		return math.IsNaN(c.Num[r])
	case Time:
		return c.Times[r] == MissingTime
	}
	return c.Codes[r] < 0
}

// AppendRow adds row r of src, a table of the same schema.
func (t *Table) AppendRow(src *Table, r int) {
	for i := range t.Columns {
		t.AppendCell(i, &src.Columns[i], r)
	}
	t.Rows++
}
