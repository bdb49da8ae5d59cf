package results

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/prepare"
	"github.com/cohort/cohort/algorithms/profile"
	"github.com/cohort/cohort/partition"
)

// Kind names the assignment step on the wire.
const Kind = "results/assign"

// assignRows is how many rows a model assigns at a time: a packed block's
// rows are expanded that many at a time, into a buffer that stays in cache.
const assignRows = 512

// AssignStep gives every prepared row its segment by the job's model,
// whatever the algorithm, writes the partition's assignments (when Dir is
// set) and returns its segments' statistics.
type AssignStep struct {
	// The fitted model, decoded by the registry.
	algorithms.ModelRef
	// Dir is the job's output directory: assignments go to
	// Dir/assignments/part-NNNNN.parquet (or .csv). Empty writes nothing.
	Dir    string `json:"dir,omitempty"`
	Format string `json:"format,omitempty"` // parquet (default) or csv
	// ID is the id column, written as each customer's id; without one, the
	// row's number in its file piece is written.
	ID string `json:"id,omitempty"`
	// Columns are the columns profiled: the ones the segments were made
	// from. Empty profiles every column.
	Columns []string `json:"columns,omitempty"`
}

func (s *AssignStep) Kind() string                   { return Kind }
func (s *AssignStep) MarshalBinary() ([]byte, error) { return json.Marshal(s) }

// Path is where partition id's assignments go.
func (s *AssignStep) Path(id int) string {
	ext := ".parquet"
	if s.Format == "csv" {
		ext = ".csv"
	}
	return filepath.Join(s.Dir, "assignments", fmt.Sprintf("part-%05d%s", id, ext))
}

func (s *AssignStep) Map(b *partition.Block) (algorithms.Partial, error) {
	if b.Reread == nil {
		return nil, fmt.Errorf("partition %d is not read from files: nothing to assign", b.ID)
	}
	m, err := s.Decoded()
	if err != nil {
		return nil, fmt.Errorf("partition %d: the %s model: %w", b.ID, s.Algorithm, err)
	}
	d := m.Describe()
	if d.Dims != b.Dims {
		return nil, fmt.Errorf("partition %d: a model of %d features for %d", b.ID, d.Dims, b.Dims)
	}
	k := d.Segments
	out := algorithms.NewAssigned(m.Output(), b.Rows)
	var buf []float32
	if b.Packed() {
		buf = make([]float32, assignRows*b.Stride)
	}
	for lo := 0; lo < b.Rows; lo += assignRows {
		hi := min(lo+assignRows, b.Rows)
		if err := m.Assign(b.Span(lo, hi, buf), hi-lo, b.Stride, out.Slice(lo, hi)); err != nil {
			return nil, fmt.Errorf("partition %d: assign: %w", b.ID, err)
		}
	}
	label := out.Segment
	var columns []string // what is profiled and written, nothing else
	if len(s.Columns) > 0 {
		columns = slices.Clone(s.Columns)
		if s.ID != "" && !slices.Contains(columns, s.ID) {
			columns = append(columns, s.ID)
		}
	}
	raw, err := b.Reread(context.Background(), columns)
	if err != nil {
		return nil, fmt.Errorf("partition %d: read again for profiles: %w", b.ID, err)
	}
	rowLabel := make([]int32, raw.Rows)
	for i := range rowLabel {
		rowLabel[i] = -1 // dropped by the preparation
	}
	for r, i := range b.IDs {
		if i < 0 || int(i) >= raw.Rows {
			return nil, fmt.Errorf("partition %d: row %d of a piece of %d rows", b.ID, i, raw.Rows)
		}
		rowLabel[i] = label[r]
	}
	profiled := raw
	if len(s.Columns) > 0 {
		if profiled, err = raw.Project(s.Columns); err != nil {
			return nil, fmt.Errorf("partition %d: %w", b.ID, err)
		}
	}
	stats, err := profile.Compute(profiled, rowLabel, k)
	if err != nil {
		return nil, fmt.Errorf("partition %d: %w", b.ID, err)
	}
	if s.Dir != "" {
		if err := s.write(b, raw, out, m.Output()); err != nil {
			return nil, fmt.Errorf("partition %d: write assignments: %w", b.ID, err)
		}
	}
	return &Partial{Stats: stats, Rows: int64(b.Rows)}, nil
}

