package partition

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// Lanes is the float32 vector width that row strides are padded to, so SIMD
// kernels can load whole vectors without a scalar tail per row. Padding
// columns are always zero, which leaves distances and sums unchanged.
const Lanes = 8

// PadDims is the row stride used for d real dimensions.
func PadDims(d int) int { return (d + Lanes - 1) / Lanes * Lanes }

// Block is one partition in memory: a contiguous row-major float32 matrix of
// Rows × Stride (Dims real columns, the rest zero) plus the customer-id column.
// A prepared block may hold its rows packed instead (Packed): readers take
// rows through Span, which expands them a chunk at a time.
type Block struct {
	ID     int       // partition id within its dataset
	Rows   int       // number of rows
	Dims   int       // real dimensions
	Stride int       // PadDims(Dims)
	Data   []float32 // Rows*Stride values; nil when the block is packed
	IDs    []int64   // customer id of each row
	// Table is the partition's rows as read from a file, before they are
	// prepared into Data (nil for synthetic data): what a preparation's
	// statistics are computed from.
	Table *Table
	// BytesRead is what building the block read from the data's source
	// (its file piece's bytes); zero when it was built from memory.
	// Rereads adds up what Reread read from the source since the node
	// last took it (nil: Reread reads from memory).
	BytesRead int64
	Rereads   *atomic.Int64
	// File is the file Table was read from; Rejects are the rows of its
	// piece that could not be read, and Lines the lines the piece spans
	// (CSV), for line numbers in the whole file.
	File    string
	Rejects []Reject
	Lines   int64
	// Duplicates are the rows of the source folded into this partition's
	// rows, or dropped, as duplicates of a customer id.
	Duplicates int64
	// Reread reads the partition's rows again, with only the named columns
	// (nil: every one), in their own units: a prepared block's IDs are the
	// indices of its rows in that table. Nil for synthetic data.
	Reread func(ctx context.Context, columns []string) (*Table, error)
	// SumExact: the rows are quantized (Quantize), so float64 sums of
	// them are exact in any order.
	SumExact bool
	// pack holds the rows in place of Data when the block is packed.
	pack *packed

	// scratch is what an algorithm keeps beside the block between passes
	// (k-means distance bounds). It is only ever an accelerator: a pass
	// that finds none, or one that does not fit, works without it.
	scratchMu sync.Mutex
	scratch   any
}

// TakeScratch removes and returns what an algorithm left with the block, or
// nil. Taking rather than reading means two passes over the same block at
// once never share state: the second finds nothing and works without it.
func (b *Block) TakeScratch() any {
	b.scratchMu.Lock()
	defer b.scratchMu.Unlock()
	v := b.scratch
	b.scratch = nil
	return v
}

// PutScratch leaves v with the block for a later pass.
func (b *Block) PutScratch(v any) {
	b.scratchMu.Lock()
	defer b.scratchMu.Unlock()
	b.scratch = v
}

// NewBlock allocates a zeroed block.
func NewBlock(id, rows, dims int) *Block {
	s := PadDims(dims)
	return &Block{ID: id, Rows: rows, Dims: dims, Stride: s, Data: make([]float32, rows*s), IDs: make([]int64, rows)}
}

// Packed reports whether the block holds its rows packed (Data nil): the
// features outside its one-hot runs as float32 and a code a run, which
// Span expands to the very float32 a dense block holds.
func (b *Block) Packed() bool { return b.pack != nil }

// Span returns rows [lo, hi), Stride values each with the padding zero:
// the block's own memory when it is dense (buf unused), else the rows
// expanded into buf, which must hold (hi−lo)·Stride values. Read a chunk
// of a few hundred rows at a time, into a buffer reused from chunk to
// chunk, the expansion stays in cache.
func (b *Block) Span(lo, hi int, buf []float32) []float32 {
	if b.pack == nil {
		return b.Data[lo*b.Stride : hi*b.Stride]
	}
	buf = buf[:(hi-lo)*b.Stride]
	b.pack.expand(lo, hi, b.Stride, buf)
	return buf
}

// Gather writes the rows idx into dst, Stride values each, whichever form
// the block holds them in.
func (b *Block) Gather(idx []int32, dst []float32) {
	if b.pack == nil {
		for j, i := range idx {
			copy(dst[j*b.Stride:(j+1)*b.Stride], b.Data[int(i)*b.Stride:(int(i)+1)*b.Stride])
		}
		return
	}
	b.pack.gather(idx, b.Stride, dst)
}

// Row returns row i's real dimensions: aliasing the block when it is
// dense, a copy when it is packed (Span reads rows in bulk).
func (b *Block) Row(i int) []float32 {
	if b.pack == nil {
		return b.Data[i*b.Stride : i*b.Stride+b.Dims]
	}
	row := make([]float32, b.Stride)
	b.pack.expand(i, i+1, b.Stride, row)
	return row[:b.Dims]
}

// Bytes is the memory the block holds.
func (b *Block) Bytes() int64 {
	n := int64(len(b.Data))*4 + int64(len(b.IDs))*8
	if b.pack != nil {
		n += b.pack.bytes()
	}
	if b.Table != nil {
		n += b.Table.Bytes()
	}
	return n
}

// Validate checks the block's shape is self-consistent.
func (b *Block) Validate() error {
	if b.Dims < 1 || b.Stride != PadDims(b.Dims) || len(b.IDs) != b.Rows || b.pack == nil && len(b.Data) != b.Rows*b.Stride {
		return fmt.Errorf("partition %d: inconsistent block shape rows=%d dims=%d stride=%d data=%d ids=%d",
			b.ID, b.Rows, b.Dims, b.Stride, len(b.Data), len(b.IDs))
	}
	if b.pack != nil {
		return b.pack.validate(b)
	}
	return nil
}

// BlocksOf cuts rows held in memory into parts dense blocks of about
// equal size, in order, as a dataset's partitions would hold them.
func BlocksOf(rows [][]float64, parts int) []*Block {
	if len(rows) == 0 || parts < 1 {
		return nil
	}
	dims := len(rows[0])
	var out []*Block
	per := (len(rows) + parts - 1) / parts
	for p := 0; p*per < len(rows); p++ {
		chunk := rows[p*per : min((p+1)*per, len(rows))]
		b := NewBlock(p, len(chunk), dims)
		for i, r := range chunk {
			for j, v := range r {
				b.Data[i*b.Stride+j] = float32(v)
			}
		}
		out = append(out, b)
	}
	return out
}
