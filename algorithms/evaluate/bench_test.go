package evaluate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/kmeans"
	"github.com/cohort/cohort/partition"
)

// BenchmarkExactSilhouette scores 16 segments of 16-dim rows exactly, in
// one partition (as a dataset this small is), and reports the cost of a
// pair of rows (of all n², though each unordered pair is measured once):
// `go test ./algorithms/evaluate -run XXX -bench Exact`.
func BenchmarkExactSilhouette(b *testing.B) {
	for _, rows := range []int{8192, 50_000} {
		b.Run(fmt.Sprint(rows), func(b *testing.B) { benchExact(b, rows) })
	}
}

func benchExact(b *testing.B, rows int) {
	const dims, k = 16, 16
	rng := rand.New(rand.NewPCG(1, 2))
	centres := make([][]float64, k)
	for c := range centres {
		centres[c] = make([]float64, dims)
		for j := range centres[c] {
			centres[c][j] = rng.Float64() * 20
		}
	}
	blk := partition.NewBlock(0, rows, dims)
	for i := range rows {
		c := centres[rng.IntN(k)]
		for j := range dims {
			blk.Data[i*blk.Stride+j] = float32(c[j] + rng.NormFloat64())
		}
	}
	m, err := kmeans.NewModel(kmeans.Result{Centroids: centres, Sizes: make([]int64, k)})
	if err != nil {
		b.Fatal(err)
	}
	ex := &algorithms.LocalExecutor{Blocks: []*partition.Block{blk}}
	b.ResetTimer()
	for range b.N {
		p, err := New(Config{}, kmeans.Name, m, int64(rows), dims)
		if err != nil {
			b.Fatal(err)
		}
		if err := algorithms.Drive(context.Background(), p, ex, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows*rows), "ns/pair")
}
