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

// The roundings never fall on the wrong side of v, even after the float64
// error of the arithmetic that made it, and are at most one float32 step
// looser than the tightest such rounding; across zero, subnormals, the
// largest finite values and the infinities.
func TestRoundingsAreSafeAndTight(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1e-300, -1e-300, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		math.MaxFloat32, -math.MaxFloat32, math.MaxFloat32 * 1.0000001, -math.MaxFloat32 * 1.0000001, math.MaxFloat64, -math.MaxFloat64,
		1, -1, 0.1, -0.1, 1 << 24, 3.4e38}
	rng := rand.New(rand.NewPCG(8, 9))
	for range 100000 {
		v := math.Ldexp(rng.Float64(), rng.IntN(340)-170)
		if rng.IntN(2) == 0 {
			v = -v
		}
		vals = append(vals, v, float64(float32(v)))
	}
	for _, v := range vals {
		if math.IsInf(v, 0) {
			continue // float32 of a large v; below
		}
		slack := math.Abs(v)*1e-12 + 1e-300
		tight := func(f float32, dir float64) float32 { // the float32 nearest v on dir's side, past the slack
			w := v + dir*slack
			g := float32(w)
			if dir < 0 && float64(g) > w {
				g = math.Nextafter32(g, float32(math.Inf(-1)))
			}
			if dir > 0 && float64(g) < w {
				g = math.Nextafter32(g, float32(math.Inf(1)))
			}
			return g
		}
		if d := RoundDown32(v); float64(d) > v-slack || steps(d, tight(d, -1)) > 1 {
			t.Fatalf("RoundDown32(%v) = %v, the tightest %v", v, d, tight(d, -1))
		}
		if u := RoundUp32(v); float64(u) < v+slack || steps(u, tight(u, 1)) > 1 {
			t.Fatalf("RoundUp32(%v) = %v, the tightest %v", v, u, tight(u, 1))
		}
	}
	for _, v := range []float64{math.Inf(1), math.Inf(-1)} {
		if RoundDown32(v) != float32(v) || RoundUp32(v) != float32(v) {
			t.Fatalf("%v does not pass through", v)
		}
	}
	if f := RoundDown32(math.NaN()); f == f {
		t.Fatal("RoundDown32(NaN) is a number")
	}
}

// steps is how many float32 values lie from a to b, ±0 being one.
func steps(a, b float32) int64 {
	ord := func(f float32) int64 {
		if u := math.Float32bits(f); u>>31 == 1 {
			return -int64(u &^ (1 << 31))
		} else {
			return int64(u)
		}
	}
	d := ord(a) - ord(b)
	return max(d, -d)
}

func BenchmarkRebound(b *testing.B) {
	c := &Centroids{}
	c.Set(make([]float32, 5*24), 5, 24)
	rb := ReboundOf(c)
	rng := rand.New(rand.NewPCG(1, 2))
	d := make([]float32, 4096)
	for i := range d {
		d[i] = float32(rng.Float64() * 40)
	}
	var sink float32
	for b.Loop() {
		for _, v := range d {
			sink += rb.Lower(v, 0.01) + rb.Upper(v, 0.02)
		}
	}
	_ = sink
}
