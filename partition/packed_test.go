package partition

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// runsPrep makes feature rows with one-hot runs, as a fitted preparation
// does: numbers between the runs, each run's features at their scaled
// cold value but for one at its hot value, every seventh row dropped. It
// says where its runs are (OneHot) unless hidden, and row lie, if any,
// has its first run all cold: a row the runs do not describe.
type runsPrep struct {
	width int
	runs  []run
	lie   int
}

type run struct {
	at        int
	cold, hot []float64
}

func (p runsPrep) Width() int        { return p.width }
func (p runsPrep) Total() int64      { return 0 }
func (p runsPrep) Columns() []string { return []string{"x"} }

func (p runsPrep) Bind(t *Table) (func(lo, hi int, values []float64, kept []int) ([]float64, []int), error) {
	return func(lo, hi int, values []float64, kept []int) ([]float64, []int) {
		for r := lo; r < hi; r++ {
			if r%7 == 3 {
				continue
			}
			rng := rand.New(rand.NewPCG(uint64(r), 5))
			row := make([]float64, p.width)
			for j := range row {
				row[j] = rng.NormFloat64() * 3 // the numbers; the runs' features are overwritten
			}
			for g, u := range p.runs {
				copy(row[u.at:], u.cold)
				// A run's last feature is never hot, when it has three or
				// more: a column of one value, left as it is by Quantize.
				n := len(u.hot)
				if n > 2 {
					n--
				}
				if h := rng.IntN(n); g > 0 || r != p.lie {
					row[u.at+h] = u.hot[h]
				}
			}
			values, kept = append(values, row...), append(kept, r)
		}
		return values, kept
	}, nil
}

func (p runsPrep) OneHot() []OneHot {
	var out []OneHot
	for _, u := range p.runs {
		o := OneHot{At: u.at, Cold: make([]float32, len(u.hot)), Hot: make([]float32, len(u.hot))}
		for f := range u.hot {
			o.Cold[f], o.Hot[f] = float32(u.cold[f]), float32(u.hot[f])
		}
		out = append(out, o)
	}
	return out
}

// scaledRun is a run of n features scaled as standard scaling does a
// one-hot column's: (v − mean)/sd for v of 0 and 1.
func scaledRun(at, n int, rng *rand.Rand) run {
	u := run{at: at, cold: make([]float64, n), hot: make([]float64, n)}
	for f := range n {
		mean := rng.Float64()
		sd := math.Sqrt(mean*(1-mean)) * math.Sqrt(float64(n))
		u.cold[f], u.hot[f] = (0-mean)/sd, (1-mean)/sd
	}
	return u
}

func runsTable(rows int) *Table {
	t := NewTable([]Field{{Name: "x", Type: Number}})
	t.Columns[0].Num = make([]float64, rows)
	t.Rows = rows
	return t
}

// sameBlockRows fails unless got holds want's rows with their bits, padding
// included, through every way of reading them.
func sameBlockRows(t *testing.T, what string, got, want *Block) {
	t.Helper()
	if got.Rows != want.Rows || got.Dims != want.Dims || got.Stride != want.Stride || got.SumExact != want.SumExact {
		t.Fatalf("%s: %d×%d (stride %d, sum exact %v), want %d×%d (%d, %v)", what, got.Rows, got.Dims, got.Stride, got.SumExact, want.Rows, want.Dims, want.Stride, want.SumExact)
	}
	for i, id := range want.IDs {
		if got.IDs[i] != id {
			t.Fatalf("%s: row %d id %d, want %d", what, i, got.IDs[i], id)
		}
	}
	s := want.Stride
	same := func(how string, i int, row, w []float32) {
		for j := range w {
			if math.Float32bits(row[j]) != math.Float32bits(w[j]) {
				t.Fatalf("%s: %s row %d feature %d is %v, want %v", what, how, i, j, row[j], w[j])
			}
		}
	}
	// A buffer of NaN: expansion must write every value, padding too.
	garbage := func(n int) []float32 {
		buf := make([]float32, n)
		for j := range buf {
			buf[j] = float32(math.NaN())
		}
		return buf
	}
	for _, chunk := range []int{1, 100, 512} {
		buf := garbage(chunk * s)
		for lo := 0; lo < got.Rows; lo += chunk {
			hi := min(lo+chunk, got.Rows)
			rows := got.Span(lo, hi, buf)
			if len(rows) != (hi-lo)*s {
				t.Fatalf("%s: span [%d, %d) of %d values", what, lo, hi, len(rows))
			}
			for i := lo; i < hi; i++ {
				same("span", i, rows[(i-lo)*s:(i-lo+1)*s], want.Data[i*s:(i+1)*s])
			}
		}
	}
	// Rows in no order, some twice.
	rng := rand.New(rand.NewPCG(uint64(got.Rows), 1))
	idx := make([]int32, 300)
	dst := garbage(len(idx) * s)
	for round := range 5 {
		for j := range idx {
			idx[j] = int32(rng.IntN(got.Rows))
		}
		n := len(idx) >> round
		got.Gather(idx[:n], dst)
		for j, i := range idx[:n] {
			same("gathered", int(i), dst[j*s:(j+1)*s], want.Data[int(i)*s:int(i+1)*s])
		}
	}
	for i := range got.Rows {
		same("row", i, got.Row(i), want.Row(i))
	}
}

