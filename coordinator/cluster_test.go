package coordinator_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/client"
	"github.com/cohort/cohort/clustertest"
	"github.com/cohort/cohort/coordinator"
	"github.com/cohort/cohort/jobspec"
	"github.com/cohort/cohort/partition"
	pb "github.com/cohort/cohort/proto"
)

// startCoordinators starts n coordinators (and no workers) with the
// importable harness.
func startCoordinators(t *testing.T, n int, workerWait time.Duration) *clustertest.Cluster {
	t.Helper()
	return clustertest.Start(t, clustertest.Options{Coordinators: n, WorkerWait: workerWait})
}

// The dataset has 12 partitions so that 1, 2 and 3 workers each hold a
// different share, and merge order is what keeps the result identical.
const blobsSpec = `
name: blobs
seed: 3
data:
  synthetic: {kind: blobs, rows: 24000, dims: 6, clusters: 5, spread: 0.5, seed: 11}
  partition_rows: 2000
cluster:
  algorithm: kmeans
  k: 5
  max_iter: %d
  tol: %g
  restarts: 2
`

// localResult runs the same job with the in-process executor.
func localResult(t *testing.T, specYAML string) algorithms.Description {
	t.Helper()
	spec, err := jobspec.Parse([]byte(specYAML))
	if err != nil {
		t.Fatal(err)
	}
	src, err := partition.Open(spec.Dataset(), partition.Env{})
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := partition.LoadAll(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	return localFit(t, spec, blocks, src.Rows(), src.Dims())
}

// localFit fits the spec's algorithm, through the registry, over blocks
// with the in-process executor.
func localFit(t *testing.T, spec *jobspec.Spec, blocks []*partition.Block, rows int64, dims int) algorithms.Description {
	t.Helper()
	prog, err := spec.Config().New(rows, dims)
	if err != nil {
		t.Fatal(err)
	}
	if err := algorithms.Drive(context.Background(), prog, &algorithms.LocalExecutor{Blocks: blocks, Parallelism: 3}, nil); err != nil {
		t.Fatal(err)
	}
	m, err := prog.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m.Describe()
}

func sameBits(t *testing.T, what string, a [][]float64, b []*pb.Vector) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d centroids vs %d", what, len(a), len(b))
	}
	for i := range a {
		for j := range a[i] {
			if math.Float64bits(a[i][j]) != math.Float64bits(b[i].Values[j]) {
				t.Fatalf("%s: centroid %d dim %d: %v vs %v", what, i, j, a[i][j], b[i].Values[j])
			}
		}
	}
}

func TestSameCentroidsWithOneTwoAndThreeWorkers(t *testing.T) {
	spec := fmt.Sprintf(blobsSpec, 50, 1e-6)
	want := localResult(t, spec)
	for workers := 1; workers <= 3; workers++ {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			c := startCoordinators(t, 1, 10*time.Second)
			c.AddWorkers(workers)
			res := c.Run(0, spec, nil)
			sameBits(t, "cluster vs local executor", want.Centres, res.Centroids)
			if res.Workers != int32(workers) || res.Rows != 24000 || math.Float64bits(res.Metrics["wcss"]) != math.Float64bits(want.Metrics["wcss"]) {
				t.Fatalf("result workers=%d rows=%d wcss=%v (local %v)", res.Workers, res.Rows, res.Metrics["wcss"], want.Metrics["wcss"])
			}
			var placed int
			c.Leader().FSM().Read(func(s *coordinator.State) {
				for _, d := range s.Datasets {
					placed += len(d.Placement)
				}
			})
			if placed != 0 {
				t.Fatalf("dataset of a finished job still placed on %d partitions", placed)
			}
		})
	}
}

func TestTrueCentresFoundOnSeparatedBlobs(t *testing.T) {
	c := startCoordinators(t, 1, 10*time.Second)
	c.AddWorkers(2)
	res := c.Run(0, fmt.Sprintf(blobsSpec, 100, 1e-6), nil)
	blobs, err := partition.NewBlobs(partition.SyntheticSpec{Kind: "blobs", Rows: 24000, Dims: 6, Clusters: 5, Spread: 0.5, Seed: 11}, 2000)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range blobs.Centers() {
		best := math.Inf(1)
		for _, f := range res.Centroids {
			var d float64
			for j := range tc {
				d += (tc[j] - f.Values[j]) * (tc[j] - f.Values[j])
			}
			best = min(best, math.Sqrt(d))
		}
		// 4800 rows per blob put its mean about 0.5·sqrt(6/4800) ≈ 0.018 from the centre.
		if best > 0.2*0.5 {
			t.Errorf("true centre %d: nearest centroid %.4f away (spread 0.5)", i, best)
		}
	}
}

