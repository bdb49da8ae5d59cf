package coordinator_test

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

// split is a second algorithm, registered by this test package alone: it
// cuts the rows at the mean of one feature, in two steps (the mean, then
// the sizes either side). Nothing in the coordinator, the workers, the
// client or results knows it; that it runs through the whole cluster path
// is what shows the seam holds.
const splitName = "split"

func init() {
	algorithms.Register(algorithms.Algorithm{
		Name:    splitName,
		Summary: "test: two segments either side of a feature's mean",
		Params:  []algorithms.Param{{Name: "feature", Default: "0", Doc: "the feature to cut"}},
		Configure: func(p algorithms.Params, _ uint64) (algorithms.Config, error) {
			c := &splitConfig{}
			if err := p.Decode("feature", &c.Feature); err != nil {
				return nil, err
			}
			if c.Feature < 0 {
				return nil, p.Errorf("feature", "must be ≥ 0")
			}
			return c, nil
		},
		Codec:       splitCodec{},
		DecodeModel: func(data []byte) (algorithms.Model, error) { m := &splitModel{}; return m, json.Unmarshal(data, m) },
	})
}

type splitConfig struct{ Feature int }

func (c *splitConfig) Check(rows int64, dims int) error {
	if c.Feature >= dims {
		return fmt.Errorf("cluster.feature %d: the data has %d features", c.Feature, dims)
	}
	return nil
}
func (c *splitConfig) MaxIter() int { return 2 }
func (c *splitConfig) New(rows int64, dims int) (algorithms.Fit, error) {
	return &splitFit{S: splitState{Feature: c.Feature, Dims: dims}}, nil
}
func (c *splitConfig) Resume(cp []byte) (algorithms.Fit, error) {
	f := &splitFit{}
	return f, json.Unmarshal(cp, &f.S)
}

type splitState struct {
	Feature, Dims, Steps int
	Mean                 float64
	Sizes                []int64
}

type splitFit struct{ S splitState }

func (f *splitFit) Next() (algorithms.Step, bool, error) {
	switch f.S.Steps {
	case 0:
		return &splitStep{Feature: f.S.Feature}, false, nil
	case 1:
		return &splitStep{Feature: f.S.Feature, Mean: f.S.Mean, Count: true}, false, nil
	}
	return nil, true, nil
}

func (f *splitFit) Update(merged algorithms.Partial) error {
	p, ok := merged.(*splitPartial)
	if !ok {
		return fmt.Errorf("split: got %T", merged)
	}
	if f.S.Steps == 0 {
		f.S.Mean = p.Sum / float64(p.Rows)
	} else {
		f.S.Sizes = []int64{p.Rows - p.Above, p.Above}
	}
	f.S.Steps++
	return nil
}

func (f *splitFit) Checkpoint() ([]byte, error) { return json.Marshal(f.S) }
func (f *splitFit) Progress() algorithms.Progress {
	return algorithms.Progress{Phase: "split", Iteration: f.S.Steps, Objective: f.S.Mean}
}
func (f *splitFit) Model() (algorithms.Model, error) {
	if f.S.Steps < 2 {
		return nil, errors.New("split has not finished")
	}
	return &splitModel{Feature: f.S.Feature, Dims: f.S.Dims, Mean: f.S.Mean, Sizes: f.S.Sizes}, nil
}

type splitModel struct {
	Feature, Dims int
	Mean          float64
	Sizes         []int64
}

func (m *splitModel) Encode() ([]byte, error) { return json.Marshal(m) }
func (m *splitModel) Describe() algorithms.Description {
	return algorithms.Description{Segments: 2, Dims: m.Dims, Sizes: m.Sizes, Iterations: 2, Converged: true,
		Metrics: map[string]float64{"mean": m.Mean}}
}
func (m *splitModel) Output() algorithms.Output {
	return algorithms.Output{Score: "gap", Flags: []string{"above"}}
}
func (m *splitModel) Assign(data []float32, rows, stride int, out algorithms.Assigned) error {
	for i := range rows {
		v := float64(data[i*stride+m.Feature])
		out.Segment[i], out.Score[i], out.Flags[0][i] = 0, float32(math.Abs(v-m.Mean)), v >= m.Mean
		if v >= m.Mean {
			out.Segment[i] = 1
		}
	}
	return nil
}

type splitStep struct {
	Feature int
	Mean    float64
	Count   bool
}

