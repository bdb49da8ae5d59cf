package coordinator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/choose"
)

// A held-out share and refits on resamples run as cluster steps like any
// other: the fit sees only the rows not held out, the evaluation scores
// both sides and the refits, all with the same bits on one worker and on
// three, and a leader killed while the fit over the subset runs is
// succeeded by one that resumes it to those bits too.
func TestHoldoutAndStabilityAreBitIdenticalAcrossWorkersAndLeaders(t *testing.T) {
	spec := fmt.Sprintf("name: h\ndata: {path: %s, id: ID}\nprepare: {columns: [Age, Income, Status]}\ncluster: {k: 3, max_iter: 40, tol: 0}\nevaluate: {stability: {resamples: 3, fraction: 0.7}, holdout: 0.25}\n", customersCSV(t, 3000))
	want, centres := evaluatedOnOneAndThree(t, spec, "plan,prepare,cluster,evaluate,assign")
	var r choose.Report
	if err := json.Unmarshal(want, &r); err != nil {
		t.Fatal(err)
	}
	h, st := r.Holdout, r.Stability
	if h == nil || st == nil {
		t.Fatalf("no holdout or stability in %s", want)
	}
	if h.Fitted.Rows+h.HeldOut.Rows != 3000 || h.HeldOut.Rows < 600 || h.HeldOut.Rows > 900 || r.Rows != h.Fitted.Rows {
		t.Fatalf("fitted %d and held out %d rows of 3000; the evaluation is of %d", h.Fitted.Rows, h.HeldOut.Rows, r.Rows)
	}
	if h.HeldOut.Silhouette == nil || len(h.HeldOut.Shares) != 3 || st.Resamples != 3 || st.PredictionStrength.Of != 3 || len(st.Segments) != 3 {
		t.Fatalf("holdout %+v, stability %+v", h, st)
	}

	c := startCoordinators(t, 3, 20*time.Second)
	c.AddWorkers(2)
	var killed atomic.Bool
	c.OnStep(func(p algorithms.Progress) {
		if p.Phase == "lloyd" && p.Iteration >= 2 && killed.CompareAndSwap(false, true) {
			go c.Leader().Close() // Close waits for this driver: it runs apart
		}
	})
	res := c.Run(follower(c), spec, nil)
	if !killed.Load() {
		t.Fatal("the leader was never killed")
	}
	if !bytes.Equal(res.EvaluationJson, want) {
		t.Fatalf("after a change of leader the evaluation is\n%s\nwant\n%s", res.EvaluationJson, want)
	}
	sameBits(t, "after a change of leader", centres, res.Centroids)
}

// Choosing k by stability with rows held out: the candidates are fitted
// and refitted on the rows not held out, and the chosen one is scored on
// the held-out rows after.
func TestChoosingKByStabilityWithAHoldout(t *testing.T) {
	spec := fmt.Sprintf("name: hk\ndata: {path: %s, id: ID}\nprepare: {columns: [Age, Income, Status]}\ncluster: {k: [2, 3, 4], choose: stability, max_iter: 40, tol: 0}\nevaluate: {stability: {resamples: 2}, holdout: 0.2}\n", customersCSV(t, 3000))
	want, _ := evaluatedOnOneAndThree(t, spec, "plan,prepare,cluster,evaluate,assign")
	var r choose.Report
	if err := json.Unmarshal(want, &r); err != nil {
		t.Fatal(err)
	}
	if r.Rule != choose.Stability || r.ChosenK == 0 || r.Holdout == nil || r.Stability == nil || r.Holdout.Fitted.Rows != r.Rows {
		t.Fatalf("report %s", want)
	}
	for _, c := range r.Candidates {
		if c.Stability == nil || c.Stability.PredictionStrength == nil {
			t.Fatalf("k=%d has no stability", c.K)
		}
	}
}
