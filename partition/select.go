package partition

import "slices"

// Select is a block of b's rows idx (ascending positions in b, each
// once), with b's ID, in the form b holds them: a packed block's subset is
// packed, so it costs its share of b's memory and Span gives every row
// the bits it has in b. The copy owns its rows. It keeps what describes
// the rows (IDs, SumExact: a subset of quantized rows sums as exactly)
// and none of what describes b's source (Table, Reread, BytesRead,
// Rejects, Lines, Duplicates): those are facts about every row of the
// partition, which the subset's readers would misread as theirs.
func (b *Block) Select(idx []int32) *Block {
	s := &Block{ID: b.ID, Rows: len(idx), Dims: b.Dims, Stride: b.Stride, IDs: make([]int64, len(idx)), SumExact: b.SumExact}
	for j, i := range idx {
		s.IDs[j] = b.IDs[i]
	}
	if b.pack != nil {
		s.pack = b.pack.selectRows(idx)
		return s
	}
	s.Data = make([]float32, len(idx)*b.Stride)
	b.Gather(idx, s.Data)
	return s
}

// selectRows is p's rows idx, packed as p packs them.
func (p *packed) selectRows(idx []int32) *packed {
	q := &packed{dense: slices.Clone(p.dense), at: slices.Clone(p.at), width: slices.Clone(p.width),
		wide: p.wide, base: slices.Clone(p.base), hot: slices.Clone(p.hot)}
	nd, nr := len(p.dense), len(p.at)
	q.values = make([]float32, len(idx)*nd)
	for j, i := range idx {
		copy(q.values[j*nd:(j+1)*nd], p.values[int(i)*nd:(int(i)+1)*nd])
	}
	if p.wide {
		q.codes16 = selectCodes(p.codes16, idx, nr)
	} else {
		q.codes8 = selectCodes(p.codes8, idx, nr)
	}
	return q
}

func selectCodes[C uint8 | uint16](codes []C, idx []int32, nr int) []C {
	out := make([]C, len(idx)*nr)
	for j, i := range idx {
		copy(out[j*nr:(j+1)*nr], codes[int(i)*nr:(int(i)+1)*nr])
	}
	return out
}
