package kernels

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// Rebound's bounds hold against the real numbers they stand for (checked
// with math/big), and are as tight as the two roundings they replace, to
// a few float32 ulps.
func TestReboundBoundsHold(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	for _, dims := range []int{1, 7, 24, 300} {
		c := &Centroids{}
		c.Set(make([]float32, 3*dims), 3, dims)
		rb := ReboundOf(c)
		relErr, absErr := distErr(dims)
		exact := func(x, num, den, top, shift float64) float64 {
			// sqrt((x + num)·(1/den))·top + shift, in 200 bits.
			v := new(big.Float).SetPrec(200).SetFloat64(x)
			v.Add(v, new(big.Float).SetFloat64(num))
			v.Quo(v, new(big.Float).SetPrec(200).SetFloat64(den))
			if v.Sign() <= 0 {
				v.SetFloat64(0)
			}
			v.Sqrt(v).Mul(v, new(big.Float).SetFloat64(top)).Add(v, new(big.Float).SetFloat64(shift))
			f, _ := v.Float64()
			return f
		}
		for range 20000 {
			d := float32(math.Ldexp(rng.Float64(), rng.IntN(60)-30))
			shift := math.Ldexp(rng.Float64(), rng.IntN(40)-20)
			lo := rb.Lower(d, shift)
			if want := exact(float64(d), -absErr, 1+relErr, 1-1e-9, shift); float64(lo) > want {
				t.Fatalf("dims %d: Lower(%v, %v) = %v above %v", dims, d, shift, lo, want)
			}
			old := RoundDown32(float64(LowerBound(d, c)) + shift)
			if ulps(lo, old) > 4 {
				t.Fatalf("dims %d: Lower(%v, %v) = %v, the two roundings %v", dims, d, shift, lo, old)
			}
			up := rb.Upper(d, shift)
			if want := exact(float64(d), absErr, 1-relErr, 1+1e-9, -shift); float64(up) < want {
				t.Fatalf("dims %d: Upper(%v, %v) = %v below %v", dims, d, shift, up, want)
			}
			if old := RoundUp32(UpperBound(d, dims) - shift); ulps(up, old) > 4 {
				t.Fatalf("dims %d: Upper(%v, %v) = %v, the two roundings %v", dims, d, shift, up, old)
			}
		}
	}
	c := &Centroids{}
	c.Set(make([]float32, 4), 1, 4)
	one := ReboundOf(c)
	inf := float32(math.Inf(1))
	if one.Lower(inf, 2) != inf || !math.IsInf(float64(one.Upper(inf, 2)), 1) || one.Lower(float32(math.NaN()), 2) > 2 {
		t.Fatal("k = 1: no runner-up is no lower bound; a NaN distance bounds nothing")
	}
}

func ulps(a, b float32) int {
	d := int64(math.Float32bits(a)) - int64(math.Float32bits(b))
	if d < 0 {
		d = -d
	}
	return int(d)
}
