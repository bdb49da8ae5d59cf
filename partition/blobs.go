package partition

import (
	"context"
	"fmt"
	"math/rand/v2"
)

// Blobs is a Gaussian mixture: each row picks one of Clusters centres
// uniformly and adds N(0, Spread²) noise per dimension. Every partition is
// generated from (Seed, partition id) alone, so a worker can build its own
// partitions of a 100-million-row dataset without any file, and the true
// centres are known for checking what k-means finds.
type Blobs struct {
	spec    SyntheticSpec
	split   Split
	centers [][]float64
}

// Streams of the PCG generator; distinct so centres never correlate with rows.
const (
	centerStream    = 0x9e3779b97f4a7c15
	partitionStream = 0xbf58476d1ce4e5b9
)

// NewBlobs validates the spec and draws the centres.
func NewBlobs(spec SyntheticSpec, partitionRows int) (*Blobs, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if partitionRows < 1 {
		return nil, fmt.Errorf("partition rows must be positive (got %d)", partitionRows)
	}
	box := spec.Box
	if box == 0 {
		box = 10
	}
	rng := rand.New(rand.NewPCG(spec.Seed, centerStream))
	centers := make([][]float64, spec.Clusters)
	for c := range centers {
		centers[c] = make([]float64, spec.Dims)
		for j := range centers[c] {
			centers[c][j] = (2*rng.Float64() - 1) * box
		}
	}
	return &Blobs{spec: spec, split: Split{Rows: spec.Rows, Size: partitionRows}, centers: centers}, nil
}

// Centers returns the true centres, one per cluster.
func (b *Blobs) Centers() [][]float64 {
	out := make([][]float64, len(b.centers))
	for i, c := range b.centers {
		out[i] = append([]float64(nil), c...)
	}
	return out
}

func (b *Blobs) Dims() int          { return b.spec.Dims }
func (b *Blobs) Rows() int64        { return b.spec.Rows }
func (b *Blobs) NumPartitions() int { return b.split.NumPartitions() }

// Load generates partition id. Row ids are global row numbers.
func (b *Blobs) Load(ctx context.Context, id int) (*Block, error) {
	start, n, err := b.split.Range(id)
	if err != nil {
		return nil, err
	}
	blk := NewBlock(id, n, b.spec.Dims)
	rng := rand.New(rand.NewPCG(b.spec.Seed^partitionStream, uint64(id)))
	spread := b.spec.Spread
	for i := 0; i < n; i++ {
		// Generating a partition takes a while at scale; checking now and then
		// keeps a cancelled load from holding a core.
		if i&0xffff == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("load partition %d: %w", id, ctx.Err())
		}
		c := b.centers[rng.IntN(len(b.centers))]
		row := blk.Data[i*blk.Stride : i*blk.Stride+blk.Dims]
		for j := range row {
			row[j] = float32(c[j] + spread*rng.NormFloat64())
		}
		blk.IDs[i] = start + int64(i)
	}
	return blk, nil
}
