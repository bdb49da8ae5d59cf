package coordinator_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/jobspec"
	"github.com/cohort/cohort/partition"
)

// regroup is a test algorithm that moves rows between partitions inside
// its program: a Regroup step sends each row's first feature to one of
// eight buckets by a hash of its place, then a step over the buckets sums
// them in bucket order, and the model cuts at the mean. The driver has no
// code for it; the executors shuffle.
const (
	regroupName   = "regroup"
	regroupBucket = "regroup/values"
	regroupN      = 8
)

func init() {
	algorithms.RegisterBucket(regroupBucket, func(parts [][]byte, _ []partition.Field, _ json.RawMessage, _ []string) (*partition.Table, int64, error) {
		t := partition.NewTable([]partition.Field{{Name: "v", Type: partition.Number}})
		for _, p := range parts {
			for i := 0; i+8 <= len(p); i += 8 {
				t.Columns[0].Num = append(t.Columns[0].Num, math.Float64frombits(binary.LittleEndian.Uint64(p[i:])))
			}
		}
		t.Rows = len(t.Columns[0].Num)
		return t, 0, nil
	})
	algorithms.Register(algorithms.Algorithm{
		Name: regroupName, Summary: "test: regroups rows, then cuts at the mean",
		Configure: func(algorithms.Params, uint64) (algorithms.Config, error) { return regroupConfig{}, nil },
		Codec:     regroupCodec{},
		DecodeModel: func(data []byte) (algorithms.Model, error) {
			m := &splitModel{}
			return m, json.Unmarshal(data, m)
		},
	})
}

type regroupConfig struct{}

func (regroupConfig) Check(int64, int) error { return nil }
func (regroupConfig) MaxIter() int           { return 2 }
func (regroupConfig) New(rows int64, dims int) (algorithms.Fit, error) {
	return &regroupFit{dims: dims}, nil
}
func (regroupConfig) Resume([]byte) (algorithms.Fit, error) {
	// Its buckets live only as long as the run: it starts again.
	return nil, errors.New("regroup does not resume")
}

type regroupFit struct {
	dims, steps     int
	rows, above     int64
	sum, mean       float64
	moved, regroups int64
}

func (f *regroupFit) Next() (algorithms.Step, bool, error) {
	switch f.steps {
	case 0:
		return regroupStep{}, false, nil
	case 1:
		return &sumStep{}, false, nil
	case 2:
		return &sumStep{Mean: f.mean, Count: true}, false, nil
	}
	return nil, true, nil
}

func (f *regroupFit) Update(merged algorithms.Partial) error {
	p := merged.(*splitPartial)
	switch f.steps {
	case 0:
		f.moved = p.Rows
	case 1:
		f.rows, f.sum, f.mean = p.Rows, p.Sum, p.Sum/float64(p.Rows)
	case 2:
		f.above = p.Above
	}
	f.steps++
	return nil
}

func (f *regroupFit) Checkpoint() ([]byte, error) { return nil, nil }
func (f *regroupFit) Progress() algorithms.Progress {
	return algorithms.Progress{Phase: "regroup", Iteration: f.steps}
}
func (f *regroupFit) Model() (algorithms.Model, error) {
	if f.moved != f.rows {
		return nil, fmt.Errorf("regroup moved %d rows, the buckets hold %d", f.moved, f.rows)
	}
	return &splitModel{Feature: 0, Dims: f.dims, Mean: f.mean, Sizes: []int64{f.rows - f.above, f.above}}, nil
}

// regroupStep sends each row's first feature to a bucket by its place.
type regroupStep struct{}

func (regroupStep) Kind() string                   { return regroupName + "/scatter" }
func (regroupStep) MarshalBinary() ([]byte, error) { return nil, nil }
func (regroupStep) Map(*partition.Block) (algorithms.Partial, error) {
	return nil, errors.New("a regroup runs as a shuffle")
}
func (regroupStep) Buckets() int { return regroupN }
func (regroupStep) Bucket() algorithms.BucketKind {
	return algorithms.BucketKind{Kind: regroupBucket, Schema: []partition.Field{{Name: "v", Type: partition.Number}}}
}
func (regroupStep) Scatter(b *partition.Block) (algorithms.Partial, [][]byte, error) {
	parts := make([][]byte, regroupN)
	buf := make([]float32, b.Stride)
	for i := range b.Rows {
		h := partition.Hash(fmt.Sprint(b.ID, "/", i))
		bk := h % regroupN
		parts[bk] = binary.LittleEndian.AppendUint64(parts[bk], math.Float64bits(float64(b.Span(i, i+1, buf)[0])))
	}
	return &splitPartial{Rows: int64(b.Rows)}, parts, nil
}

// sumStep sums (and counts above a mean) the buckets' values.
type sumStep struct {
	Mean  float64
	Count bool
}

func (s *sumStep) Kind() string                   { return regroupName + "/sum" }
func (s *sumStep) MarshalBinary() ([]byte, error) { return json.Marshal(s) }
func (s *sumStep) Map(b *partition.Block) (algorithms.Partial, error) {
	if b.Table == nil {
		return nil, fmt.Errorf("partition %d is not a bucket", b.ID)
	}
	p := &splitPartial{Rows: int64(b.Table.Rows)}
	for _, v := range b.Table.Columns[0].Num {
		p.Sum += v
		if s.Count && v >= s.Mean {
			p.Above++
		}
	}
	return p, nil
}

type regroupCodec struct{}

func (regroupCodec) DecodeStep(kind string, params []byte) (algorithms.Step, error) {
	if kind == regroupName+"/scatter" {
		return regroupStep{}, nil
	}
	s := &sumStep{}
	return s, json.Unmarshal(params, s)
}
func (regroupCodec) DecodePartial(kind string, data []byte) (algorithms.Partial, error) {
	p := &splitPartial{}
	return p, json.Unmarshal(data, p)
}

// A program that regroups its rows between partitions runs the same on
// the local executor and on clusters of 1 and 3 workers: the buckets are
// built from their parts in source order and summed in bucket order, so
// the mean has the same bits everywhere.
func TestAProgramRegroupsRowsWithoutDriverCode(t *testing.T) {
	spec := "name: r\nseed: 3\ndata:\n  synthetic: {kind: blobs, rows: 24000, dims: 4, clusters: 3, spread: 0.5, seed: 11}\n  partition_rows: 2000\ncluster: {algorithm: regroup}\n"
	parsed, err := jobspec.Parse([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	src, err := partition.Open(parsed.Dataset(), partition.Env{})
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := partition.LoadAll(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	want := localFit(t, parsed, blocks, src.Rows(), src.Dims())
	for _, workers := range []int{1, 3} {
		c := startCoordinators(t, 1, 10*time.Second)
		c.AddWorkers(workers)
		res := c.Run(0, spec, nil)
		if math.Float64bits(res.Metrics["mean"]) != math.Float64bits(want.Metrics["mean"]) || res.Sizes[0] != want.Sizes[0] || res.Sizes[0]+res.Sizes[1] != 24000 {
			t.Fatalf("%d workers: mean %v sizes %v; local %v %v", workers, res.Metrics["mean"], res.Sizes, want.Metrics["mean"], want.Sizes)
		}
		c.AwaitReleased() // the regroup's buckets and their parts too
	}
}
