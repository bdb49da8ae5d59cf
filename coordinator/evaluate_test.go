package coordinator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cohort/cohort/algorithms/evaluate"
)

const evaluateSpec = "name: e\ndata: {path: %s, id: ID}\nprepare: {columns: [Age, Income, Status]}\ncluster: {k: 3, max_iter: 40, tol: 0}\nevaluate: {distance: %s}\n"

// evaluatedOnOneAndThree runs spec on one worker and on three, fails
// unless both end with the same evaluation after the given stages, and
// returns the evaluation and the centroids.
func evaluatedOnOneAndThree(t *testing.T, spec, stages string) ([]byte, [][]float64) {
	t.Helper()
	var want []byte
	var centres [][]float64
	for _, workers := range []int{1, 3} {
		c := startCoordinators(t, 1, 10*time.Second)
		c.AddWorkers(workers)
		res := c.Run(0, spec, nil)
		if len(res.EvaluationJson) == 0 {
			t.Fatal("no evaluation in the result")
		}
		if want == nil {
			want = res.EvaluationJson
			for _, v := range res.Centroids {
				centres = append(centres, v.Values)
			}
		} else if !bytes.Equal(res.EvaluationJson, want) {
			t.Fatalf("3 workers evaluated\n%s\n1 worker\n%s", res.EvaluationJson, want)
		}
		var names []string
		for _, st := range res.Stages {
			names = append(names, st.Name)
		}
		if strings.Join(names, ",") != stages {
			t.Fatalf("stages %v, want %s", names, stages)
		}
	}
	return want, centres
}

// The evaluation stage scores the fitted model over the cluster's
// partitions with the same bits on one worker and on three, and a new
// leader that takes over after the clustering runs it to those bits too.
func TestEvaluationIsBitIdenticalAcrossWorkersAndLeaders(t *testing.T) {
	spec := fmt.Sprintf(evaluateSpec, customersCSV(t, 3000), "manhattan")
	want, _ := evaluatedOnOneAndThree(t, spec, "plan,prepare,cluster,evaluate,assign")
	var r evaluate.Report
	if err := json.Unmarshal(want, &r); err != nil || r.Rows != 3000 || r.Silhouette == nil || r.Distance != "manhattan" || len(r.PerSegment) != 3 {
		t.Fatalf("report %s (%v)", want, err)
	}

	c := startCoordinators(t, 3, 20*time.Second)
	c.AddWorkers(2)
	killed := killLeaderAfter(c, "cluster", nil)
	res := c.Run(follower(c), spec, nil)
	if killed.Load() == nil {
		t.Fatal("the failpoint never killed the leader")
	}
	if !bytes.Equal(res.EvaluationJson, want) {
		t.Fatalf("after a change of leader the evaluation is\n%s\nwant\n%s", res.EvaluationJson, want)
	}
}
