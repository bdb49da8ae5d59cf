package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Every implementation gives, per row of x, DistanceSums' twin's bits for
// one run of n rows, and adds each distance to the row's accumulator in
// row-of-x order (two rows sharing one accumulator too), leaving the
// accumulators' neighbours and the padding's distances out: for row counts
// off the lanes' multiple, any dimensions, and padding of NaN and ±Inf.
func TestDistanceBlockIsDistanceSumsPerRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	poison := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1e300}
	guard := math.Float64frombits(0x7ff4000000000bad)
	for trial := range 1500 {
		n := 1 + rng.IntN(300)
		if trial%3 == 0 {
			n = 1 + rng.IntN(20)
		}
		dims := []int{1, 2, 3, 7, 8, 16, 17, 33}[rng.IntN(8)]
		m := 1 + rng.IntN(DistBlockRows)
		ld := (n+DistLanes-1)/DistLanes*DistLanes + DistLanes*rng.IntN(2)
		yt := make([]float64, dims*ld)
		for j := range dims {
			for r := range ld {
				if r < n {
					yt[j*ld+r] = rng.NormFloat64() * 10
				} else {
					yt[j*ld+r] = poison[rng.IntN(len(poison))]
				}
			}
		}
		x := make([]float64, m*dims)
		for i := range x {
			x[i] = rng.NormFloat64() * 10
		}
		// Accumulators: one a row of x, each n values between guards, and
		// sometimes two rows on one.
		const gap = 5
		acc0 := make([]float64, m*(n+gap)+gap)
		for i := range acc0 {
			acc0[i] = guard
		}
		off := make([]int, m)
		for i := range m {
			off[i] = gap + i*(n+gap)
			if i > 0 && rng.IntN(3) == 0 {
				off[i] = off[i-1]
			}
			for r := range n {
				acc0[off[i]+r] = rng.Float64() * 100
			}
		}
		sums0 := make([]float64, m+1)
		for i := range m {
			sums0[i] = rng.Float64() * 1e4
		}
		sums0[m] = guard
		for _, manhattan := range []bool{false, true} {
			what := fmt.Sprintf("trial %d (n %d, dims %d, m %d, manhattan %v)", trial, n, dims, m, manhattan)
			want := append([]float64(nil), sums0...)
			for i := range m {
				distanceSumsGo(x[i*dims:(i+1)*dims], yt, ld, n, []int32{int32(n)}, manhattan, want[i:i+1])
			}
			wantAcc := append([]float64(nil), acc0...)
			for i := range m {
				for r := range n {
					d := make([]float64, 1)
					distanceSumsGo(x[i*dims:(i+1)*dims], columnOf(yt, ld, dims, r), DistLanes, 1, []int32{1}, manhattan, d)
					wantAcc[off[i]+r] += d[0]
				}
			}
			for _, im := range append(available(), generic) {
				for _, withAcc := range []bool{false, true} {
					sums := append([]float64(nil), sums0...)
					acc := append([]float64(nil), acc0...)
					saved := active
					active = im
					if withAcc {
						DistanceBlock(x, dims, yt, ld, n, manhattan, sums, acc, off)
					} else {
						DistanceBlock(x, dims, yt, ld, n, manhattan, sums, nil, nil)
					}
					active = saved
					if !sameBits(sums, want) {
						t.Fatalf("%s, %s, acc %v: sums %v, want %v", im.name, what, withAcc, sums, want)
					}
					if withAcc && !sameBits(acc, wantAcc) {
						t.Fatalf("%s, %s: accumulators %v, want %v", im.name, what, acc, wantAcc)
					}
				}
			}
		}
	}
}

// columnOf is row r of yt as a column-major block of one row (padded).
func columnOf(yt []float64, ld, dims, r int) []float64 {
	c := make([]float64, dims*DistLanes)
	for j := range dims {
		c[j*DistLanes] = yt[j*ld+r]
	}
	return c
}

// BenchmarkDistanceBlock is four rows of x against 2048 rows of 16 dims,
// without and with the accumulators, in ns a pair of rows.
func BenchmarkDistanceBlock(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, dims = 2048, 16
	_, yt, ld, _ := distFixture(rng, n, dims)
	x := make([]float64, DistBlockRows*dims)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	sums := make([]float64, DistBlockRows)
	acc := make([]float64, 2*n)
	off := []int{0, n, 0, n}
	for _, im := range available() {
		for _, withAcc := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/acc=%v", im.name, withAcc), func(b *testing.B) {
				saved := active
				active = im
				defer func() { active = saved }()
				a, o := acc, off
				if !withAcc {
					a, o = nil, nil
				}
				for b.Loop() {
					DistanceBlock(x, dims, yt, ld, n, benchManhattan, sums, a, o)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(n*DistBlockRows), "ns/pair")
			})
		}
	}
}

var benchManhattan = false
