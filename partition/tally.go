package partition

import (
	"errors"
	"fmt"
	"slices"
)

// MaxRejectsKept bounds the unreadable rows a Tally keeps to show; its
// count is always exact.
const MaxRejectsKept = 1000

// Tally accounts for the rows of a file dataset's partitions: read, or
// not readable, with the first of those kept, their lines numbered in
// their file. Tallies merge in partition order, like any partial.
type Tally struct {
	Read     int64 `json:"read"`
	Rejected int64 `json:"rejected"`
	// Duplicates are rows folded into others or dropped for sharing a
	// customer id (data.duplicates).
	Duplicates int64    `json:"duplicates,omitempty"`
	Rejects    []Reject `json:"rejects,omitempty"`
	// Lines counts the lines of each file's pieces merged so far, to
	// number the next piece's rejects in the file.
	Lines map[string]int64 `json:"lines,omitempty"`
	// Pieces are the lines of each CSV partition, by partition id.
	Pieces map[int]PieceLines `json:"pieces,omitempty"`
}

// PieceLines is how many lines of which file a CSV partition spans.
type PieceLines struct {
	File  string `json:"file"`
	Lines int64  `json:"lines"`
}

// TallyOf is one raw file partition's tally.
func TallyOf(b *Block) Tally {
	t := Tally{Rejected: int64(len(b.Rejects)), Rejects: b.Rejects[:min(len(b.Rejects), MaxRejectsKept)], Duplicates: b.Duplicates}
	if b.Table != nil {
		t.Read = int64(b.Table.Rows)
	}
	if b.Lines > 0 {
		t.Lines = map[string]int64{b.File: b.Lines}
		t.Pieces = map[int]PieceLines{b.ID: {File: b.File, Lines: b.Lines}}
	}
	return t
}

// Merge folds n, which covers later partitions, into t.
func (t *Tally) Merge(n *Tally) {
	t.Read += n.Read
	t.Rejected += n.Rejected
	t.Duplicates += n.Duplicates
	for _, r := range n.Rejects {
		if len(t.Rejects) == MaxRejectsKept {
			break
		}
		r.Line += t.Lines[r.File]
		t.Rejects = append(t.Rejects, r)
	}
	for id, pl := range n.Pieces {
		if t.Pieces == nil {
			t.Pieces = map[int]PieceLines{}
		}
		t.Pieces[id] = pl
	}
	for f, l := range n.Lines {
		if t.Lines == nil {
			t.Lines = map[string]int64{}
		}
		t.Lines[f] += l
	}
}

// LineOffsets adds up, for each partition, the lines of the partitions of
// its file before it (partitions of a file are consecutive ids): what
// turns a piece's reject line numbers into its file's.
func (t *Tally) LineOffsets() map[int]int64 {
	ids := make([]int, 0, len(t.Pieces))
	for id := range t.Pieces {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make(map[int]int64, len(ids))
	seen := map[string]int64{}
	for _, id := range ids {
		pl := t.Pieces[id]
		out[id] = seen[pl.File]
		seen[pl.File] += pl.Lines
	}
	return out
}

// Check fails when more of the rows could not be read than the share
// maxShare allows, naming the first.
func (t *Tally) Check(maxShare float64) error {
	total := t.Read + t.Rejected
	if total == 0 {
		return errors.New("the data has no rows")
	}
	share := float64(t.Rejected) / float64(total)
	if t.Rejected == 0 || share <= maxShare {
		return nil
	}
	first := t.Rejects[0]
	return fmt.Errorf("%d of %d rows (%.2f%%) could not be read, more than data.max_rejects allows (%.2f%%); the first, %s line %d: %s",
		t.Rejected, total, 100*share, 100*maxShare, first.File, first.Line, first.Reason)
}
