package prepare

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

// blocksOf cuts rows into partitions whose blocks carry their tables.
func blocksOf(rows []row, parts int) []*partition.Block {
	var out []*partition.Block
	for p := range parts {
		lo, hi := len(rows)*p/parts, len(rows)*(p+1)/parts
		out = append(out, &partition.Block{ID: p, Table: table(rows[lo:hi])})
	}
	return out
}

// wireExecutor maps every step and partial through the Codec, as the
// cluster does, and merges in partition order.
type wireExecutor struct {
	t      *testing.T
	blocks []*partition.Block
}

func (e wireExecutor) Run(_ context.Context, step algorithms.Step) (algorithms.Partial, error) {
	params, err := step.MarshalBinary()
	if err != nil {
		return nil, err
	}
	s, err := Codec{}.DecodeStep(step.Kind(), params)
	if err != nil {
		return nil, err
	}
	parts := make([]algorithms.Partial, len(e.blocks))
	for i, b := range e.blocks {
		p, err := s.Map(b)
		if err != nil {
			return nil, err
		}
		data, err := p.MarshalBinary()
		if err != nil {
			return nil, err
		}
		if parts[i], err = (Codec{}).DecodePartial(step.Kind(), data); err != nil {
			return nil, err
		}
	}
	return algorithms.MergeInOrder(parts)
}

var fitConfig = Config{Exclude: []string{"CustomerID"}, Missing: map[string]string{"Balance": "drop"},
	Outliers: Outliers{Method: "clip", Quantiles: []float64{0.02, 0.98}}, Log1p: []string{"Income"}, TopN: 2}

// Fitted over partitions, in process or through the wire, and resumed from
// a checkpoint after any step, the preparation is the one fitted to the
// whole table: the same encoder (quantiles and categories merge exactly)
// and the same scaling to rounding.
func TestProgramFitsAsTheWholeTable(t *testing.T) {
	rows := customers(9, 6000)
	whole := table(rows)
	enc, err := FitEncoder(schema, Stats(whole), fitConfig)
	if err != nil {
		t.Fatal(err)
	}
	feats, _, counts, err := enc.Encode(whole, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	scaling, err := FitScaling("robust", FeatureStats(feats, len(enc.Names)))
	if err != nil {
		t.Fatal(err)
	}
	balanceOneHot(scaling, enc)
	check := func(name string, pl *Pipeline) {
		t.Helper()
		a, _ := json.Marshal(pl.Encoder)
		b, _ := json.Marshal(enc)
		if string(a) != string(b) {
			t.Fatalf("%s: encoder %s\nwhole table's %s", name, a, b)
		}
		for i := range scaling.Center {
			if math.Abs(pl.Scaling.Center[i]-scaling.Center[i]) > 1e-9*math.Abs(scaling.Center[i]) || math.Abs(pl.Scaling.Scale[i]-scaling.Scale[i]) > 1e-9*scaling.Scale[i] {
				t.Fatalf("%s: feature %d scaled by (%v, %v), whole table's (%v, %v)", name, i, pl.Scaling.Center[i], pl.Scaling.Scale[i], scaling.Center[i], scaling.Scale[i])
			}
		}
		if pl.Counts.Rows != counts.Rows || pl.Counts.Dropped != counts.Dropped || pl.Counts.Dropped == 0 {
			t.Fatalf("%s: counts %+v, whole table's %+v", name, pl.Counts, counts)
		}
	}
	blocks := blocksOf(rows, 5)
	for name, ex := range map[string]algorithms.Executor{
		"local": &algorithms.LocalExecutor{Blocks: blocks, Parallelism: 2},
		"wire":  wireExecutor{t, blocks},
	} {
		p := NewProgram(fitConfig, "robust", schema)
		if err := algorithms.Drive(context.Background(), p, ex, nil); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pl, err := p.Result()
		if err != nil {
			t.Fatal(err)
		}
		check(name, pl)
	}
}

// Applying the pipeline gives scaled features of the kept rows.
func TestPipelineFeatures(t *testing.T) {
	rows := customers(10, 3000)
	p := NewProgram(fitConfig, "standard", schema)
	if err := algorithms.Drive(context.Background(), p, &algorithms.LocalExecutor{Blocks: blocksOf(rows, 3)}, nil); err != nil {
		t.Fatal(err)
	}
	pl, _ := p.Result()
	feats, kept, cnt, err := pl.Features(table(rows), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(kept)) != cnt.Rows-cnt.Dropped || len(feats) != len(kept)*len(pl.Encoder.Names) {
		t.Fatalf("%d kept, %d values, counts %+v", len(kept), len(feats), cnt)
	}
	// Standard scaling: every number feature has variance 1, and a text
	// column's L one-hot features have variance 1/L each, 1 together.
	st := FeatureStats(feats, len(pl.Encoder.Names))
	at := 0
	for _, in := range pl.Encoder.Inputs {
		n := in.Features()
		var total float64
		for j := at; j < at+n; j++ {
			if math.Abs(st[j].Mean) > 1e-9 {
				t.Errorf("feature %s: mean %v", pl.Encoder.Names[j], st[j].Mean)
			}
			total += st[j].Variance()
		}
		if math.Abs(total-1) > 1e-9 {
			t.Errorf("column %s: its %d features' variances add to %v", in.Column, n, total)
		}
		at += n
	}
}

func TestProgramErrors(t *testing.T) {
	p := NewProgram(Config{}, "standard", schema)
	err := algorithms.Drive(context.Background(), p, &algorithms.LocalExecutor{Blocks: []*partition.Block{{ID: 3}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "partition 3 has no table") {
		t.Errorf("block without a table: %v", err)
	}
	rows := customers(11, 300)
	for i := range rows {
		rows[i].age = math.NaN()
	}
	rows[0].age = 30
	rows[1].age = math.NaN()
	p = NewProgram(Config{Columns: []string{"Age", "Income"}, Missing: map[string]string{"Age": "drop", "Income": "drop"}}, "standard", schema)
	// Every row but the first misses its age, and the first its income.
	rows[0].income = math.NaN()
	err = algorithms.Drive(context.Background(), p, &algorithms.LocalExecutor{Blocks: blocksOf(rows, 2)}, nil)
	if err == nil || !strings.Contains(err.Error(), "every one of the 300 rows was dropped") || !strings.Contains(err.Error(), "299 for Age") {
		t.Errorf("all rows dropped: %v", err)
	}
	if _, err := (Codec{}).DecodePartial(kindStats, []byte(`[{"count":-1}]`)); err == nil {
		t.Error("decoded a negative count")
	}
}
