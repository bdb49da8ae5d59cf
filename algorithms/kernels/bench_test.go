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

// BenchmarkForm times the nearest-centroid search in the direct and the
// expanded form per implementation and shape: where the expanded form
// wins is what exPays encodes.
func BenchmarkForm(b *testing.B) {
	shapes := []struct{ rows, dims, k int }{
		{16384, 8, 32}, {16384, 8, 64}, {16384, 16, 16}, {16384, 16, 32}, {16384, 16, 64}, {16384, 16, 256},
		{16384, 32, 32}, {16384, 32, 64}, {16384, 32, 128}, {16384, 32, 256}, {16384, 5, 256}, {4096, 64, 1000},
		{16384, 24, 256}, {16384, 64, 64}, {16384, 64, 128}, {16384, 128, 64}, {8192, 32, 512}, {8192, 16, 512},
	}
	for _, im := range available() {
		if im.exRows == 0 {
			continue
		}
		for _, sh := range shapes {
			r := rand.New(rand.NewPCG(1, 1))
			cent := make([]float32, sh.k*sh.dims)
			for i := range cent {
				cent[i] = float32(r.NormFloat64())
			}
			x := make([]float32, sh.rows*sh.dims)
			for i := range sh.rows {
				q := r.IntN(sh.k)
				for j := range sh.dims {
					x[i*sh.dims+j] = cent[q*sh.dims+j] + float32(r.NormFloat64())*0.5
				}
			}
			label, dist, second := make([]int32, sh.rows), make([]float32, sh.rows), make([]float32, sh.rows)
			for _, ex := range []bool{false, true} {
				form := map[bool]string{false: "direct", true: "expanded"}[ex]
				b.Run(fmt.Sprintf("%s/N%d_D%d_K%d/%s", im.name, sh.rows, sh.dims, sh.k, form), func(b *testing.B) {
					var c Centroids
					c.set(cent, sh.k, sh.dims, im, ex)
					b.SetBytes(int64(len(x) * 4))
					for b.Loop() {
						c.nearest(im, x, sh.rows, sh.dims, label, dist, second)
					}
				})
			}
		}
	}
}
