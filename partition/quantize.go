package partition

import (
	"math"
	"math/bits"
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
	if b.Rows > MaxExactRows {
		return
	}
	top := make([]uint32, b.Dims) // the largest magnitude's bits, by column
	for i := range b.Rows {
		for j, v := range b.Data[i*b.Stride : i*b.Stride+b.Dims] {
			m := math.Float32bits(v) &^ (1 << 31)
			if m >= 0x7f800000 {
				return
			}
			top[j] = max(top[j], m)
		}
	}
	for j, m := range top {
		// Quanta at or below the smallest subnormal's need no rounding:
		// every float32 is a multiple of it.
		e := int(m>>23) - 127 - 23
		if e <= -149 {
			continue
		}
		q, inv := math.Ldexp(1, e), math.Ldexp(1, -e)
		for i := range b.Rows {
			v := &b.Data[i*b.Stride+j]
			*v = float32(math.RoundToEven(float64(*v)*inv) * q)
		}
	}
	b.SumExact = true
}

// sumExact reports whether every value of b is a multiple of its column's
// quantum as Quantize makes it: what its tests hold it to.
func sumExact(b *Block) bool {
	if b.Rows > MaxExactRows {
		return false
	}
	top := make([]uint32, b.Dims)
	for i := range b.Rows {
		for j, v := range b.Data[i*b.Stride : i*b.Stride+b.Dims] {
			m := math.Float32bits(v) &^ (1 << 31)
			if m >= 0x7f800000 {
				return false
			}
			top[j] = max(top[j], m)
		}
	}
	for i := range b.Rows {
		for j, v := range b.Data[i*b.Stride : i*b.Stride+b.Dims] {
			m := math.Float32bits(v) &^ (1 << 31)
			if m == 0 {
				continue
			}
			need := int(top[j]>>23) - 127 - 23 // the quantum's exponent
			if need <= -149 {
				continue
			}
			// v = mant · 2^(exp−150) with the implicit bit in mant; it is a
			// multiple of 2^need when its low (need − (exp − 150)) bits are 0.
			exp, mant := int(m>>23), m&(1<<23-1)
			if exp == 0 {
				exp = 1
			} else {
				mant |= 1 << 23
			}
			if shift := need - (exp - 150); shift > 0 && (shift >= 32 || bits.TrailingZeros32(mant) < shift) {
				return false
			}
		}
	}
	return true
}
