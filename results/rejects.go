package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

// RejectsKind names the rejects step on the wire.
const RejectsKind = "results/rejects"

// RejectsStep writes every row of a raw file partition that could not be
// read to Dir/rejects/part-NNNNN.csv: file, line, byte offset, reason and
// the row's text. Offsets, by partition id, turn a piece's line numbers
// into its file's (prepare.Program.LineOffsets).
type RejectsStep struct {
	Dir     string        `json:"dir"`
	Offsets map[int]int64 `json:"offsets,omitempty"`
}

func (s *RejectsStep) Kind() string { return RejectsKind }

func (s *RejectsStep) MarshalBinary() ([]byte, error) { return json.Marshal(s) }

// Path is where partition id's rejects go.
func (s *RejectsStep) Path(id int) string {
	return filepath.Join(s.Dir, "rejects", fmt.Sprintf("part-%05d.csv", id))
}

func (s *RejectsStep) Map(b *partition.Block) (algorithms.Partial, error) {
	if len(b.Rejects) == 0 {
		return &RejectsPartial{}, nil
	}
	t := partition.NewTable([]partition.Field{{Name: "file", Type: partition.Text}, {Name: "line", Type: partition.Number},
		{Name: "offset", Type: partition.Number}, {Name: "reason", Type: partition.Text}, {Name: "text", Type: partition.Text}})
	for _, r := range b.Rejects {
		t.AppendText(0, r.File, false)
		t.Columns[1].Num = append(t.Columns[1].Num, float64(r.Line+s.Offsets[b.ID]))
		t.Columns[2].Num = append(t.Columns[2].Num, float64(r.Offset))
		t.AppendText(3, r.Reason, false)
		t.AppendText(4, r.Text, r.Text == "")
		t.Rows++
	}
	if err := writeWhole(s.Path(b.ID), func(tmp string) error { return writeTable(tmp, t) }); err != nil {
		return nil, fmt.Errorf("partition %d: write rejects: %w", b.ID, err)
	}
	return &RejectsPartial{Rows: int64(t.Rows)}, nil
}

// RejectsPartial counts the rows written.
type RejectsPartial struct{ Rows int64 }

func (p *RejectsPartial) Merge(next algorithms.Partial) error {
	n, ok := next.(*RejectsPartial)
	if !ok {
		return errors.New("merge mismatched rejects partials")
	}
	p.Rows += n.Rows
	return nil
}

func (p *RejectsPartial) MarshalBinary() ([]byte, error) {
	return []byte(strconv.FormatInt(p.Rows, 10)), nil
}

// writeWhole writes a file to path aside, with write, and renames it into
// place, so a file there is whole.
func writeWhole(path string, write func(tmp string) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp" + filepath.Ext(path)
	if err := write(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// writeTable writes t as one file, in the format tmp's name asks for.
func writeTable(tmp string, t *partition.Table) error {
	w, err := partition.CreateTable(tmp, t.Schema())
	if err != nil {
		return err
	}
	if err := w.Write(t); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
