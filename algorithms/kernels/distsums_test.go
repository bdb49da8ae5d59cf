package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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

// sameAsTwin runs every implementation this CPU has on one input and
// fails unless each gives the twin's bits in every run's sum, leaves the
// sums past the runs and its inputs alone. sums0 is what the sums hold
// before (DistanceSums adds to them). Where two NaNs of different payloads
// meet, the twin's survivor is the compiler's choice of operand order (see
// DistanceSums), so a NaN for a NaN passes unless strictNaN: inputs with
// one NaN payload at most leave nothing to choose.
func sameAsTwin(t *testing.T, what string, strictNaN bool, x, yt []float64, ld, n int, ends []int32, manhattan bool, sums0 []float64) {
	t.Helper()
	const spare = 3 // sums past the runs, which must stay as they are
	fresh := func() []float64 {
		s := make([]float64, len(ends)+spare)
		copy(s, sums0)
		for i := len(ends); i < len(s); i++ {
			s[i] = math.Float64frombits(0x7ff4000000000bad) // a signalling NaN no arithmetic makes
		}
		return s
	}
	xs, yts, endss := slices.Clone(x), slices.Clone(yt), slices.Clone(ends)
	twin := fresh()
	distanceSumsGo(x, yt, ld, n, ends, manhattan, twin)
	for _, im := range available() {
		got := fresh()
		saved := active
		active = im
		DistanceSums(x, yt, ld, n, ends, manhattan, got)
		active = saved
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(twin[i]) && (strictNaN || !math.IsNaN(got[i]) || !math.IsNaN(twin[i]) || i >= len(ends)) {
				t.Fatalf("%s, %s (n %d, dims %d, ld %d, manhattan %v, ends %v): sum %d is %v (%#x), the twin's %v (%#x)",
					im.name, what, n, len(x), ld, manhattan, ends, i, got[i], math.Float64bits(got[i]), twin[i], math.Float64bits(twin[i]))
			}
		}
		if !slices.Equal(endss, ends) || !sameBits(xs, x) || !sameBits(yts, yt) {
			t.Fatalf("%s, %s: the inputs changed", im.name, what)
		}
	}
}

func sameBits(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(u, v float64) bool { return math.Float64bits(u) == math.Float64bits(v) })
}

// randomEnds lays n rows out in runs in one of several ways: one run,
// a few long ones (whole blocks of rows in one run), many short ones,
// empty runs anywhere (first, last, several in a row), and a run ending
// at every lane of a group.
func randomEnds(rng *rand.Rand, n int) []int32 {
	var ends []int32
	at := 0
	add := func(e int) { at = min(n, e); ends = append(ends, int32(at)) }
	switch rng.IntN(6) {
	case 0:
		add(n)
	case 1:
		for at < n {
			add(at + 1 + rng.IntN(300))
		}
	case 2:
		for at < n {
			add(at + rng.IntN(6)) // often empty
		}
	case 3:
		for range rng.IntN(3) {
			add(at) // empty runs first
		}
		for at < n {
			add(at + rng.IntN(40))
			for range rng.IntN(3) {
				add(at) // and in the middle
			}
		}
	case 4:
		// ends at lanes 1, 2, …, 7, 0 of successive groups
		for l := 1; at < n; l++ {
			add((at/DistLanes+1)*DistLanes + l%DistLanes)
		}
	case 5:
		for at < n {
			add(at + 1 + rng.IntN(2*DistLanes))
		}
	}
	if len(ends) == 0 || int(ends[len(ends)-1]) != n {
		ends = append(ends, int32(n))
	}
	for range rng.IntN(3) {
		ends = append(ends, int32(n)) // empty runs last
	}
	return ends
}

