// Package wire is the binary form steps and partials travel in between
// the coordinator and the workers: little-endian values, slices after
// their lengths. A Reader checks every length against the bytes left
// before allocating, so a corrupt or hostile message is an error, never a
// panic or a huge allocation.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Writer appends values to B.
type Writer struct{ B []byte }

func (w *Writer) U64(v uint64)     { w.B = binary.LittleEndian.AppendUint64(w.B, v) }
func (w *Writer) F32(v float32)    { w.B = binary.LittleEndian.AppendUint32(w.B, math.Float32bits(v)) }
func (w *Writer) I64(v int64)      { w.U64(uint64(v)) }
func (w *Writer) F64(v float64)    { w.U64(math.Float64bits(v)) }
func (w *Writer) F64s(v []float64) { put(w, v, w.F64) }
func (w *Writer) I64s(v []int64)   { put(w, v, w.I64) }
func (w *Writer) F32s(v []float32) { put(w, v, w.F32) }
func (w *Writer) I32s(v []int32) {
	put(w, v, func(x int32) { w.B = binary.LittleEndian.AppendUint32(w.B, uint32(x)) })
}

// Bytes writes v's length, then v.
func (w *Writer) Bytes(v []byte) {
	w.U64(uint64(len(v)))
	w.B = append(w.B, v...)
}

// put writes v's length, then each value.
func put[T any](w *Writer, v []T, write func(T)) {
	w.U64(uint64(len(v)))
	for _, x := range v {
		write(x)
	}
}

// Matrix writes rows × cols values; every row must have cols values.
func (w *Writer) Matrix(m [][]float64, cols int) {
	w.U64(uint64(len(m)))
	w.U64(uint64(cols))
	for _, r := range m {
		for _, x := range r {
			w.F64(x)
		}
	}
}

var errShort = errors.New("message truncated")

// Reader takes values from the front of B; the first problem stays in Err
// and makes every later read a zero.
type Reader struct {
	B   []byte
	Err error
}

func (r *Reader) U64() uint64 {
	if r.Err != nil {
		return 0
	}
	if len(r.B) < 8 {
		r.Err = errShort
		return 0
	}
	v := binary.LittleEndian.Uint64(r.B)
	r.B = r.B[8:]
	return v
}
func (r *Reader) I64() int64 { return int64(r.U64()) }

func (r *Reader) u32() uint32 {
	if r.Err != nil {
		return 0
	}
	if len(r.B) < 4 {
		r.Err = errShort
		return 0
	}
	v := binary.LittleEndian.Uint32(r.B)
	r.B = r.B[4:]
	return v
}

func (r *Reader) F32() float32 { return math.Float32frombits(r.u32()) }
func (r *Reader) F64() float64 { return math.Float64frombits(r.U64()) }

// Count reads a length whose elements take size bytes each, refusing one
// the remaining message cannot hold.
func (r *Reader) Count(size int) int {
	n := r.U64()
	if r.Err == nil && n > uint64(len(r.B)/size) {
		r.Err = fmt.Errorf("length %d exceeds the %d bytes left", n, len(r.B))
		return 0
	}
	return int(n)
}

func (r *Reader) F64s() []float64 { return slice(r, 8, r.F64) }
func (r *Reader) I64s() []int64   { return slice(r, 8, r.I64) }
func (r *Reader) F32s() []float32 { return slice(r, 4, r.F32) }
func (r *Reader) I32s() []int32   { return slice(r, 4, func() int32 { return int32(r.u32()) }) }

// Bytes reads what Writer.Bytes wrote, as a copy: the message's buffer
// may be reused.
func (r *Reader) Bytes() []byte {
	n := r.Count(1)
	if r.Err != nil || n == 0 {
		return nil
	}
	out := append([]byte(nil), r.B[:n]...)
	r.B = r.B[n:]
	return out
}

// slice reads a length, then that many values of size bytes each; nil
// for none.
func slice[T any](r *Reader, size int, read func() T) []T {
	n := r.Count(size)
	if n == 0 {
		return nil
	}
	out := make([]T, n)
	for i := range out {
		out[i] = read()
	}
	return out
}

// Matrix reads what Writer.Matrix wrote, and its cols.
func (r *Reader) Matrix() ([][]float64, int) {
	rows := r.U64()
	cols := r.U64()
	if r.Err != nil {
		return nil, 0
	}
	if cols == 0 || cols > 1<<20 || rows > uint64(len(r.B))/8/cols {
		r.Err = fmt.Errorf("matrix %d×%d does not fit the %d bytes left", rows, cols, len(r.B))
		return nil, 0
	}
	if rows == 0 {
		return nil, int(cols)
	}
	out := make([][]float64, rows)
	for i := range out {
		out[i] = make([]float64, cols)
		for j := range out[i] {
			out[i][j] = r.F64()
		}
	}
	return out, int(cols)
}

// Done reports a decoding error or trailing bytes.
func (r *Reader) Done(what string) error {
	if r.Err == nil && len(r.B) != 0 {
		r.Err = fmt.Errorf("%d unexpected trailing bytes", len(r.B))
	}
	if r.Err != nil {
		return fmt.Errorf("decode %s: %w", what, r.Err)
	}
	return nil
}
