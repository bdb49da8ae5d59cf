package partition

import (
	"context"
	"fmt"
)

// heldSource prepares a dataset's blocks from the raw tables this node
// already holds (Spec.From), and reads the source only for a partition it
// does not hold (it was placed elsewhere when the raw rows were read).
// Consuming, it has taken the table from the node (Spec.Consume) and keeps
// none with the block.
type heldSource struct {
	Source
	from    string
	held    func(dataset string, id int) *Block
	prep    Preparer
	consume bool
}

func (s *heldSource) Load(ctx context.Context, id int) (*Block, error) {
	raw := s.held(s.from, id)
	if raw == nil || raw.Table == nil || !hasColumns(raw.Table, s.prep.Columns()) {
		return s.Source.Load(ctx, id)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := Prepare(id, raw.Table, s.prep)
	if err != nil {
		return nil, fmt.Errorf("prepare partition %d of %s: %w", id, s.from, err)
	}
	b.File, b.Duplicates = raw.File, raw.Duplicates
	if s.consume {
		if src, ok := s.Source.(*fileSource); ok {
			if b.Rereads, b.Reread, err = src.rereader(ctx, id); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	b.Table, b.Reread = raw.Table, fromMemory(raw.Table)
	return b, nil
}

func hasColumns(t *Table, names []string) bool {
	for _, n := range names {
		if t.Column(n) == nil {
			return false
		}
	}
	return true
}