func (s *splitStep) Kind() string                   { return splitName + "/pass" }
func (s *splitStep) MarshalBinary() ([]byte, error) { return json.Marshal(s) }
func (s *splitStep) Map(b *partition.Block) (algorithms.Partial, error) {
	p := &splitPartial{Rows: int64(b.Rows)}
	// Rows a chunk at a time through Span: a prepared block may be packed.
	buf := make([]float32, 512*b.Stride)
	for lo := 0; lo < b.Rows; lo += 512 {
		rows := b.Span(lo, min(lo+512, b.Rows), buf)
		for i := 0; i < len(rows); i += b.Stride {
			v := float64(rows[i+s.Feature])
			p.Sum += v
			if s.Count && v >= s.Mean {
				p.Above++
			}
		}
	}
	return p, nil
}

type splitPartial struct {
	Rows, Above int64
	Sum         float64
}

func (p *splitPartial) Merge(next algorithms.Partial) error {
	n := next.(*splitPartial)
	p.Rows, p.Above, p.Sum = p.Rows+n.Rows, p.Above+n.Above, p.Sum+n.Sum
	return nil
}
func (p *splitPartial) MarshalBinary() ([]byte, error) { return json.Marshal(p) }

type splitCodec struct{}

func (splitCodec) DecodeStep(kind string, params []byte) (algorithms.Step, error) {
	s := &splitStep{}
	return s, json.Unmarshal(params, s)
}
func (splitCodec) DecodePartial(kind string, data []byte) (algorithms.Partial, error) {
	p := &splitPartial{}
	return p, json.Unmarshal(data, p)
}

// An algorithm registered outside the system runs through the whole
// cluster path — spec, driver, workers, checkpoints, the result in the
// Raft log, assignments and profiles — without any of them naming it.
func TestASecondAlgorithmRunsThroughTheCluster(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	spec := fmt.Sprintf("name: s\ndata: {path: %s, id: ID}\nprepare: {columns: [Age, Income]}\ncluster: {algorithm: split, feature: 1}\noutput: {dir: %s, format: csv}\n",
		customersCSV(t, 3000), out)
	c := startCoordinators(t, 3, 20*time.Second)
	c.AddWorkers(2)
	res := c.Run(1, spec, nil)
	if res.Algorithm != splitName || res.K != 2 || res.Rows != 3000 || res.Iterations != 2 {
		t.Fatalf("result %s k=%d rows=%d iterations=%d", res.Algorithm, res.K, res.Rows, res.Iterations)
	}
	// The groups customersCSV makes lie either side of the income mean.
	if len(res.Sizes) != 2 || res.Sizes[0] != 1500 || res.Sizes[1] != 1500 {
		t.Fatalf("sizes %v", res.Sizes)
	}
	if _, ok := res.Metrics["mean"]; !ok || len(res.Centroids) != 0 {
		t.Fatalf("metrics %v, %d centroids", res.Metrics, len(res.Centroids))
	}
	// The raw rows are read once, by the preparation; the features, the
	// assignments and the profiles are made from the tables in memory.
	read := map[string]int64{}
	for _, st := range res.Stages {
		read[st.Name] = st.BytesRead
	}
	if read["prepare"] == 0 || read["cluster"] != 0 || read["assign"] != 0 {
		t.Fatalf("bytes read by stage: %v", read)
	}
	var profiles []json.RawMessage
	if err := json.Unmarshal(res.ProfilesJson, &profiles); err != nil || len(profiles) != 2 {
		t.Fatalf("profiles %s (%v)", res.ProfilesJson, err)
	}
	files, _ := filepath.Glob(filepath.Join(out, "assignments", "part-*.csv"))
	var rows int
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(fh).ReadAll()
		fh.Close()
		if err != nil || len(recs) == 0 || strings.Join(recs[0], ",") != "id,segment,gap,above" {
			t.Fatalf("%s: %v %v", f, err, recs[:min(1, len(recs))])
		}
		for _, r := range recs[1:] {
			var id int
			fmt.Sscan(r[0], &id)
			if want := fmt.Sprint(id % 2); r[1] != want || r[3] != fmt.Sprint(id%2 == 1) {
				t.Fatalf("customer %d in segment %s (flag above %s), want %s", id, r[1], r[3], want)
			}
		}
		rows += len(recs) - 1
	}
	if rows != 3000 {
		t.Fatalf("%d rows assigned of 3000", rows)
	}
	c.AwaitReleased()

	// A parameter it does not take is refused with the ones it does.
	cl := c.Client(0)
	_, err := cl.Submit(t.Context(), []byte(strings.Replace(spec, "feature: 1", "k: 2", 1)))
	if err == nil || !strings.Contains(err.Error(), "cluster.k is not a parameter of this algorithm (it takes: feature)") {
		t.Fatalf("submit with a parameter split does not take: %v", err)
	}
}
