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

// The evaluation stage scores the fitted model over the cluster's
// partitions with the same bits on one worker and on three, and a new
// leader that takes over after the clustering runs it to those bits too.
func TestEvaluationIsBitIdenticalAcrossWorkersAndLeaders(t *testing.T) {
	spec := fmt.Sprintf(evaluateSpec, customersCSV(t, 3000), "manhattan")
	var want []byte
	for _, workers := range []int{1, 3} {
		c := startCoordinators(t, 1, 10*time.Second)
		c.AddWorkers(workers)
		res := c.Run(0, spec, nil)
		if len(res.EvaluationJson) == 0 {
			t.Fatal("no evaluation in the result")
		}
		if want == nil {
			want = res.EvaluationJson
		} else if !bytes.Equal(res.EvaluationJson, want) {
			t.Fatalf("3 workers evaluated\n%s\n1 worker\n%s", res.EvaluationJson, want)
		}
		var stages []string
		for _, st := range res.Stages {
			stages = append(stages, st.Name)
		}
		if strings.Join(stages, ",") != "plan,prepare,cluster,evaluate,assign" {
			t.Fatalf("stages %v", stages)
		}
	}
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
