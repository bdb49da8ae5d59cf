package evaluate

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/kmeans"
	"github.com/cohort/cohort/partition"
)

// agreementCase is what testdata/agreement_reference.py computed: a nil
// value is one that is undefined.
type agreementCase struct {
	Name    string   `json:"name"`
	KA      int      `json:"ka"`
	KB      int      `json:"kb"`
	A       []int32  `json:"a"`
	B       []int32  `json:"b"`
	ARI     *float64 `json:"ari"`
	Jaccard []*struct {
		Value float64 `json:"value"`
		Match int     `json:"match"`
	} `json:"jaccard"`
	SegmentStrength []*float64 `json:"segment_strength"`
	Strength        *float64   `json:"strength"`
}

func agreementCases(t *testing.T) []agreementCase {
	t.Helper()
	data, err := os.ReadFile("testdata/agreement.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []agreementCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

func tableOf(c agreementCase) *Contingency {
	tab := NewContingency(c.KA, c.KB)
	for i := range c.A {
		tab.Add(c.A[i], c.B[i])
	}
	return tab
}

func sameScore(t *testing.T, what string, got Score, want *float64) {
	t.Helper()
	switch {
	case want == nil && (got.OK() || got.Absent == ""):
		t.Errorf("%s: %+v, want absent with a reason", what, got)
	case want != nil && !got.OK():
		t.Errorf("%s: absent (%s), want %v", what, got.Absent, *want)
	case want != nil && math.Abs(*got.Value-*want) > 1e-12:
		t.Errorf("%s: %.17g, want %.17g", what, *got.Value, *want)
	}
}

// The adjusted Rand index is scikit-learn's to 1e-12, and Jaccard
// recovery and prediction strength are their definitions counted row by
// row and pair by pair: random, nearly equal, relabelled and identical
// labelings, one segment, one row, segments of one row and none, noise,
// nothing but noise, and sixty thousand rows; never NaN.
func TestAgreementEqualsTheReference(t *testing.T) {
	for _, c := range agreementCases(t) {
		tab := tableOf(c)
		sameScore(t, c.Name+": ARI", tab.AdjustedRand(), c.ARI)
		sameScore(t, c.Name+": ARI, the table transposed", tab.Transpose().AdjustedRand(), c.ARI)
		if c.Jaccard == nil {
			continue // too many rows to count pairs one by one
		}
		jac := tab.Jaccard()
		if len(jac) != c.KA {
			t.Fatalf("%s: %d segments' Jaccard, want %d", c.Name, len(jac), c.KA)
		}
		for i, w := range c.Jaccard {
			var want *float64
			match := -1
			if w != nil {
				want, match = &w.Value, w.Match
			}
			sameScore(t, c.Name+": Jaccard", jac[i].Jaccard, want)
			if jac[i].Match != match || jac[i].Segment != i {
				t.Errorf("%s: segment %d matched %d, want %d", c.Name, i, jac[i].Match, match)
			}
		}
		ps := tab.PredictionStrength()
		sameScore(t, c.Name+": prediction strength", ps.Strength, c.Strength)
		for i, w := range c.SegmentStrength {
			sameScore(t, c.Name+": a segment's strength", ps.Segments[i].Strength, w)
			if g := ps.Segments[i]; g.Pairs != g.Rows*(g.Rows-1)/2 || g.Together > g.Pairs {
				t.Errorf("%s: segment %d: %d of %d pairs together, of %d rows", c.Name, i, g.Together, g.Pairs, g.Rows)
			}
		}
		if ps.Strength.OK() != (ps.Weakest >= 0) || ps.Strength.OK() && *ps.Segments[ps.Weakest].Strength.Value != *ps.Strength.Value {
			t.Errorf("%s: the weakest segment %d for strength %+v", c.Name, ps.Weakest, ps.Strength)
		}
		data, err := json.Marshal([]any{tab.AdjustedRand(), jac, ps})
		if err != nil || bytes.Contains(data, []byte("NaN")) {
			t.Fatalf("%s: %s, %v", c.Name, data, err)
		}
	}
}

// The reference file is what the script gives now, when /usr/bin/python3
// has scikit-learn.
func TestAgreementReferenceIsCurrent(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import sklearn").Run(); err != nil {
		t.Skip("no scikit-learn for /usr/bin/python3 (apt-get install python3-sklearn)")
	}
	dir := t.TempDir()
	script, err := os.ReadFile("testdata/agreement_reference.py")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ref.py"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(py, filepath.Join(dir, "ref.py")).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	fresh, _ := os.ReadFile(filepath.Join(dir, "agreement.json"))
	var a []agreementCase
	if err := json.Unmarshal(fresh, &a); err != nil {
		t.Fatal(err)
	}
	if b := agreementCases(t); !reflect.DeepEqual(a, b) {
		t.Fatal("the script now gives other cases or values: run testdata/agreement_reference.py")
	}
}

// agreementModels are the blobs' six-segment model and a three-segment
// one, and the blobs in 1 and 3 partitions.
func agreementModels(t *testing.T) (a, b *algorithms.ModelRef, rows [][]float64) {
	t.Helper()
	m6, _ := blobsModel(t)
	m3, err := kmeans.NewModel(kmeans.Result{Centroids: references(t)["blobs"].Centroids[:3], Sizes: make([]int64, 3)})
	if err != nil {
		t.Fatal(err)
	}
	if a, err = algorithms.NewModelRef(kmeans.Name, m6); err != nil {
		t.Fatal(err)
	}
	if b, err = algorithms.NewModelRef(kmeans.Name, m3); err != nil {
		t.Fatal(err)
	}
	return a, b, readRows(t, "testdata/blobs.csv", false, 0, 1, 2, 3)
}

// directTable labels each of blocks' rows in keep (all when nil) with
// both models, one row at a time.
func directTable(t *testing.T, a, b *algorithms.ModelRef, blocks []*partition.Block, keep func(*partition.Block) []int32) *Contingency {
	t.Helper()
	ma, _ := a.Decoded()
	mb, _ := b.Decoded()
	tab := NewContingency(ma.Describe().Segments, mb.Describe().Segments)
	for _, blk := range blocks {
		idx := keep(blk)
		for _, i := range idx {
			row := blk.Data[int(i)*blk.Stride : (int(i)+1)*blk.Stride]
			la, lb := algorithms.NewAssigned(ma.Output(), 1), algorithms.NewAssigned(mb.Output(), 1)
			if ma.Assign(row, 1, blk.Stride, la) != nil || mb.Assign(row, 1, blk.Stride, lb) != nil {
				t.Fatal("assign")
			}
			tab.Add(la.Segment[0], lb.Segment[0])
		}
	}
	return tab
}

func every(b *partition.Block) []int32 {
	idx := make([]int32, b.Rows)
	for i := range idx {
		idx[i] = int32(i)
	}
	return idx
}

// runRegistered runs step over blocks with the step and each partial
// through the registry's codecs, as a cluster does.
func runRegistered(t *testing.T, step algorithms.Step, blocks []*partition.Block) algorithms.Partial {
	t.Helper()
	codec := algorithms.Registered()
	params, err := step.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var parts []algorithms.Partial
	for _, b := range blocks {
		s, err := codec.DecodeStep(step.Kind(), params)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Map(b)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := p.MarshalBinary()
		if p, err = codec.DecodePartial(step.Kind(), data); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
	}
	merged, err := algorithms.MergeInOrder(parts)
	if err != nil {
		t.Fatal(err)
	}
	return merged
}

// The contingency step, through the registry's codecs, counts what the
// models give each row, on one partition and on three, over every row and
// over a subset, whose table and its complement's add up to the whole.
func TestContingencyStepCountsEveryRowsPair(t *testing.T) {
	a, b, rows := agreementModels(t)
	step, err := NewContingencyStep(a, b, 4)
	if err != nil {
		t.Fatal(err)
	}
	sub := algorithms.Subset{Seed: 5, Fraction: 0.8}
	for _, parts := range []int{1, 3} {
		blocks := partition.BlocksOf(rows, parts)
		whole, err := AsContingency(runRegistered(t, step, blocks))
		if err != nil {
			t.Fatal(err)
		}
		if want := directTable(t, a, b, blocks, every); !reflect.DeepEqual(whole, want) {
			t.Fatalf("%d partitions: the table %v, want %v", parts, whole.Counts, want.Counts)
		}
		if whole.Rows() != 3000 || whole.Noise() != 0 || whole.KA != 6 || whole.KB != 3 {
			t.Fatalf("%d partitions: %d rows, %d noise, %d × %d", parts, whole.Rows(), whole.Noise(), whole.KA, whole.KB)
		}
		sum := NewContingency(6, 3)
		for _, s := range []algorithms.Subset{sub, sub.Complementary()} {
			got, err := AsContingency(runRegistered(t, s.Step(step), blocks))
			if err != nil {
				t.Fatal(err)
			}
			if want := directTable(t, a, b, blocks, s.Rows); !reflect.DeepEqual(got, want) {
				t.Fatalf("%d partitions, %+v: the table %v, want %v", parts, s, got.Counts, want.Counts)
			}
			if err := sum.Merge(got); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(sum.Counts, whole.Counts) {
			t.Fatalf("%d partitions: a subset and its complement count %v, every row %v", parts, sum.Counts, whole.Counts)
		}
	}
	// A model against itself agrees entirely.
	self, _ := NewContingencyStep(a, a, 4)
	p, err := (&algorithms.LocalExecutor{Blocks: partition.BlocksOf(rows, 2)}).Run(context.Background(), self)
	if err != nil {
		t.Fatal(err)
	}
	tab, _ := AsContingency(p)
	if ari := tab.AdjustedRand(); !ari.OK() || *ari.Value != 1 {
		t.Fatalf("a model against itself: ARI %+v", ari)
	}
	for _, m := range tab.Jaccard() {
		if !m.Jaccard.OK() || *m.Jaccard.Value != 1 || m.Match != m.Segment {
			t.Fatalf("a model against itself: %+v", m)
		}
	}
}

// Rows either model calls noise are counted in its noise row or column
// and left out of the measures.
func TestAgreementLeavesNoiseOut(t *testing.T) {
	a, b, rows := agreementModels(t)
	m, _ := a.Decoded()
	noisy, err := algorithms.NewModelRef(kmeans.Name, noiseModel{m})
	if err != nil {
		t.Fatal(err)
	}
	blocks := partition.BlocksOf(rows, 3)
	step, err := NewContingencyStep(noisy, b, 4)
	if err != nil {
		t.Fatal(err)
	}
	p, err := (&algorithms.LocalExecutor{Blocks: blocks}).Run(context.Background(), step)
	if err != nil {
		t.Fatal(err)
	}
	tab, _ := AsContingency(p)
	want := references(t)["blobs"].PerSegment[1].Size
	var inNoiseRow int64
	for c := -1; c < 3; c++ {
		inNoiseRow += tab.Count(-1, c)
	}
	if tab.Noise() != want || inNoiseRow != want || tab.Rows() != 3000-want {
		t.Fatalf("noise %d (%d in its row), rows %d: want %d noise rows", tab.Noise(), inNoiseRow, tab.Rows(), want)
	}
	if j := tab.Jaccard()[1]; j.Jaccard.OK() || j.Rows != 0 {
		t.Fatalf("the segment made noise: %+v", j)
	}
	// The measures are the table's without the noise row.
	clean := NewContingency(6, 3)
	for x := range 6 {
		for y := range 3 {
			clean.Counts[clean.cell(x, y)] = tab.Count(x, y)
		}
	}
	if got, want := tab.AdjustedRand(), clean.AdjustedRand(); *got.Value != *want.Value {
		t.Fatalf("ARI %v with noise counted, %v without", *got.Value, *want.Value)
	}
}

// The step and its partial cross the wire and back; malformed partials,
// steps without models, unknown kinds and a model of other dims are
// errors.
func TestAgreementWireAndBadInput(t *testing.T) {
	a, b, rows := agreementModels(t)
	blocks := partition.BlocksOf(rows, 2)
	step, err := NewContingencyStep(a, b, 4)
	if err != nil {
		t.Fatal(err)
	}
	codec := algorithms.Registered()
	p, _ := step.Map(blocks[0])
	data, _ := p.MarshalBinary()
	back, err := codec.DecodePartial(step.Kind(), data)
	if err != nil || !reflect.DeepEqual(back, p) {
		t.Fatalf("the partial changed on the wire: %v", err)
	}
	for _, bad := range [][]byte{data[:len(data)-1], data[:16], append(slices.Clone(data), 0)} {
		if _, err := codec.DecodePartial(step.Kind(), bad); err == nil {
			t.Errorf("a partial of %d bytes decoded", len(bad))
		}
	}
	wrong := NewContingency(2, 2)
	data, _ = wrong.MarshalBinary()
	data[0] = 3 // 3 × 2 segments, for 9 counts
	if _, err := codec.DecodePartial(step.Kind(), data); err == nil || !strings.Contains(err.Error(), "9 counts for 3 × 2") {
		t.Errorf("a table of the wrong size: %v", err)
	}
	if err := wrong.Merge(NewContingency(2, 3)); err == nil {
		t.Error("tables of other sizes merged")
	}
	for kind, params := range map[string]string{kindContingency: `{"ka":2}`, "agreement/nope": `{}`} {
		if _, err := codec.DecodeStep(kind, []byte(params)); err == nil {
			t.Errorf("%s %s decoded", kind, params)
		}
	}
	if _, err := NewContingencyStep(a, b, 5); err == nil || !strings.Contains(err.Error(), "data of 5 dims") {
		t.Errorf("a model of other dims: %v", err)
	}
	if _, err := AsContingency(&segmentsPartial{}); err == nil {
		t.Error("a segments partial taken for a table")
	}
}

// kmConfig is a k-means Config as the registry's, without a spec.
type kmConfig struct{ c kmeans.Config }

func (k kmConfig) Check(rows int64, dims int) error { return k.c.Validate(rows, dims) }
func (k kmConfig) MaxIter() int                     { return k.c.MaxIter }
func (k kmConfig) New(rows int64, dims int) (algorithms.Fit, error) {
	return kmeans.New(k.c, rows, dims)
}
func (k kmConfig) Resume(cp []byte) (algorithms.Fit, error) { return kmeans.Resume(cp) }

// The pieces compose into the stability measures: k-means fitted
// on every row, on a resample and on its complement, over the same
// partitions; the resample's fit recovers the full fit's segments
// (Jaccard over the resample's rows, ARI), and the complement's fit is
// predicted by the resample's model (prediction strength over the
// complement's rows). The blobs are well separated: all are high.
func TestStabilityOfTheBlobs(t *testing.T) {
	ctx := context.Background()
	_, _, rows := agreementModels(t)
	ex := &algorithms.LocalExecutor{Blocks: partition.BlocksOf(rows, 3), Parallelism: 2}
	cfg := kmConfig{kmeans.Config{K: 6, Seed: 3, Restarts: 3}.WithDefaults()}
	fit := func(f algorithms.Fit) *algorithms.ModelRef {
		t.Helper()
		if err := algorithms.Drive(ctx, f, ex, nil); err != nil {
			t.Fatal(err)
		}
		m, err := f.Model()
		if err != nil {
			t.Fatal(err)
		}
		ref, err := algorithms.NewModelRef(kmeans.Name, m)
		if err != nil {
			t.Fatal(err)
		}
		return ref
	}
	all, err := cfg.New(3000, 4)
	if err != nil {
		t.Fatal(err)
	}
	full := fit(all)
	resample := algorithms.Subset{Seed: 9, Fraction: 0.8}
	train, _, err := resample.Start(ctx, ex, cfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	trained := fit(train)
	test, _, err := resample.Complementary().Start(ctx, ex, cfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	tested := fit(test)
	table := func(s algorithms.Subset, a, b *algorithms.ModelRef) *Contingency {
		t.Helper()
		step, err := NewContingencyStep(a, b, 4)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ex.Run(ctx, s.Step(step))
		if err != nil {
			t.Fatal(err)
		}
		tab, err := AsContingency(p)
		if err != nil {
			t.Fatal(err)
		}
		return tab
	}
	recovered := table(resample, full, trained)
	if ari := recovered.AdjustedRand(); !ari.OK() || *ari.Value < 0.9 {
		t.Errorf("ARI of the resample's fit against the full fit: %+v", ari)
	}
	for _, m := range recovered.Jaccard() {
		if !m.Jaccard.OK() || *m.Jaccard.Value < 0.85 {
			t.Errorf("segment %d recovered with Jaccard %+v", m.Segment, m.Jaccard)
		}
	}
	ps := table(resample.Complementary(), tested, trained).PredictionStrength()
	if !ps.Strength.OK() || *ps.Strength.Value < 0.8 {
		t.Errorf("prediction strength %+v", ps)
	}
}
