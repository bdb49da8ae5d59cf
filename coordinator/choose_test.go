package coordinator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/choose"
)

const chooseSpec = "name: k\ndata: {path: %s, id: ID}\nprepare: {columns: [Age, Income, Status]}\ncluster: {k: [2, 3, 4], max_iter: 40, tol: 0}\n"

// Choosing k fits and scores every candidate in the cluster stage, with
// the same bits on one worker and on three, and a leader killed while a
// later candidate is being fitted is succeeded by one that resumes from
// the committed checkpoint to those bits too.
func TestChoosingKIsBitIdenticalAcrossWorkersAndLeaders(t *testing.T) {
	spec := fmt.Sprintf(chooseSpec, customersCSV(t, 3000))
	want, centres := evaluatedOnOneAndThree(t, spec, "plan,prepare,cluster,assign")
	var r choose.Report
	if err := json.Unmarshal(want, &r); err != nil || len(r.Candidates) != 3 || r.Rule != choose.Silhouette || r.Silhouette == nil {
		t.Fatalf("report %s (%v)", want, err)
	}
	// Two far-apart groups.
	if r.ChosenK != 2 || len(centres) != 2 {
		t.Fatalf("chose k=%d with %d centroids, want 2", r.ChosenK, len(centres))
	}

	c := startCoordinators(t, 3, 20*time.Second)
	c.AddWorkers(2)
	var scored, killed atomic.Bool
	c.OnStep(func(p algorithms.Progress) {
		if strings.HasPrefix(p.Phase, "evaluate") {
			scored.Store(true)
		}
		if scored.Load() && p.Phase == "lloyd" && p.Iteration >= 2 && killed.CompareAndSwap(false, true) {
			go c.Leader().Close() // Close waits for this driver: it runs apart
		}
	})
	res := c.Run(follower(c), spec, nil)
	if !killed.Load() {
		t.Fatal("the leader was never killed")
	}
	if !bytes.Equal(res.EvaluationJson, want) {
		t.Fatalf("after a change of leader the choice is\n%s\nwant\n%s", res.EvaluationJson, want)
	}
	sameBits(t, "after a change of leader", centres, res.Centroids)
}
