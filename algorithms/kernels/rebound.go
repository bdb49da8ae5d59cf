package kernels

import "math"

// Rebound is LowerBound and UpperBound for the rows of one search, each
// shifted by a running total and rounded to float32 once, the safe way:
// what a lazy Lloyd pass stores for a row it searched, at a fraction of
// the cost of the two calls and two roundings a row.
type Rebound struct {
	k             int
	absErr        float64
	lowMul, upMul float64 // 1/(1+relErr) rounded down, 1/(1−relErr) rounded up
	lowTop, upTop float64 // 1−1e-9 and 1+1e-9, as LowerBound and UpperBound
}

// ReboundOf works out Rebound's terms for c once.
func ReboundOf(c *Centroids) Rebound {
	relErr, absErr := distErr(c.Dims)
	return Rebound{k: c.K, absErr: absErr,
		lowMul: 1 / (1 + relErr) * (1 - 1e-15), upMul: 1 / (1 - relErr) * (1 + 1e-15),
		lowTop: 1 - 1e-9, upTop: 1 + 1e-9}
}

// Lower is LowerBound(second, c) + add, rounded down to float32: a bound
// no larger than the two roundings would give. The float64 slack of the
// rounding (one part in 10¹²) covers this one's arithmetic as it covers
// the addition's.
func (r Rebound) Lower(second float32, add float64) float32 {
	if second != second { // no bound, as LowerBound's 0
		return RoundDown32(add)
	}
	if math.IsInf(float64(second), 1) {
		if r.k == 1 {
			return second
		}
		second = math.MaxFloat32
	}
	v := (float64(second) - r.absErr) * r.lowMul
	if !(v > 0) {
		return RoundDown32(add)
	}
	return RoundDown32(math.Sqrt(v)*r.lowTop + add)
}

// Upper is UpperBound(d, dims) − sub rounded up to float32; +Inf when d is
// NaN or infinite.
func (r Rebound) Upper(d float32, sub float64) float32 {
	v := (float64(d) + r.absErr) * r.upMul
	if !(v < math.Inf(1)) {
		return float32(math.Inf(1))
	}
	return RoundUp32(math.Sqrt(v)*r.upTop - sub)
}

// RoundDown32 and RoundUp32 convert v to float32 without rounding the
// wrong way for a bound, with room (a part in 10¹² of v) for the float64
// arithmetic that made v; NaN and infinities pass through (an unknown
// bound separates nothing).
func RoundDown32(v float64) float32 {
	if math.IsInf(v, 0) || v != v {
		return float32(v)
	}
	v -= math.Abs(v)*1e-12 + 1e-300
	f := float32(v)
	if float64(f) > v {
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	return f
}

func RoundUp32(v float64) float32 {
	if math.IsInf(v, 0) || v != v {
		return float32(v)
	}
	v += math.Abs(v)*1e-12 + 1e-300
	f := float32(v)
	if float64(f) < v {
		f = math.Nextafter32(f, float32(math.Inf(1)))
	}
	return f
}
