package coordinator_test

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/clustertest"
	"github.com/cohort/cohort/coordinator"
	"github.com/cohort/cohort/failpoint"
	"github.com/cohort/cohort/partition"
)

// customersCSV writes n customers in two far-apart groups.
func customersCSV(t *testing.T, n int) string { return clustertest.TwoGroupsCSV(t, n) }

// A new leader resumes a job over files from the preparation the old one
// fitted and committed: it does not read the files and fit them again,
// and the job ends with the centroids a run without the change has.
func TestNewLeaderReusesTheFittedPreparation(t *testing.T) {
	spec := fmt.Sprintf("name: p\ndata: {path: %s, id: ID}\nprepare: {columns: [Age, Income, Status]}\ncluster: {k: 2, max_iter: 40, tol: 0}\n", customersCSV(t, 3000))
	c := startCoordinators(t, 3, 20*time.Second)
	c.AddWorkers(1)
	var killed, refitted atomic.Bool
	watch := func(p algorithms.Progress) {
		if killed.Load() && strings.HasPrefix(p.Phase, "prepare") {
			refitted.Store(true)
		}
		if p.Phase == "lloyd" && p.Iteration >= 3 && killed.CompareAndSwap(false, true) {
			// From the leader's own driver: Close waits for the driver, so
			// it runs apart.
			go c.Leader().Close()
		}
	}
	c.OnStep(watch)
	survivor := follower(c)
	res := c.Run(survivor, spec, nil)
	if !killed.Load() || refitted.Load() {
		t.Fatalf("leader killed %v; preparation fitted again %v", killed.Load(), refitted.Load())
	}
	c.OnStep(nil)
	again := c.Run(survivor, spec, nil)
	var want [][]float64
	for _, v := range again.Centroids {
		want = append(want, v.Values)
	}
	sameBits(t, "after a change of leader", want, res.Centroids)
	if res.Rows != 3000 || len(res.PreparedJson) == 0 {
		t.Fatalf("%d rows, preparation %d bytes", res.Rows, len(res.PreparedJson))
	}
}

// A leader killed between two stages — the preparation committed, the
// clustering not begun — is succeeded by one that resumes at the next
// stage: it restores the plan and the preparation from the log instead
// of running them again, and the job ends with the bits of a run without
// the kill. The kill comes from the failpoint at the end of a stage.
func TestLeaderKilledBetweenStagesResumesAtTheLastCommittedStage(t *testing.T) {
	out := t.TempDir()
	spec := fmt.Sprintf("name: p\ndata: {path: %s, id: ID}\nprepare: {columns: [Age, Income, Status]}\ncluster: {k: 2, max_iter: 40, tol: 0}\noutput: {dir: %s, format: csv}\n",
		customersCSV(t, 3000), out)
	c := startCoordinators(t, 3, 20*time.Second)
	c.AddWorkers(1)
	killed := killLeaderAfter(c, "prepare", nil)
	var mu sync.Mutex
	var after []string // stages started by a leader other than the killed one
	c.Failpoints.Arm(failpoint.StageStart, func(ev failpoint.Event) error {
		if k := killed.Load(); k != nil && ev.Node != k.ID() {
			mu.Lock()
			after = append(after, ev.Stage)
			mu.Unlock()
		}
		return nil
	})
	survivor := follower(c)
	res := c.Run(survivor, spec, nil)
	if killed.Load() == nil {
		t.Fatal("the failpoint never killed the leader")
	}
	mu.Lock()
	got := strings.Join(after, ",")
	mu.Unlock()
	if got != "cluster,assign" {
		t.Fatalf("the new leader ran stages %q; want cluster,assign (plan and prepare restored)", got)
	}
	var stages []string
	for _, st := range res.Stages {
		stages = append(stages, st.Name)
	}
	if strings.Join(stages, ",") != "plan,prepare,cluster,assign" {
		t.Fatalf("stages recorded: %v", stages)
	}
	c.Failpoints.Disarm(failpoint.StageDone)
	c.Failpoints.Disarm(failpoint.StageStart)
	again := c.Run(survivor, strings.Replace(spec, out, t.TempDir(), 1), nil)
	var want [][]float64
	for _, v := range again.Centroids {
		want = append(want, v.Values)
	}
	sameBits(t, "after a leader killed between stages", want, res.Centroids)
	// The old leader left its raw tables for its successor, which
	// restored the preparation over them; the job's end drops them.
	c.AwaitReleased()
	if res.Rows != 3000 || len(res.ProfilesJson) == 0 {
		t.Fatalf("%d rows, profiles %d bytes", res.Rows, len(res.ProfilesJson))
	}
}

// killLeaderAfter arms the failpoint at the end of the named stage to
// kill the leader that ran it, once, after calling before (if set); the
// pointer holds the killed node once it has.
func killLeaderAfter(c *clustertest.Cluster, stage string, before func()) *atomic.Pointer[coordinator.Node] {
	var killed atomic.Pointer[coordinator.Node]
	c.Failpoints.Arm(failpoint.StageDone, func(ev failpoint.Event) error {
		if ev.Stage != stage || killed.Load() != nil {
			return nil
		}
		if before != nil {
			before()
		}
		leader := c.Leader()
		killed.Store(leader)
		go leader.Close() // Close waits for this driver: it runs apart
		for leader.IsLeader() {
			time.Sleep(5 * time.Millisecond)
		}
		return errors.New("failpoint: the leader was killed")
	})
	return &killed
}

