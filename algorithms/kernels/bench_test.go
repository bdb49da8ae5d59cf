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
