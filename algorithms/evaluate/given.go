package evaluate

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

// GivenModel names the model of labels made elsewhere (a ModelRef's and a
// job result's algorithm): registered as a model, not an algorithm, so no
// spec can fit it.
const GivenModel = "given"

// kindLevels is the step that lists a label column's values.
const kindLevels = GivenModel + "/levels"

// MaxLevels bounds the distinct labels: more are an id or a measure, not
// a segmentation.
const MaxLevels = 10_000

func init() {
	algorithms.RegisterModel(GivenModel, func(data []byte) (algorithms.Model, error) {
		var g Given
		if err := json.Unmarshal(data, &g); err != nil {
			return nil, fmt.Errorf("decode given labels: %w", err)
		}
		if g.Column == "" || len(g.Levels) == 0 || g.Dims < 1 {
			return nil, errors.New("decode given labels: no column, labels or dims")
		}
		return &g, nil
	})
	algorithms.RegisterSteps(GivenModel, givenCodec{})
}

// Given is a segmentation made elsewhere, as a model: each row's segment
// is its value in Column (a column of the raw data, or joined onto it by
// id), numbered by its place in Levels. A row without a label has no
// segment, as noise has none, and is left out of every metric. It labels
// the rows it was given; it cannot assign new ones.
type Given struct {
	Column string   `json:"column"`
	Levels []string `json:"levels"`
	Sizes  []int64  `json:"sizes,omitempty"` // rows of each label
	Dims   int      `json:"dims"`
}

var _ algorithms.Model = (*Given)(nil)

// Encode implements algorithms.Model.
func (g *Given) Encode() ([]byte, error) { return json.Marshal(g) }

// Describe implements algorithms.Model.
func (g *Given) Describe() algorithms.Description {
	d, _ := json.Marshal(map[string]any{"labels": g.Column, "levels": g.Levels})
	return algorithms.Description{Segments: len(g.Levels), Dims: g.Dims, Sizes: g.Sizes, Converged: true, Details: d}
}

// Output implements algorithms.Model.
func (g *Given) Output() algorithms.Output { return algorithms.Output{} }

// Assign implements algorithms.Model: it refuses, since the labels are of
// the rows they came with.
func (g *Given) Assign([]float32, int, int, algorithms.Assigned) error {
	return fmt.Errorf("labels given in column %q segment the rows they came with; they assign no others", g.Column)
}

// labelRows is each of b's rows' segment: its label's place in Levels.
// They are read again each step, not kept in the block's scratch: the
// exact silhouette keeps its distance sums there, and the two would evict
// each other. Rows held in memory make the read a projection.
func (g *Given) labelRows(b *partition.Block) ([]int32, error) {
	col, err := labelColumn(b, g.Column)
	if err != nil {
		return nil, err
	}
	at := make(map[string]int32, len(g.Levels))
	for i, l := range g.Levels {
		at[l] = int32(i)
	}
	labels := make([]int32, b.Rows)
	for r, i := range b.IDs {
		v, ok := col.Key(int(i))
		if !ok {
			labels[r] = -1
			continue
		}
		s, ok := at[v]
		if !ok {
			return nil, fmt.Errorf("partition %d: label %q of column %q is not one of the %d found", b.ID, v, g.Column, len(g.Levels))
		}
		labels[r] = s
	}
	return labels, nil
}

// labelColumn reads b's raw rows' label column again.
func labelColumn(b *partition.Block, column string) (*partition.Column, error) {
	if b.Reread == nil {
		return nil, fmt.Errorf("partition %d: labels are a column of data read from files; synthetic data has none", b.ID)
	}
	raw, err := b.Reread(context.Background(), []string{column})
	if err != nil {
		return nil, fmt.Errorf("partition %d: read the labels in %q: %w", b.ID, column, err)
	}
	col := raw.Column(column)
	if col == nil {
		return nil, fmt.Errorf("partition %d: the data has no column %q of labels", b.ID, column)
	}
	for _, i := range b.IDs {
		if i < 0 || int(i) >= raw.Rows {
			return nil, fmt.Errorf("partition %d: row %d of a piece of %d rows", b.ID, i, raw.Rows)
		}
	}
	return col, nil
}

// GivenConfig scores labels made elsewhere: a Config whose fit is one
// step, listing the labels the rows have, and whose model is Given. A
// job fits it in place of an algorithm.
type GivenConfig struct{ Column string }

var _ algorithms.Config = GivenConfig{}

// Check implements algorithms.Config.
func (c GivenConfig) Check(rows int64, dims int) error {
	if c.Column == "" {
		return errors.New("labels: name the column that holds them")
	}
	return nil
}

// MaxIter implements algorithms.Config.
func (GivenConfig) MaxIter() int { return 0 }

// New implements algorithms.Config.
func (c GivenConfig) New(rows int64, dims int) (algorithms.Fit, error) {
	if err := c.Check(rows, dims); err != nil {
		return nil, err
	}
	return &givenFit{Column: c.Column, Dims: dims}, nil
}

// Resume implements algorithms.Config.
func (c GivenConfig) Resume(checkpoint []byte) (algorithms.Fit, error) {
	var f givenFit
	if err := json.Unmarshal(checkpoint, &f); err != nil || f.Column != c.Column {
		return nil, fmt.Errorf("given labels checkpoint of %q: %v", c.Column, err)
	}
	return &f, nil
}

// givenFit lists the labels, then is done.
type givenFit struct {
	Column string   `json:"column"`
	Dims   int      `json:"dims"`
	Levels []string `json:"levels,omitempty"`
	Sizes  []int64  `json:"sizes,omitempty"`
	Done   bool     `json:"done"`
}

