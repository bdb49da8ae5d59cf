package kmeans

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The wire format is little-endian and length-prefixed. A decoder checks
// every length against the bytes left before allocating, so a corrupt or
// hostile message is an error, never a panic or a huge allocation.

type writer struct{ b []byte }

func (w *writer) u64(v uint64)  { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *writer) f32(v float32) { w.b = binary.LittleEndian.AppendUint32(w.b, math.Float32bits(v)) }
func (w *writer) i64(v int64)   { w.u64(uint64(v)) }
func (w *writer) f64(v float64) { w.u64(math.Float64bits(v)) }
func (w *writer) f64s(v []float64) {
	w.u64(uint64(len(v)))
	for _, x := range v {
		w.f64(x)
	}
}
func (w *writer) i64s(v []int64) {
	w.u64(uint64(len(v)))
	for _, x := range v {
		w.i64(x)
	}
}

// matrix writes rows × cols values; every row must have cols values.
func (w *writer) matrix(m [][]float64, cols int) {
	w.u64(uint64(len(m)))
	w.u64(uint64(cols))
	for _, r := range m {
		for _, x := range r {
			w.f64(x)
		}
	}
}

var errShort = errors.New("message truncated")

type reader struct {
	b   []byte
	err error
}

func (r *reader) u64() uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.err = errShort
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}
func (r *reader) i64() int64 { return int64(r.u64()) }

func (r *reader) f32() float32 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 4 {
		r.err = errShort
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return math.Float32frombits(v)
}
func (r *reader) f64() float64 { return math.Float64frombits(r.u64()) }

// count reads a length whose elements take size bytes each, refusing one
// the remaining message cannot hold.
func (r *reader) count(size int) int {
	n := r.u64()
	if r.err == nil && n > uint64(len(r.b)/size) {
		r.err = fmt.Errorf("length %d exceeds the %d bytes left", n, len(r.b))
		return 0
	}
	return int(n)
}

func (r *reader) f64s() []float64 {
	n := r.count(8)
	if n == 0 {
		return nil
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = r.f64()
	}
	return out
}

func (r *reader) i64s() []int64 {
	n := r.count(8)
	if n == 0 {
		return nil
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = r.i64()
	}
	return out
}

func (r *reader) matrix() ([][]float64, int) {
	rows := r.u64()
	cols := r.u64()
	if r.err != nil {
		return nil, 0
	}
	if cols == 0 || cols > 1<<20 || rows > uint64(len(r.b))/8/cols {
		r.err = fmt.Errorf("matrix %d×%d does not fit the %d bytes left", rows, cols, len(r.b))
		return nil, 0
	}
	if rows == 0 {
		return nil, int(cols)
	}
	out := make([][]float64, rows)
	for i := range out {
		out[i] = make([]float64, cols)
		for j := range out[i] {
			out[i][j] = r.f64()
		}
	}
	return out, int(cols)
}

// done reports a decoding error or trailing bytes.
func (r *reader) done(what string) error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d unexpected trailing bytes", len(r.b))
	}
	if r.err != nil {
		return fmt.Errorf("decode %s: %w", what, r.err)
	}
	return nil
}
