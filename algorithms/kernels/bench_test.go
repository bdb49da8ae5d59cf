package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkAssign times the fused Lloyd kernel per implementation and
// shape (rows × dims, k centroids) on one core; bytes are the row data read.
func BenchmarkAssign(b *testing.B) {
	shapes := []struct{ rows, dims, k int }{
		{65536, 2, 4}, {65536, 16, 16}, {65536, 32, 256}, {16384, 64, 1000},
	}
	saved := active
	defer func() { active = saved }()
	for _, im := range available() {
		for _, sh := range shapes {
			b.Run(fmt.Sprintf("%s/N%d_D%d_K%d", im.name, sh.rows, sh.dims, sh.k), func(b *testing.B) {
				active = im
				r := rand.New(rand.NewPCG(1, 1))
				x := make([]float32, sh.rows*sh.dims)
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				cent := make([]float32, sh.k*sh.dims)
				for i := range cent {
					cent[i] = float32(r.NormFloat64())
				}
				var c Centroids
				c.Set(cent, sh.k, sh.dims)
				label, dist, second := make([]int32, sh.rows), make([]float32, sh.rows), make([]float32, sh.rows)
				tot := newTotals(sh.k, sh.dims)
				b.SetBytes(int64(len(x) * 4))
				b.ResetTimer()
				for b.Loop() {
					Assign(x, sh.rows, sh.dims, &c, label, dist, second, &tot, 0)
				}
			})
		}
	}
}

// BenchmarkBounded times the bounded Lloyd pass per implementation and
// shape once every row is vouched for (centroids unmoved): the steady state
// of a converging job. N4096 runs from L1/L2, N262144 from L3, N4194304
// from memory.
func BenchmarkBounded(b *testing.B) {
	shapes := []struct{ rows, dims, k int }{
		{4096, 16, 16}, {262144, 16, 16}, {1 << 22, 16, 16}, {4096, 32, 256}, {4096, 5, 8},
	}
	saved := active
	defer func() { active = saved }()
	for _, im := range available() {
		for _, sh := range shapes {
			b.Run(fmt.Sprintf("%s/N%d_D%d_K%d", im.name, sh.rows, sh.dims, sh.k), func(b *testing.B) {
				benchBounded(b, im, sh.rows, sh.dims, sh.k)
			})
		}
	}
}

func benchBounded(b *testing.B, im impl, rows, dims, k int) {
	saved := active
	defer func() { active = saved }()
	active = im
	r := rand.New(rand.NewPCG(1, 1))
	cent := make([]float32, k*dims)
	for i := range cent {
		cent[i] = float32(r.NormFloat64()) * 10
	}
	x := make([]float32, rows*dims)
	for i := range rows {
		q := r.IntN(k)
		for j := range dims {
			x[i*dims+j] = cent[q*dims+j] + float32(r.NormFloat64())
		}
	}
	var c Centroids
	c.Set(cent, k, dims)
	label, dist, second := make([]int32, rows), make([]float32, rows), make([]float32, rows)
	tot := newTotals(k, dims)
	Assign(x, rows, dims, &c, label, dist, second, &tot, 0)
	lower := make([]float32, rows)
	for i, s := range second {
		lower[i] = LowerBound(s, &c)
	}
	drop := make([]float64, k)
	b.SetBytes(int64(len(x) * 4))
	b.ResetTimer()
	for b.Loop() {
		tot := newTotals(k, dims)
		for i := 0; i < rows; i++ {
			i += Bounded(x[i*dims:], rows-i, dims, &c, label[i:], lower[i:], drop, &tot, i)
		}
	}
}
