package prepare

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
)

// Column statistics travel in every preparation partial and, one set per
// segment, in every assignment partial: as JSON, encoding and decoding
// them was a third of the assignment step's CPU. The binary form is
// little-endian with varints; a decoder checks every length against the
// bytes left before allocating, so a corrupt message is an error, never a
// panic or a huge allocation.

// statsVersion leads the encoding.
const statsVersion = 1

const (
	hasExtremes = 1 << iota
	isMany
	isFractional
)

// MarshalStats encodes column statistics for the wire. Categories are
// written in key order, so equal statistics encode alike.
func MarshalStats(cols []ColumnStats) ([]byte, error) {
	b := []byte{statsVersion}
	b = binary.AppendUvarint(b, uint64(len(cols)))
	for i := range cols {
		c := &cols[i]
		b = binary.AppendVarint(b, c.Count)
		b = binary.AppendVarint(b, c.Missing)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.Mean))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.M2))
		var flags byte
		extremes := !math.IsInf(c.Min, 0) && !math.IsInf(c.Max, 0)
		if extremes {
			flags |= hasExtremes
		}
		if c.Many {
			flags |= isMany
		}
		if c.Fractional {
			flags |= isFractional
		}
		b = append(b, flags)
		if extremes {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.Min))
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.Max))
		}
		sk, err := c.Sketch.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("column %d: %w", i, err)
		}
		b = binary.AppendUvarint(b, uint64(len(sk)))
		b = append(b, sk...)
		b = binary.AppendUvarint(b, uint64(len(c.Categories)))
		for _, k := range slices.Sorted(maps.Keys(c.Categories)) {
			b = binary.AppendUvarint(b, uint64(len(k)))
			b = append(b, k...)
			b = binary.AppendVarint(b, c.Categories[k])
		}
	}
	return b, nil
}

// UnmarshalStats decodes what MarshalStats encoded.
func UnmarshalStats(data []byte) ([]ColumnStats, error) {
	r := statsReader{b: data}
	if v := r.byte(); r.err == nil && v != statsVersion {
		return nil, fmt.Errorf("column statistics version %d; this build reads %d", v, statsVersion)
	}
	n := r.count(1 + 1 + 16 + 1 + 1 + 1) // the least a column takes
	out := make([]ColumnStats, n)
	for i := range out {
		c := &out[i]
		c.Count, c.Missing = r.varint(), r.varint()
		c.Mean, c.M2 = r.f64(), r.f64()
		flags := r.byte()
		c.Min, c.Max = math.Inf(1), math.Inf(-1)
		if flags&hasExtremes != 0 {
			c.Min, c.Max = r.f64(), r.f64()
		}
		c.Many, c.Fractional = flags&isMany != 0, flags&isFractional != 0
		sk := r.bytes()
		if r.err == nil {
			if err := c.Sketch.UnmarshalBinary(sk); err != nil {
				return nil, fmt.Errorf("column %d: %w", i, err)
			}
		}
		if cats := r.count(2); cats > 0 {
			c.Categories = make(map[string]int64, cats)
			for range cats {
				k := string(r.bytes())
				c.Categories[k] = r.varint()
			}
		}
		if r.err != nil {
			return nil, fmt.Errorf("column %d: %w", i, r.err)
		}
		if c.Count < 0 || c.Missing < 0 || math.IsNaN(c.Mean) || math.IsNaN(c.M2) {
			return nil, fmt.Errorf("column %d: counts %d and %d, mean %v", i, c.Count, c.Missing, c.Mean)
		}
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%d unexpected trailing bytes", len(r.b))
	}
	if r.err != nil {
		return nil, fmt.Errorf("column statistics: %w", r.err)
	}
	return out, nil
}

var errStatsShort = errors.New("message truncated")

type statsReader struct {
	b   []byte
	err error
}

func (r *statsReader) byte() byte {
	if r.err != nil || len(r.b) < 1 {
		r.fail()
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *statsReader) f64() float64 {
	if r.err != nil || len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return math.Float64frombits(v)
}

func (r *statsReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *statsReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length of elements of at least size bytes each.
func (r *statsReader) count(size int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)/size) {
		r.err = fmt.Errorf("length %d exceeds the %d bytes left", n, len(r.b))
		return 0
	}
	return int(n)
}

func (r *statsReader) bytes() []byte {
	n := r.count(1)
	if r.err != nil {
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *statsReader) fail() {
	if r.err == nil {
		r.err = errStatsShort
	}
}
