package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// distFixture is n rows of dims values column-major (ld apart), runs of
// random lengths (some empty) and a row x.
func distFixture(rng *rand.Rand, n, dims int) (x, yt []float64, ld int, ends []int32) {
	ld = (n + DistLanes - 1) / DistLanes * DistLanes
	yt = make([]float64, dims*ld)
	for j := range dims {
		for r := range n {
			yt[j*ld+r] = float64(float32(rng.NormFloat64() * 10))
		}
	}
	x = make([]float64, dims)
	for j := range x {
		x[j] = float64(float32(rng.NormFloat64() * 10))
	}
	for at := 0; at < n; {
		at = min(n, at+rng.IntN(20))
		ends = append(ends, int32(at))
	}
	if len(ends) == 0 || ends[len(ends)-1] != int32(n) {
		ends = append(ends, int32(n))
	}
	return x, yt, ld, ends
}

// The sums are the runs' distance sums (to the rounding of float64
// sums), for run lengths and row counts off the lanes' multiple, empty
// runs, one dimension or many; and every implementation this CPU runs
// gives the twin's bits.
func TestDistanceSumsAreTheRunsSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, shape := range [][2]int{{1, 1}, {7, 3}, {8, 16}, {37, 5}, {512, 21}, {300, 64}} {
		n, dims := shape[0], shape[1]
		x, yt, ld, ends := distFixture(rng, n, dims)
		for _, manhattan := range []bool{false, true} {
			want := make([]float64, len(ends))
			run := 0
			for r := range n {
				for r >= int(ends[run]) {
					run++
				}
				var d float64
				for j := range dims {
					v := x[j] - yt[j*ld+r]
					if manhattan {
						d += math.Abs(v)
					} else {
						d += v * v
					}
				}
				if !manhattan {
					d = math.Sqrt(d)
				}
				want[run] += d
			}
			twin := make([]float64, len(ends))
			distanceSumsGo(x, yt, ld, n, ends, manhattan, twin)
			for i := range want {
				if math.Abs(twin[i]-want[i]) > 1e-12*math.Abs(want[i]) {
					t.Fatalf("n %d dims %d manhattan %v: run %d sums to %v, want %v", n, dims, manhattan, i, twin[i], want[i])
				}
			}
			for _, im := range available() {
				got := make([]float64, len(ends))
				saved := active
				active = im
				DistanceSums(x, yt, ld, n, ends, manhattan, got)
				active = saved
				for i := range got {
					if math.Float64bits(got[i]) != math.Float64bits(twin[i]) {
						t.Fatalf("%s, n %d dims %d manhattan %v: run %d is %v, the twin's %v", im.name, n, dims, manhattan, i, got[i], twin[i])
					}
				}
			}
		}
	}
}

func BenchmarkDistanceSums(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, yt, ld, _ := distFixture(rng, 512, 16)
	ends := []int32{100, 260, 300, 512}
	sums := make([]float64, len(ends))
	for _, im := range available() {
		b.Run(im.name, func(b *testing.B) {
			saved := active
			active = im
			defer func() { active = saved }()
			for b.Loop() {
				DistanceSums(x, yt, ld, 512, ends, false, sums)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/512, "ns/pair")
		})
	}
}