// Steps within CheckpointEvery of the last commit are not committed, but
// the job's record must still end with its last step: every step counted,
// the last iteration recorded.
func TestSpacedCheckpointsStillRecordTheLastStep(t *testing.T) {
	c := startCoordinators(t, 1, 10*time.Second)
	c.AddWorkers(1)
	var steps atomic.Int64
	var last atomic.Pointer[algorithms.Progress]
	count := func(p algorithms.Progress) {
		steps.Add(1)
		last.Store(&p)
	}
	c.OnStep(count)
	res := c.Run(0, fmt.Sprintf(blobsSpec, 30, 0.0), nil)
	j, ok := c.Leader().FSM().Job(res.Job.Id)
	if !ok {
		t.Fatal("job not in the FSM")
	}
	if p := last.Load(); p == nil || j.Steps != int(steps.Load()) || j.Progress.Iteration != p.Iteration || int32(p.Iteration) != res.Iterations {
		t.Fatalf("recorded %d steps at iteration %d; driver ran %d steps, last %+v; result after %d iterations",
			j.Steps, j.Progress.Iteration, steps.Load(), last.Load(), res.Iterations)
	}
}

func TestJoinedCoordinatorsRedirectWritesAndReplicateResults(t *testing.T) {
	c := startCoordinators(t, 3, 10*time.Second)
	c.AddWorkers(1)
	follower := -1
	for i, n := range c.Coords {
		if !n.IsLeader() {
			follower = i
		}
	}
	// Submitting to a follower must reach the leader through the NOT_LEADER hint.
	res := c.Run(follower, fmt.Sprintf(blobsSpec, 20, 1e-4), nil)
	c.Await("result replicated to every coordinator", func() bool {
		for _, n := range c.Coords {
			j, ok := n.FSM().Job(res.Job.Id)
			if !ok || j.Result == nil {
				return false
			}
		}
		return true
	})
	for _, n := range c.Coords {
		j, _ := n.FSM().Job(res.Job.Id)
		m, err := j.Result.Decode()
		if err != nil {
			t.Fatal(err)
		}
		sameBits(t, "replicated result", m.Describe().Centres, res.Centroids)
	}
}

func TestLostWorkerPartitionsMoveAndResultIsUnchanged(t *testing.T) {
	spec := fmt.Sprintf(blobsSpec, 40, 0.0)
	want := localResult(t, spec)
	c := startCoordinators(t, 1, 10*time.Second)
	c.AddWorkers(2)
	var killed atomic.Bool
	// Killed from the driver, between steps, because progress is committed
	// only every so often and a watcher may never see iteration 3.
	kill := func(p algorithms.Progress) {
		if p.Phase == "lloyd" && p.Iteration >= 3 && killed.CompareAndSwap(false, true) {
			c.Workers[1].Kill()
		}
	}
	c.OnStep(kill)
	res := c.Run(0, spec, nil)
	if !killed.Load() {
		t.Fatal("job finished before a worker could be killed")
	}
	sameBits(t, "after losing a worker", want.Centres, res.Centroids)
}

func TestWorkerDeadBeforeJobFailsClearly(t *testing.T) {
	c := startCoordinators(t, 1, 2*time.Second)
	c.AddWorkers(1)
	c.Workers[0].Kill()
	cl := c.Client(0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	job, err := cl.Submit(ctx, []byte(fmt.Sprintf(blobsSpec, 10, 1e-4)))
	if err != nil {
		t.Fatal(err)
	}
	final, err := cl.Wait(ctx, job.Id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if final.State != pb.JobState_JOB_STATE_FAILED || !strings.Contains(final.Error, "worker") {
		t.Fatalf("job ended %s with error %q; want failed naming the worker problem", final.State, final.Error)
	}
}

func TestNoWorkerEverJoinedFailsClearly(t *testing.T) {
	c := startCoordinators(t, 1, 500*time.Millisecond)
	res, err := func() (*pb.Job, error) {
		cl := c.Client(0)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		job, err := cl.Submit(ctx, []byte(fmt.Sprintf(blobsSpec, 10, 1e-4)))
		if err != nil {
			return nil, err
		}
		return cl.Wait(ctx, job.Id, nil)
	}()
	if err != nil {
		t.Fatal(err)
	}
	if res.State != pb.JobState_JOB_STATE_FAILED || !strings.Contains(res.Error, "cohort worker --coordinator") {
		t.Fatalf("job ended %s with error %q", res.State, res.Error)
	}
}

func TestBadSpecsAreRefusedWithTheProblemNamed(t *testing.T) {
	c := startCoordinators(t, 1, time.Second)
	cl := c.Client(0)
	cases := map[string]string{
		"unknown field": "data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: 2\n  colour: red\n",
		"k < 1":         "data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: 0\n",
		"k > rows":      "data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: 11\n",
		"dims < 1":      "data:\n  synthetic: {rows: 10, dims: 0, clusters: 2}\ncluster:\n  k: 2\n",
	}
	wants := map[string]string{"unknown field": "line 5", "k < 1": "cluster.k: must be at least 1", "k > rows": "exceeds", "dims < 1": "dims must be at least 1"}
	for name, spec := range cases {
		_, err := cl.Submit(context.Background(), []byte(spec))
		var ce *client.Error
		if err == nil || !strings.Contains(err.Error(), wants[name]) || !errors.As(err, &ce) || ce.Code.String() != "InvalidArgument" {
			t.Errorf("%s: error %v, want InvalidArgument mentioning %q", name, err, wants[name])
		}
	}
	jobs, _ := cl.Jobs(context.Background())
	if len(jobs) != 0 {
		t.Fatalf("refused specs created %d jobs", len(jobs))
	}
}
