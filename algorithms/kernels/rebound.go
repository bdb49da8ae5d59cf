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
// wrong way for a bound, with room for the float64 arithmetic that made v
// (a part in 10¹² of it); NaN and infinities pass through (an unknown
// bound separates nothing). The nearest float32 stepped one further, in
// its bits, is at least half a float32 ulp (a part in 3·10⁷) past v: a
// bound one ulp looser than the tightest, for a handful of instructions
// where math.Nextafter32 and the checks for when it is needed were a
// quarter of a lazy pass's time at 100M rows (a pass rounds two bounds a
// searched row).
func RoundDown32(v float64) float32 {
	if !(math.Abs(v) <= math.MaxFloat64) { // ±Inf or NaN
		return float32(v)
	}
	return below(float32(v))
}

func RoundUp32(v float64) float32 {
	if !(math.Abs(v) <= math.MaxFloat64) {
		return float32(v)
	}
	return -below(-float32(v))
}

// below is the float32 next below f, which is not NaN or −Inf: one less
// in the bits of a positive f (+Inf gives MaxFloat32), one more in those
// of a negative one.
func below(f float32) float32 {
	b := math.Float32bits(f)
	switch {
	case f > 0:
		b--
	case f < 0:
		b++
	default:
		return -math.SmallestNonzeroFloat32
	}
	return math.Float32frombits(b)
}