// Workers with room for the raw rows or the features but not both: the
// features are made from the raw tables in memory, which are let go, and
// only the assignments read the file again. The result is a kept run's.
func TestRawRowsConsumedIntoFeaturesWhenBothDoNotFit(t *testing.T) {
	const rows = 3000
	path := customersCSV(t, rows)
	spec := func(out string) string {
		return fmt.Sprintf("name: c\ndata: {path: %s, id: ID}\nprepare: {columns: [Age, Income]}\ncluster: {k: 2, max_iter: 40, tol: 0}\noutput: {dir: %s, format: csv}\n", path, out)
	}
	roomy := clustertest.Start(t, clustertest.Options{Coordinators: 1, Workers: 2})
	keptOut := t.TempDir()
	kept := roomy.Run(0, spec(keptOut), nil)
	// Two features, padded to a row of partition.PadDims(2) float32 and an
	// id; the raw rows (Age, Income and the numeric ID, float64 each) are
	// smaller. Half the workers' memory is one byte more than the features.
	features := int64(rows * (4*partition.PadDims(2) + 8))
	tight := clustertest.Start(t, clustertest.Options{Coordinators: 1, Workers: 2, WorkerMemory: features + 1})
	out := t.TempDir()
	res := tight.Run(0, spec(out), nil)
	read, notes := map[string]int64{}, map[string]string{}
	for _, st := range res.Stages {
		read[st.Name], notes[st.Name] = st.BytesRead, st.Note
	}
	if !strings.Contains(notes["prepare"], "made into features in memory") {
		t.Fatalf("prepare stage's note %q", notes["prepare"])
	}
	if read["prepare"] == 0 || read["cluster"] != 0 || read["assign"] != read["prepare"] {
		t.Fatalf("bytes read by stage: %v", read)
	}
	var want [][]float64
	for _, v := range kept.Centroids {
		want = append(want, v.Values)
	}
	sameBits(t, "consumed against kept", want, res.Centroids)
	if a, b := assignments(t, keptOut), assignments(t, out); !maps.Equal(a, b) || len(a) != rows {
		t.Fatalf("assignments of %d customers differ from a kept run's of %d", len(b), len(a))
	}
	tight.AwaitReleased()
}

// A new leader that restores a preparation which consumes the raw tables
// makes the features from those its workers hold, and then lets the raw
// dataset go, as the leader that fitted it would have: a raw table whose
// partition is now placed on another worker (one joined meanwhile) must
// not stay in memory beside the features for the rest of the job, since
// consuming was chosen because both do not fit together.
func TestNewLeaderLetsGoOfRawTablesItConsumed(t *testing.T) {
	const rows = 60_000 // two pieces of the file: a joining worker takes one
	path := customersCSV(t, rows)
	spec := fmt.Sprintf("name: c\ndata: {path: %s, id: ID}\nprepare: {columns: [Age, Income]}\ncluster: {k: 2, max_iter: 10, tol: 0}\noutput: {dir: %s, format: csv}\n", path, t.TempDir())
	features := int64(rows * (4*partition.PadDims(2) + 8))
	c := clustertest.Start(t, clustertest.Options{Coordinators: 3, WorkerWait: 20 * time.Second, WorkerMemory: features + 1})
	c.AddWorkers(2)
	killed := killLeaderAfter(c, "prepare", func() {
		c.AddWorkers(1) // placed on by the next leader, not the raw tables
	})
	var mu sync.Mutex
	var kept []string // raw partitions still held when the assignments begin
	c.Failpoints.Arm(failpoint.StageStart, func(ev failpoint.Event) error {
		if k := killed.Load(); k == nil || ev.Node == k.ID() || ev.Stage != "assign" {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		for _, w := range c.Workers {
			for id := range 8 {
				if _, err := w.Store().Blocks(ev.Job+"/raw", []int{id}); err == nil {
					kept = append(kept, fmt.Sprintf("%s: partition %d", w.Name(), id))
				}
			}
		}
		return nil
	})
	survivor := follower(c)
	res := c.Run(survivor, spec, nil)
	if killed.Load() == nil {
		t.Fatal("the failpoint never killed the leader")
	}
	notes := map[string]string{}
	for _, st := range res.Stages {
		notes[st.Name] = st.Note
	}
	if !strings.Contains(notes["prepare"], "made into features in memory") {
		t.Fatalf("prepare stage's note %q", notes["prepare"])
	}
	mu.Lock()
	defer mu.Unlock()
	if len(kept) > 0 {
		t.Fatalf("raw tables still held beside the features during the assignments: %v", kept)
	}
	c.AwaitReleased()
}

// follower is the index of a coordinator that is not leading: one that
// outlives a failpoint that kills the leader.
func follower(c *clustertest.Cluster) int {
	i := 0
	for c.Coords[i].IsLeader() {
		i++
	}
	return i
}
