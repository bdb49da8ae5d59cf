package bench

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/cohort/cohort/partition"
)

func TestSumWordsAddsEveryWordWhateverTheSplit(t *testing.T) {
	var slices [][]uint64
	var want uint64
	for n, x := range []int{0, 1, 7, 8, 9, 63, 1000} {
		s := make([]uint64, x)
		for i := range s {
			s[i] = uint64(n+1)*0x9e3779b97f4a7c15 + uint64(i)*uint64(i)<<33 // wraps: the sum is mod 2^64
			want += s[i]
		}
		if got := sumWords(s); got != sumPlain(s) {
			t.Fatalf("sumWords of %d words = %d, want %d", x, got, sumPlain(s))
		}
		slices = append(slices, s)
	}
	for _, threads := range []int{1, 2, 3, 8, 5000} {
		if got := sumWordsParallel(slices, threads); got != want {
			t.Fatalf("%d threads: sum %d, want %d", threads, got, want)
		}
	}
	if got := sumWordsParallel(nil, 4); got != 0 {
		t.Fatalf("empty sum %d", got)
	}
}

func sumPlain(s []uint64) (t uint64) {
	for _, x := range s {
		t += x
	}
	return t
}

func TestReadMemoryReadsEveryBlockPaddingIncluded(t *testing.T) {
	a, b := partition.NewBlock(0, 3, 5), partition.NewBlock(1, 2, 5)
	var want uint64
	for _, blk := range []*partition.Block{a, b} {
		for i := range blk.Data {
			blk.Data[i] = float32(i) + 0.5
		}
		for i := 0; i < len(blk.Data); i += 2 {
			// Little-endian: the even float is the low half of the word.
			want += uint64(math.Float32bits(blk.Data[i])) | uint64(math.Float32bits(blk.Data[i+1]))<<32
		}
	}
	m := readMemory([]*partition.Block{a, b})
	if m.Sum != want || m.Bytes != (3+2)*8*4 || !(m.Seconds > 0) || !(m.GBps() > 0) {
		t.Fatalf("read %+v, want sum %d over %d bytes", m, want, (3+2)*8*4)
	}
}

// The memory read is meant to cover the workers' own blocks; check the job
// run hands them over and that they are the blocks the source generates.
func TestJobRunKeepsTheWorkersBlocks(t *testing.T) {
	cfg := KMeansConfig{Rows: 20000, Dims: 4, K: 4, Iters: 4, Workers: 2, Seed: 5, PartitionRows: 3000, Spread: 1}
	src, err := partition.NewBlobs(cfg.spec(), cfg.PartitionRows)
	if err != nil {
		t.Fatal(err)
	}
	run, err := runKMeansJob(context.Background(), cfg, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.blocks) != src.NumPartitions() {
		t.Fatalf("kept %d blocks of %d", len(run.blocks), src.NumPartitions())
	}
	want, err := partition.LoadAll(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	for id, b := range run.blocks {
		if b.ID != id || !slices.Equal(b.Data, want[id].Data) {
			t.Fatalf("block %d (id %d) differs from the generated partition", id, b.ID)
		}
	}
}