// The assembly gives the twin's bits for random shapes (row counts off the
// lanes' multiple, one dimension or many, padding past the rows), run
// layouts (randomEnds), sums that start at anything (−0 too: an empty
// run adds +0), and rows whose padding holds NaN, ±Inf and huge values,
// which must not reach any sum.
func TestDistanceSumsAssemblyIsTheTwin(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	poison := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, 1e300}
	for trial := range 3000 {
		n := 1 + rng.IntN(700)
		if trial%4 == 0 {
			n = 1 + rng.IntN(40)
		}
		dims := []int{1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33}[rng.IntN(12)]
		ld := (n+DistLanes-1)/DistLanes*DistLanes + DistLanes*rng.IntN(3)
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
		x := make([]float64, dims)
		for j := range x {
			x[j] = rng.NormFloat64() * 10
		}
		ends := randomEnds(rng, n)
		sums0 := make([]float64, len(ends))
		for i := range sums0 {
			switch rng.IntN(3) {
			case 0:
				sums0[i] = rng.Float64() * 1e4
			case 1:
				sums0[i] = math.Copysign(0, -1)
			}
		}
		for _, manhattan := range []bool{false, true} {
			sameAsTwin(t, fmt.Sprint("trial ", trial), true, x, yt, ld, n, ends, manhattan, sums0)
		}
	}
}

// NaN and infinities in x or in a row reach the sums of the runs they
// touch as the twin's do; one NaN (of any payload and sign, in x or in a
// row) comes through with the twin's bits; a row far enough away
// overflows to +Inf; no dimensions at all is a distance of zero.
func TestDistanceSumsNonFinite(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	nan1 := math.Float64frombits(0x7ff8000000000123)
	nan2 := math.Float64frombits(0xfff8000000000456)
	specials := []float64{math.NaN(), nan1, nan2, math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, 0, math.Copysign(0, -1), 5e-324}
	for trial := range 400 {
		n := 1 + rng.IntN(200)
		dims := 1 + rng.IntN(20)
		x, yt, ld, _ := distFixture(rng, n, dims)
		ends := randomEnds(rng, n)
		for range 1 + rng.IntN(4) {
			v := specials[rng.IntN(len(specials))]
			if rng.IntN(3) == 0 {
				x[rng.IntN(dims)] = v
			} else {
				yt[rng.IntN(dims)*ld+rng.IntN(n)] = v
			}
		}
		for _, manhattan := range []bool{false, true} {
			sameAsTwin(t, fmt.Sprint("trial ", trial), false, x, yt, ld, n, ends, manhattan, nil)
		}
	}
	for trial := range 400 {
		n := 1 + rng.IntN(200)
		dims := 1 + rng.IntN(20)
		x, yt, ld, _ := distFixture(rng, n, dims)
		ends := randomEnds(rng, n)
		v := []float64{math.NaN(), nan1, nan2}[rng.IntN(3)]
		if rng.IntN(3) == 0 {
			x[rng.IntN(dims)] = v
		} else {
			yt[rng.IntN(dims)*ld+rng.IntN(n)] = v
		}
		for _, manhattan := range []bool{false, true} {
			sameAsTwin(t, fmt.Sprint("one NaN, trial ", trial), true, x, yt, ld, n, ends, manhattan, nil)
		}
	}
	// Zero dimensions: every distance is 0 and yt may be empty.
	for _, manhattan := range []bool{false, true} {
		sameAsTwin(t, "no dims", true, nil, nil, 16, 13, []int32{0, 5, 13, 13}, manhattan, []float64{math.Copysign(0, -1), 1, 2, 3})
	}
}

// Runs out of order are outside the contract, but the assembly follows
// the twin even there (a row goes to the first run from the current one
// whose end is past it), so no input tells the two apart.
func TestDistanceSumsEndsOutOfOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for trial := range 500 {
		n := 1 + rng.IntN(300)
		dims := 1 + rng.IntN(17)
		x, yt, ld, _ := distFixture(rng, n, dims)
		ends := make([]int32, 1+rng.IntN(12))
		for i := range ends {
			ends[i] = int32(rng.IntN(n+40) - 20)
		}
		ends[len(ends)-1] = int32(n)
		for _, manhattan := range []bool{false, true} {
			sameAsTwin(t, fmt.Sprint("trial ", trial), true, x, yt, ld, n, ends, manhattan, nil)
		}
	}
}