// write writes the partition's part file: one row per kept customer, its
// segment, its score as the model computed it (float32) and its flags,
// in columns the model names.
func (s *AssignStep) write(b *partition.Block, raw *partition.Table, out algorithms.Assigned, o algorithms.Output) error {
	var ids *partition.Column
	if s.ID != "" {
		if ids = raw.Column(s.ID); ids == nil {
			return fmt.Errorf("data.id %q is not a column of the data", s.ID)
		}
	}
	n := len(b.IDs)
	a := &partition.Assignments{Codes: make([]int32, n), Segment: out.Segment[:n], Score: out.Score[:n], ScoreName: o.Score, FlagNames: o.Flags}
	for _, f := range out.Flags {
		a.Flags = append(a.Flags, f[:n])
	}
	if ids != nil && ids.Type == partition.Text {
		// The data's own dictionary and the kept rows' codes: ids are
		// mostly unique, and looking each up again in a new dictionary was
		// most of the step's time.
		a.IDs = ids.Dict
		for r, i := range b.IDs {
			a.Codes[r] = ids.Codes[i]
		}
	} else {
		a.IDs = make([]string, n)
		for r, i := range b.IDs {
			id, ok := strconv.FormatInt(i, 10), true
			if ids != nil {
				id, ok = cell(ids, int(i))
			}
			a.IDs[r], a.Codes[r] = id, int32(r)
			if !ok {
				a.Codes[r] = -1
			}
		}
	}
	return writeWhole(s.Path(b.ID), func(tmp string) error { return partition.WriteAssignments(tmp, a) })
}

// cell is a column's value as text, as an id is written.
func cell(c *partition.Column, i int) (string, bool) {
	switch c.Type {
	case partition.Text:
		return c.Text(i)
	case partition.Number:
		v := c.Num[i]
		if math.IsNaN(v) {
			return "", false
		}
		// 'f' -1: an id of 1000000 is written "1000000", not "1e+06".
		return strconv.FormatFloat(v, 'f', -1, 64), true
	}
	ms := c.Times[i]
	return strconv.FormatInt(ms, 10), ms != partition.MissingTime
}

// Partial is the segments' statistics over some partitions and the rows
// they assigned.
type Partial struct {
	Stats *profile.Stats
	Rows  int64
}

func (p *Partial) Merge(next algorithms.Partial) error {
	n, ok := next.(*Partial)
	if !ok {
		return errors.New("merge mismatched assignment partials")
	}
	p.Rows += n.Rows
	return p.Stats.Merge(n.Stats)
}

type wire struct {
	Fields   []partition.Field `json:"fields"`
	Segments [][]byte          `json:"segments"` // each prepare.MarshalStats's bytes
	Rows     int64             `json:"rows"`
}

func (p *Partial) MarshalBinary() ([]byte, error) {
	w := wire{Fields: p.Stats.Fields, Rows: p.Rows}
	for _, seg := range p.Stats.Segments {
		data, err := prepare.MarshalStats(seg)
		if err != nil {
			return nil, err
		}
		w.Segments = append(w.Segments, data)
	}
	return json.Marshal(w)
}

// Codec decodes the assignment step and its partials.
type Codec struct{}

func (Codec) DecodeStep(kind string, params []byte) (algorithms.Step, error) {
	var s algorithms.Step
	switch kind {
	case Kind:
		s = &AssignStep{}
	case RejectsKind:
		s = &RejectsStep{}
	default:
		return nil, fmt.Errorf("unknown results step %q", kind)
	}
	if err := json.Unmarshal(params, s); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	return s, nil
}

func (Codec) DecodePartial(kind string, data []byte) (algorithms.Partial, error) {
	if kind == RejectsKind {
		n, err := strconv.ParseInt(string(data), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("decode %s partial: %w", kind, err)
		}
		return &RejectsPartial{Rows: n}, nil
	}
	if kind != Kind {
		return nil, fmt.Errorf("unknown results partial %q", kind)
	}
	var w wire
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("decode %s partial: %w", kind, err)
	}
	st := &profile.Stats{Fields: w.Fields}
	for i, seg := range w.Segments {
		cols, err := prepare.UnmarshalStats(seg)
		if err != nil {
			return nil, fmt.Errorf("decode %s partial, segment %d: %w", kind, i, err)
		}
		if len(cols) != len(w.Fields) {
			return nil, fmt.Errorf("decode %s partial, segment %d: %d columns of %d", kind, i, len(cols), len(w.Fields))
		}
		st.Segments = append(st.Segments, cols)
	}
	return &Partial{Stats: st, Rows: w.Rows}, nil
}