// A packed block gives back, through Span, Gather and Row, the very
// bits of the dense block the same preparation makes, quantized, padding
// zero: runs of which a feature is never hot, of one feature, with a
// feature whose hot and cold values are one, and wider than a byte's
// codes.
func TestPackedBlockExpandsToTheDenseBlock(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	odd := scaledRun(9, 2, rng)
	odd.hot[1] = odd.cold[1]
	narrow := runsPrep{width: 13, lie: -1, runs: []run{scaledRun(1, 3, rng), scaledRun(5, 4, rng), odd, scaledRun(11, 1, rng)}}
	wide := runsPrep{width: 320, lie: -1, runs: []run{scaledRun(0, 8, rng), scaledRun(10, 300, rng)}}
	for _, c := range []struct {
		name string
		prep runsPrep
		row  int64 // bytes a packed row takes, its id included
	}{{"narrow", narrow, 4*3 + 4 + 8}, {"wide", wide, 4*12 + 2*2 + 8}} {
		tab := runsTable(3000)
		packed, err := Prepare(4, tab, c.prep)
		if err != nil {
			t.Fatal(err)
		}
		dense, err := Prepare(4, tab, densePreparer{c.prep})
		if err != nil {
			t.Fatal(err)
		}
		if !packed.Packed() || packed.Data != nil || dense.Packed() || packed.Validate() != nil || dense.Validate() != nil {
			t.Fatalf("%s: packed %v (%v), dense %v (%v)", c.name, packed.Packed(), packed.Validate(), dense.Packed(), dense.Validate())
		}
		if !dense.SumExact || !sumExact(dense) || !sumExact(packed) {
			t.Fatalf("%s: not quantized", c.name)
		}
		sameBlockRows(t, c.name, packed, dense)
		if got := RowBytes(c.prep); got != c.row {
			t.Errorf("%s: %d bytes a row, want %d", c.name, got, c.row)
		}
		if got := RowBytes(densePreparer{c.prep}); got != int64(4*dense.Stride+8) {
			t.Errorf("%s: %d bytes a dense row", c.name, got)
		}
		if tables := packed.Bytes() - int64(packed.Rows)*c.row; tables < 0 || tables > 4*4*int64(packed.Stride) {
			t.Errorf("%s: %d bytes for %d rows of %d bytes", c.name, packed.Bytes(), packed.Rows, c.row)
		}
	}
}

// A row the runs do not describe leaves the block dense, every row as
// the dense block has it.
func TestRowOutsideTheRunsKeepsTheBlockDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	prep := runsPrep{width: 9, lie: 2500, runs: []run{scaledRun(2, 4, rng)}}
	tab := runsTable(3000)
	got, err := Prepare(0, tab, prep)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Prepare(0, tab, densePreparer{prep})
	if got.Packed() || got.Validate() != nil {
		t.Fatalf("packed %v, %v", got.Packed(), got.Validate())
	}
	sameBlockRows(t, "fallen back", got, want)
}

// Runs that overlap or overrun the features, or are too wide for their
// codes, are the preparation's bug, and an error.
func TestRunsThatDoNotFitAreAnError(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, runs := range [][]run{
		{scaledRun(2, 4, rng), scaledRun(5, 2, rng)},
		{scaledRun(7, 4, rng)},
	} {
		_, err := Prepare(0, runsTable(10), runsPrep{width: 9, lie: -1, runs: runs})
		if err == nil || !strings.Contains(err.Error(), "does not fit 9 features") {
			t.Fatalf("runs %+v: %v", runs, err)
		}
	}
	wide := runsPrep{width: maxRun + 2, lie: -1, runs: []run{scaledRun(1, maxRun+1, rng)}}
	if _, err := Prepare(0, runsTable(10), wide); err == nil || !strings.Contains(err.Error(), "more than the 65536 a code can name") {
		t.Fatalf("a run of %d features: %v", maxRun+1, err)
	}
}

// BenchmarkSpan expands a customers-like packed block (5 numbers, runs of
// 3, 9 and 4 features) a chunk of 512 rows at a time.
func BenchmarkSpan(b *testing.B) {
	rng := rand.New(rand.NewPCG(6, 6))
	prep := runsPrep{width: 21, lie: -1, runs: []run{scaledRun(1, 3, rng), scaledRun(4, 9, rng), scaledRun(13, 4, rng)}}
	blk, err := Prepare(0, runsTable(1<<16), prep)
	if err != nil || !blk.Packed() {
		b.Fatal(err)
	}
	buf := make([]float32, 512*blk.Stride)
	b.SetBytes(int64(blk.Rows) * int64(blk.Stride) * 4)
	for b.Loop() {
		for lo := 0; lo < blk.Rows; lo += 512 {
			blk.Span(lo, min(lo+512, blk.Rows), buf)
		}
	}
}
