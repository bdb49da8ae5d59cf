package partition

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// Quantize moves each value by at most half its column's quantum, leaves
// values already on the grid (one-hot 0/1, tiny subnormals) alone, and
// makes float64 sums of the rows the same bits in any order, with rows
// taken away and added again.
func TestQuantizeMakesSumsExactInAnyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const rows, dims = 5000, 5
	b := NewBlock(0, rows, dims)
	for i := range rows {
		r := b.Data[i*b.Stride:]
		r[0] = float32(rng.NormFloat64() * 3)                    // standardized, with outliers
		r[1] = float32(rng.IntN(2))                              // one-hot
		r[2] = float32(rng.NormFloat64()*1e-3 + 1e4)             // far from zero, narrow
		r[3] = float32(rng.ExpFloat64()) * 1e-40                 // subnormal
		r[4] = float32(math.Ldexp(rng.Float64(), -rng.IntN(60))) // many magnitudes
	}
	if sumExact(b) {
		t.Fatal("test set-up: random values already on the grid")
	}
	orig := append([]float32(nil), b.Data...)
	Quantize(b)
	if !b.SumExact || !sumExact(b) {
		t.Fatalf("after Quantize: SumExact %v, on the grid %v", b.SumExact, sumExact(b))
	}
	for j := range dims {
		var top float64
		for i := range rows {
			top = max(top, math.Abs(float64(orig[i*b.Stride+j])))
		}
		_, e := math.Frexp(top) // top = f·2^e, 0.5 ≤ f < 1: the quantum is 2^(e−1−23)
		half := math.Ldexp(1, e-1-23) / 2
		for i := range rows {
			was, now := float64(orig[i*b.Stride+j]), float64(b.Data[i*b.Stride+j])
			if math.Abs(now-was) > half || (j == 1 || j == 3) && now != was {
				t.Fatalf("column %d row %d: %v became %v (half a quantum %v)", j, i, was, now, half)
			}
		}
	}
	sum := func(order []int, drop map[int]bool) []float64 {
		s := make([]float64, dims)
		for _, i := range order {
			for j := range dims {
				s[j] += float64(b.Data[i*b.Stride+j])
			}
		}
		for i := range drop {
			for j := range dims {
				s[j] -= float64(b.Data[i*b.Stride+j])
			}
		}
		return s
	}
	inOrder := make([]int, rows)
	for i := range inOrder {
		inOrder[i] = i
	}
	drop := map[int]bool{}
	for len(drop) < 700 {
		drop[rng.IntN(rows)] = true
	}
	var kept []int
	for _, i := range inOrder {
		if !drop[i] {
			kept = append(kept, i)
		}
	}
	want := sum(kept, nil)
	shuffled := append([]int(nil), inOrder...)
	rng.Shuffle(len(shuffled), func(a, c int) { shuffled[a], shuffled[c] = shuffled[c], shuffled[a] })
	got := sum(shuffled, drop) // all rows in another order, then the dropped ones taken away
	for j := range dims {
		if math.Float64bits(got[j]) != math.Float64bits(want[j]) {
			t.Fatalf("column %d: sum %v in one order, %v in another", j, want[j], got[j])
		}
	}
	nan := NewBlock(1, 3, 2)
	nan.Data[0], nan.Data[nan.Stride+1] = 0.1, float32(math.NaN())
	Quantize(nan)
	if nan.SumExact || nan.Data[0] != 0.1 {
		t.Fatal("a block with a NaN was quantized")
	}
}

// BenchmarkQuantize: a customers-like block of 5 numeric and 16 one-hot
// columns.
func BenchmarkQuantize(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	const rows, dims = 1 << 18, 21
	src := NewBlock(0, rows, dims)
	for i := range rows {
		r := src.Data[i*src.Stride:]
		for j := range 5 {
			r[j] = float32(rng.NormFloat64())
		}
		r[5+rng.IntN(16)] = 0.5
	}
	blk := NewBlock(0, rows, dims)
	b.SetBytes(int64(len(src.Data) * 4))
	for b.Loop() {
		copy(blk.Data, src.Data)
		Quantize(blk)
	}
}

// sumExact reports whether every value of b is a multiple of its column's
// quantum as Quantize makes it: what the tests hold blocks to.
func sumExact(b *Block) bool {
	if b.Rows > MaxExactRows {
		return false
	}
	rows := b.Span(0, b.Rows, make([]float32, b.Rows*b.Stride))
	top := make([]uint32, b.Dims)
	for i := range b.Rows {
		for j, v := range rows[i*b.Stride : i*b.Stride+b.Dims] {
			m := math.Float32bits(v) &^ (1 << 31)
			if m >= 0x7f800000 {
				return false
			}
			top[j] = max(top[j], m)
		}
	}
	for i := range b.Rows {
		for j, v := range rows[i*b.Stride : i*b.Stride+b.Dims] {
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
