package partition

import (
	"math"
)

// MaxExactRows is the most rows a block may have for Quantize to make its
// sums exact: each value is below 2²⁴ quanta of its column, so float64
// sums of up to 2²⁹ of them stay below 2⁵³ quanta.
const MaxExactRows = 1 << 29

// Quantize rounds each of b's columns to a fixed point: a multiple of
// 2^(E−23), where 2^E ≤ the column's largest magnitude < 2^(E+1), which is
// float32's own resolution at that magnitude, and a value's error at most
// half of it. Then float64 sums of any of b's rows, taken in any order and
// with rows added or taken away, are exact: they have the same bits
// whatever the order, which lets an algorithm keep sums up to date by
// the rows that changed instead of summing every row again (b.SumExact).
// A block with a NaN or infinity, or of more than MaxExactRows rows, is
// left as it is.
func Quantize(b *Block) {
	r := newMagnitudes(b.Dims)
	var buf []float32
	if b.pack != nil {
		buf = make([]float32, b.Stride)
	}
	for i := range b.Rows {
		r.add(b.Span(i, i+1, buf)[:b.Dims])
	}
	r.quantize(b)
}

// magnitudes tracks, by column, the largest and the smallest nonzero
// magnitude's bits (for finite float32 the bits order as the magnitudes
// do): a column whose two are one (one-hot) is on its grid already.
type magnitudes struct{ top, low []uint32 }

func newMagnitudes(dims int) magnitudes {
	r := magnitudes{top: make([]uint32, dims), low: make([]uint32, dims)}
	for j := range r.low {
		r.low[j] = math.MaxUint32
	}
	return r
}

// add takes in a row of the block.
func (r magnitudes) add(row []float32) {
	top, low := r.top[:len(row)], r.low[:len(row)]
	for j, v := range row {
		m := math.Float32bits(v) &^ (1 << 31)
		top[j] = max(top[j], m)
		low[j] = min(low[j], m-1) // 0 wraps to the largest: no bound
	}
}

// quantize is Quantize of a block whose every row r has taken in.
func (r magnitudes) quantize(b *Block) {
	if b.Rows > MaxExactRows {
		return
	}
	dims, top, low := b.Dims, r.top, r.low
	// Row by row, as the block lies in memory; only the columns whose
	// values can be off the grid (not one of zeros and one magnitude, as
	// a one-hot column is), and none whose quantum is at or below the
	// smallest subnormal, of which every float32 is a multiple.
	var cols []int
	var q, inv []float64
	for j, m := range top {
		if m >= 0x7f800000 { // NaN or an infinity
			return
		}
		e := int(m>>23) - 127 - 23
		if e <= -149 || low[j]+1 == m {
			continue
		}
		cols, q, inv = append(cols, j), append(q, math.Ldexp(1, e)), append(inv, math.Ldexp(1, -e))
	}
	if b.pack != nil {
		b.pack.quantize(cols, q, inv, b.Rows)
	} else {
		for i := range b.Rows {
			row := b.Data[i*b.Stride : i*b.Stride+dims]
			for n, j := range cols {
				row[j] = onGrid(row[j], q[n], inv[n])
			}
		}
	}
	b.SumExact = true
}

// onGrid is v rounded to the nearest multiple of q (inv is 1/q), ties to
// even: x + 1.5·2⁵² − 1.5·2⁵² is x rounded to the nearest integer for
// |x| < 2⁵¹, and here |x| < 2²⁴.
func onGrid(v float32, q, inv float64) float32 {
	const magic = 0x1.8p52
	return float32((float64(v)*inv + magic - magic) * q)
}
