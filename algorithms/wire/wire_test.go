package wire

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTripAndTruncation(t *testing.T) {
	var w Writer
	w.U64(7)
	w.I64(-3)
	w.F32(1.5)
	w.F64(math.Pi)
	w.F64s([]float64{1, -2})
	w.I64s([]int64{4})
	w.F32s([]float32{0.25, float32(math.Inf(1))})
	w.I32s([]int32{-1, 9})
	w.Matrix([][]float64{{1, 2}, {3, 4}}, 2)
	r := &Reader{B: w.B}
	got := []any{r.U64(), r.I64(), r.F32(), r.F64(), r.F64s(), r.I64s(), r.F32s(), r.I32s()}
	m, cols := r.Matrix()
	want := []any{uint64(7), int64(-3), float32(1.5), math.Pi, []float64{1, -2}, []int64{4}, []float32{0.25, float32(math.Inf(1))}, []int32{-1, 9}}
	if err := r.Done("message"); err != nil || !reflect.DeepEqual(got, want) || cols != 2 || !reflect.DeepEqual(m, [][]float64{{1, 2}, {3, 4}}) {
		t.Fatalf("got %v %v %d (%v)", got, m, cols, err)
	}
	for n := range len(w.B) {
		r := &Reader{B: w.B[:n]}
		r.U64()
		r.I64()
		r.F32()
		r.F64()
		r.F64s()
		r.I64s()
		r.F32s()
		r.I32s()
		r.Matrix()
		if err := r.Done("message"); err == nil {
			t.Fatalf("%d of %d bytes read without an error", n, len(w.B))
		}
	}
	// A length beyond what is left is refused before anything is allocated.
	var big Writer
	big.U64(1 << 60)
	if r := (&Reader{B: big.B}); r.F32s() != nil || r.Done("huge") == nil || !strings.Contains(r.Err.Error(), "exceeds") {
		t.Fatalf("a huge length: %v", r.Err)
	}
}
