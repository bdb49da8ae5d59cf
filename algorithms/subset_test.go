package algorithms

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/cohort/cohort/partition"
)

// A subset and its complement split every partition's rows exactly, each
// row on one side, in about the fraction asked; another seed draws other
// rows, and a partition's draw does not depend on the other partitions.
func TestSubsetAndComplementSplitTheRows(t *testing.T) {
	s := Subset{Seed: 3, Fraction: 0.8}
	for _, id := range []int{0, 1, 7} {
		b := partition.NewBlock(id, 10000, 2)
		in, out := s.Rows(b), s.Complementary().Rows(b)
		if len(in)+len(out) != b.Rows {
			t.Fatalf("partition %d: %d + %d rows of %d", id, len(in), len(out), b.Rows)
		}
		side := make([]int, b.Rows)
		for _, i := range in {
			side[i]++
		}
		for _, i := range out {
			side[i] += 2
		}
		for i, v := range side {
			if v != 1 && v != 2 {
				t.Fatalf("partition %d: row %d is on sides %d", id, i, v)
			}
		}
		if share := float64(len(in)) / float64(b.Rows); math.Abs(share-0.8) > 0.02 {
			t.Fatalf("partition %d: %.3f of the rows, want about 0.8", id, share)
		}
		other := Subset{Seed: 4, Fraction: 0.8}.Rows(b)
		same := 0
		for i := range min(len(other), len(in)) {
			if other[i] == in[i] {
				same++
			}
		}
		if same == len(in) {
			t.Fatalf("partition %d: seeds 3 and 4 drew the same rows", id)
		}
	}
}

// The count step counts each side, through the registry's codecs, and
// Release lets go of the rows it cached, leaving other scratch alone.
func TestSubsetCountAndRelease(t *testing.T) {
	var blocks []*partition.Block
	for id := range 3 {
		blocks = append(blocks, partition.NewBlock(id, 1000+id, 3))
	}
	ex := &LocalExecutor{Blocks: blocks}
	s := Subset{Seed: 9, Fraction: 0.25, Complement: true}
	var want int64
	for _, b := range blocks {
		want += int64(len(s.Rows(b)))
	}
	got, err := s.CountRows(context.Background(), ex)
	if err != nil || got != want {
		t.Fatalf("count %d, %v; want %d", got, err, want)
	}
	step := s.Count()
	params, _ := step.MarshalBinary()
	back, err := Registered().DecodeStep(step.Kind(), params)
	if err != nil {
		t.Fatal(err)
	}
	p, err := back.Map(blocks[1])
	if err != nil {
		t.Fatal(err)
	}
	data, _ := p.MarshalBinary()
	q, err := Registered().DecodePartial(step.Kind(), data)
	if err != nil || q.(*RowCount).Rows != int64(len(s.Rows(blocks[1]))) {
		t.Fatalf("count partial %+v, %v", q, err)
	}
	blocks[2].TakeScratch()
	blocks[2].PutScratch("another algorithm's")
	freed, err := ex.Run(context.Background(), Release())
	if err != nil || freed.(*RowCount).Rows != int64(len(s.Rows(blocks[0]))+len(s.Rows(blocks[1]))) {
		t.Fatalf("released %+v, %v", freed, err)
	}
	if blocks[0].TakeScratch() != nil || blocks[2].TakeScratch() != "another algorithm's" {
		t.Fatal("release left a subset's rows or took another's scratch")
	}
}

// A fraction outside (0, 1), an inner step no codec knows, a shuffle
// inside a subset and malformed wire input are errors that say so.
func TestSubsetRefusesBadInput(t *testing.T) {
	b := partition.NewBlock(0, 10, 2)
	for _, f := range []float64{0, 1, -0.5, 1.5, math.NaN(), math.Inf(1)} {
		s := Subset{Fraction: f}
		if err := s.Check(); err == nil || !strings.Contains(err.Error(), "between 0 and 1") {
			t.Errorf("fraction %v: %v", f, err)
		}
		if _, err := s.Step(&idStep{}).Map(b); err == nil {
			t.Errorf("fraction %v: a step mapped", f)
		}
		if _, err := s.CountRows(context.Background(), &LocalExecutor{Blocks: []*partition.Block{b}}); err == nil {
			t.Errorf("fraction %v: counted", f)
		}
	}
	for _, f := range []string{"0", "1", "-0.5", "1.5"} {
		if _, err := Registered().DecodeStep(kindCount, []byte(`{"fraction":`+f+`}`)); err == nil || !strings.Contains(err.Error(), "between 0 and 1") {
			t.Errorf("fraction %s: a count step decoded (%v)", f, err)
		}
	}
	codec := Registered()
	cases := map[string]struct{ kind, params string }{
		`unknown step kind "nope/x"`:   {"subset/nope/x", `{"fraction":0.5,"params":null}`},
		"between 0 and 1":              {"subset/nope/x", `{"fraction":2}`},
		"subset/kmeans/lloyd step":     {"subset/kmeans/lloyd", `{"fraction":`},
		`unknown subset step "subset"`: {"subset", `{}`},
	}
	for want, c := range cases {
		if _, err := codec.DecodeStep(c.kind, []byte(c.params)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s %s: %v, want %q", c.kind, c.params, err, want)
		}
	}
	if _, err := codec.DecodePartial("subset/nope/x", nil); err == nil || !strings.Contains(err.Error(), `unknown step kind "nope/x"`) {
		t.Errorf("partial of an unknown inner kind: %v", err)
	}
	if _, err := codec.DecodePartial(kindCount, []byte{1, 2}); err == nil {
		t.Error("a short count partial decoded")
	}
	sc := &shuffleStep{}
	if _, err := (Subset{Fraction: 0.5}).Step(sc).Map(b); err == nil || !strings.Contains(err.Error(), "cannot shuffle") {
		t.Errorf("a shuffle in a subset: %v", err)
	}
	prog := Subset{Fraction: 0.5}.Program(&oneStep{step: sc})
	if _, _, err := prog.Next(); err == nil || !strings.Contains(err.Error(), "cannot shuffle") {
		t.Errorf("a program's shuffle in a subset: %v", err)
	}
}

// shuffleStep is a Scatter, which a subset refuses.
type shuffleStep struct{ idStep }

func (s *shuffleStep) Buckets() int { return 1 }
func (s *shuffleStep) Scatter(b *partition.Block) (Partial, [][]byte, error) {
	return &orderPartial{}, [][]byte{nil}, nil
}

// oneStep proposes step once.
type oneStep struct {
	step Step
	done bool
}

func (p *oneStep) Next() (Step, bool, error)   { return p.step, p.done, nil }
func (p *oneStep) Update(Partial) error        { p.done = true; return nil }
func (p *oneStep) Checkpoint() ([]byte, error) { return nil, nil }
func (p *oneStep) Progress() Progress          { return Progress{} }