func (f *givenFit) Next() (algorithms.Step, bool, error) {
	if f.Done {
		return nil, true, nil
	}
	return &levelsStep{Column: f.Column}, false, nil
}

func (f *givenFit) Update(merged algorithms.Partial) error {
	l, ok := merged.(*levelsPartial)
	if !ok {
		return fmt.Errorf("given labels: a %T partial", merged)
	}
	if len(l.Levels) == 0 {
		return fmt.Errorf("column %q has no labels: every row's is missing", f.Column)
	}
	f.Levels, f.Sizes = sortLevels(l.Levels, l.Counts)
	f.Done = true
	return nil
}

func (f *givenFit) Checkpoint() ([]byte, error) { return json.Marshal(f) }

func (f *givenFit) Progress() algorithms.Progress {
	if f.Done {
		return algorithms.Progress{Phase: "done"}
	}
	return algorithms.Progress{Phase: "labels"}
}

func (f *givenFit) Model() (algorithms.Model, error) {
	if !f.Done {
		return nil, errors.New("the labels have not been listed")
	}
	return &Given{Column: f.Column, Levels: f.Levels, Sizes: f.Sizes, Dims: f.Dims}, nil
}

// sortLevels orders labels as numbers when every one is a whole number
// (another tool's 0..k−1 keep their numbers' order), else as text.
func sortLevels(levels []string, counts []int64) ([]string, []int64) {
	order := make([]int, len(levels))
	for i := range order {
		order[i] = i
	}
	n := make([]int64, len(levels))
	numbers := true
	for i, l := range levels {
		v, err := strconv.ParseInt(l, 10, 64)
		numbers = numbers && err == nil
		n[i] = v
	}
	if numbers {
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(n[a], n[b]) })
	} // else levels are sorted as text already
	outL, outC := make([]string, len(order)), make([]int64, len(order))
	for i, o := range order {
		outL[i], outC[i] = levels[o], counts[o]
	}
	return outL, outC
}

// levelsStep lists the distinct labels of a block's rows.
type levelsStep struct {
	Column string `json:"column"`
}

func (s *levelsStep) Kind() string                   { return kindLevels }
func (s *levelsStep) MarshalBinary() ([]byte, error) { return json.Marshal(s) }

func (s *levelsStep) Map(b *partition.Block) (algorithms.Partial, error) {
	col, err := labelColumn(b, s.Column)
	if err != nil {
		return nil, err
	}
	seen := map[string]int64{}
	for _, i := range b.IDs {
		if v, ok := col.Key(int(i)); ok {
			seen[v]++
			if len(seen) > MaxLevels {
				return nil, tooMany(s.Column)
			}
		}
	}
	p := &levelsPartial{Levels: slices.Sorted(maps.Keys(seen))}
	for _, v := range p.Levels {
		p.Counts = append(p.Counts, seen[v])
	}
	return p, nil
}

func tooMany(column string) error {
	return fmt.Errorf("column %q has more than %d distinct labels: an id or a measure, not segments", column, MaxLevels)
}

// levelsPartial is a sorted set of labels, with each one's rows.
type levelsPartial struct {
	Levels []string `json:"levels"`
	Counts []int64  `json:"counts"`
}

func (p *levelsPartial) Merge(next algorithms.Partial) error {
	n, ok := next.(*levelsPartial)
	if !ok {
		return fmt.Errorf("merge %T into labels", next)
	}
	// Both are sorted: a merge of the two, each value once.
	out := make([]string, 0, len(p.Levels)+len(n.Levels))
	var counts []int64
	i, j := 0, 0
	for i < len(p.Levels) || j < len(n.Levels) {
		switch {
		case j == len(n.Levels) || i < len(p.Levels) && p.Levels[i] < n.Levels[j]:
			out, counts = append(out, p.Levels[i]), append(counts, p.Counts[i])
			i++
		case i == len(p.Levels) || n.Levels[j] < p.Levels[i]:
			out, counts = append(out, n.Levels[j]), append(counts, n.Counts[j])
			j++
		default:
			out, counts = append(out, p.Levels[i]), append(counts, p.Counts[i]+n.Counts[j])
			i, j = i+1, j+1
		}
	}
	if len(out) > MaxLevels {
		return errors.New("more than the most labels a segmentation has")
	}
	p.Levels, p.Counts = out, counts
	return nil
}

func (p *levelsPartial) MarshalBinary() ([]byte, error) { return json.Marshal(p) }

type givenCodec struct{}

func (givenCodec) DecodeStep(kind string, params []byte) (algorithms.Step, error) {
	if kind != kindLevels {
		return nil, fmt.Errorf("unknown step %q", kind)
	}
	s := &levelsStep{}
	if err := json.Unmarshal(params, s); err != nil || s.Column == "" {
		return nil, fmt.Errorf("%s step: no column (%v)", kind, err)
	}
	return s, nil
}

func (givenCodec) DecodePartial(kind string, data []byte) (algorithms.Partial, error) {
	if kind != kindLevels {
		return nil, fmt.Errorf("unknown partial %q", kind)
	}
	p := &levelsPartial{}
	if err := json.Unmarshal(data, p); err != nil {
		return nil, fmt.Errorf("%s partial: %w", kind, err)
	}
	if len(p.Levels) > MaxLevels || !slices.IsSorted(p.Levels) || len(p.Counts) != len(p.Levels) {
		return nil, fmt.Errorf("%s partial: %d labels, sorted %v", kind, len(p.Levels), slices.IsSorted(p.Levels))
	}
	return p, nil
}
