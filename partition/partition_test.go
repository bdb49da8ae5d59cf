package partition

import (
	"context"
	"math"
	"strings"
	"testing"
)

func blobSpec() SyntheticSpec {
	return SyntheticSpec{Kind: "blobs", Rows: 10_000, Dims: 5, Clusters: 4, Spread: 0.5, Seed: 7}
}

func TestBlobsDeterministicPerPartition(t *testing.T) {
	a, err := NewBlobs(blobSpec(), 3000)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewBlobs(blobSpec(), 3000)
	if a.NumPartitions() != 4 {
		t.Fatalf("partitions = %d, want 4", a.NumPartitions())
	}
	ctx := context.Background()
	// Load in a different order on the second source: content must not depend on it.
	for _, id := range []int{3, 1, 0, 2} {
		x, err := a.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		b.Load(ctx, 3-id)
		y, _ := b.Load(ctx, id)
		if err := x.Validate(); err != nil {
			t.Fatal(err)
		}
		for i := range x.Data {
			if math.Float32bits(x.Data[i]) != math.Float32bits(y.Data[i]) {
				t.Fatalf("partition %d differs at %d", id, i)
			}
		}
	}
	last, _ := a.Load(ctx, 3)
	if last.Rows != 1000 || last.IDs[0] != 9000 || last.IDs[999] != 9999 {
		t.Fatalf("last partition rows=%d ids=%d..%d", last.Rows, last.IDs[0], last.IDs[last.Rows-1])
	}
	for i := 0; i < last.Rows; i++ {
		for j := last.Dims; j < last.Stride; j++ {
			if last.Data[i*last.Stride+j] != 0 {
				t.Fatalf("padding not zero at row %d col %d", i, j)
			}
		}
	}
}

func TestBlobsRowsNearTheirCentres(t *testing.T) {
	spec := blobSpec()
	src, _ := NewBlobs(spec, 4096)
	centers := src.Centers()
	var total, sq float64
	for id := 0; id < src.NumPartitions(); id++ {
		blk, _ := src.Load(context.Background(), id)
		for i := 0; i < blk.Rows; i++ {
			best := math.Inf(1)
			for _, c := range centers {
				var d float64
				for j, v := range blk.Row(i) {
					d += (float64(v) - c[j]) * (float64(v) - c[j])
				}
				best = min(best, d)
			}
			sq += best
			total++
		}
	}
	// Mean squared distance to the nearest centre is dims·spread² for separated blobs.
	got, want := sq/total, float64(spec.Dims)*spec.Spread*spec.Spread
	if math.Abs(got-want)/want > 0.05 {
		t.Fatalf("mean squared distance to centre %.4f, want about %.4f", got, want)
	}
}

func TestPartitionCountIsFixedByDataset(t *testing.T) {
	s := Spec{Synthetic: &SyntheticSpec{Kind: "blobs", Rows: 1 << 20, Dims: 2, Clusters: 2, Spread: 1}}
	src, err := Open(s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got := src.NumPartitions(); got != (1<<20)/DefaultPartitionRows {
		t.Fatalf("partitions = %d", got)
	}
}

func TestSpecErrorsNameTheField(t *testing.T) {
	ok := blobSpec()
	cases := []struct {
		mut  func(*Spec)
		want string
	}{
		{func(s *Spec) { s.Synthetic = nil }, "no source"},
		{func(s *Spec) { s.PartitionRows = -1 }, "partition_rows"},
		{func(s *Spec) { s.Synthetic.Kind = "moons" }, "kind"},
		{func(s *Spec) { s.Synthetic.Rows = 0 }, "rows must be at least 1"},
		{func(s *Spec) { s.Synthetic.Dims = 0 }, "dims must be at least 1"},
		{func(s *Spec) { s.Synthetic.Dims = MaxDims + 1 }, "exceeds the limit"},
		{func(s *Spec) { s.Synthetic.Clusters = 0 }, "clusters must be at least 1"},
		{func(s *Spec) { s.Synthetic.Clusters = 20_000 }, "exceeds rows"},
		{func(s *Spec) { s.Synthetic.Spread = math.NaN() }, "spread"},
		{func(s *Spec) { s.Synthetic.Spread = 0 }, "spread"},
		{func(s *Spec) { s.Synthetic.Box = -1 }, "box"},
	}
	for _, c := range cases {
		syn := ok
		s := Spec{Synthetic: &syn}
		c.mut(&s)
		_, err := Open(s, Env{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want it to mention %q", err, c.want)
		}
	}
}

func TestLoadOutOfRangeAndCancelled(t *testing.T) {
	src, _ := NewBlobs(blobSpec(), 3000)
	if _, err := src.Load(context.Background(), 4); err == nil {
		t.Fatal("partition 4 of 4 loaded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.Load(ctx, 0); err == nil {
		t.Fatal("cancelled load succeeded")
	}
}

func TestPlaceIsStableAndMovesLittle(t *testing.T) {
	if _, err := Place(4, nil); err == nil {
		t.Fatal("placement with no workers succeeded")
	}
	const n = 4000
	w3 := []string{"a", "b", "c"}
	p3, _ := Place(n, w3)
	p3r, _ := Place(n, []string{"c", "a", "b"})
	counts := map[string]int{}
	for p, w := range p3 {
		if p3r[p] != w {
			t.Fatalf("placement depends on worker order at partition %d", p)
		}
		counts[w]++
	}
	for _, w := range w3 {
		if counts[w] < n/3*8/10 {
			t.Fatalf("worker %s got %d of %d partitions: unbalanced %v", w, counts[w], n, counts)
		}
	}
	p4, _ := Place(n, append(w3, "d"))
	moved := 0
	for p, w := range p4 {
		if w != p3[p] {
			if w != "d" {
				t.Fatalf("partition %d moved between old workers %s -> %s", p, p3[p], w)
			}
			moved++
		}
	}
	if frac := float64(moved) / n; frac < 0.2 || frac > 0.3 {
		t.Fatalf("adding a 4th worker moved %.2f of partitions, want about 0.25", frac)
	}
}

func BenchmarkBlobsLoad16(b *testing.B) {
	src, _ := NewBlobs(SyntheticSpec{Kind: "blobs", Rows: DefaultPartitionRows, Dims: 16, Clusters: 16, Spread: 1, Seed: 1}, DefaultPartitionRows)
	b.SetBytes(DefaultPartitionRows * 16 * 4)
	for b.Loop() {
		if _, err := src.Load(context.Background(), 0); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPartitionRowsFor(t *testing.T) {
	for _, c := range []struct {
		rows int64
		dims int
		want int
		why  string
	}{
		{1_000_000, 16, DefaultPartitionRows, "small data keeps the floor, 8 partitions"},
		{100_000_000, 16, 781_250, "about 128 partitions"},
		{1_000_000_000, 16, 1 << 20, "64 MiB a partition at most"},
		{10_000_000, 32, 78_125, "128 partitions of 10 MiB"},
		{1_000_000, 64, 32_768, "wider rows: the floor is 8 MiB"},
		{1_000_000, 1 << 16, 1024, "never under 1024 rows"},
		{10, 3, DefaultPartitionRows, "a tiny dataset is one partition"},
	} {
		if got := PartitionRowsFor(c.rows, c.dims); got != c.want {
			t.Errorf("%d rows × %d dims: %d rows a partition, want %d (%s)", c.rows, c.dims, got, c.want, c.why)
		}
	}
}
