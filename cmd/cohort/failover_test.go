package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/cohort/cohort/client"
	"github.com/cohort/cohort/clustertest"
)

// Three coordinator processes and a worker; a failpoint makes whichever
// coordinator leads exit, like a crash, the moment the job's preparation
// is committed. Another takes over, restores the plan and the preparation
// from the Raft log instead of running them again, and the job ends with
// the centroids of the embedded mode's run of the same spec.
func TestLeaderProcessCrashingBetweenStages(t *testing.T) {
	data := clustertest.TwoGroupsCSV(t, 4000)
	spec := func(out string) string {
		return writeSpec(t, fmt.Sprintf("name: crash\ndata: {path: %s, id: ID}\ncluster: {k: 2, max_iter: 30, tol: 0}\noutput: {dir: %s, format: csv}\n", data, out))
	}
	p := clustertest.StartProcs(t, binary, clustertest.ProcOptions{Coordinators: 3, Workers: 1, Failpoints: "stage/done@prepare:exit"})
	stdout, stderr, err := cli(t, "submit", spec(t.TempDir()), "--coordinator", p.Coords[0].API, "--wait", "--json")
	if err != nil {
		t.Fatalf("submit --wait: %v\n%s", err, stderr)
	}
	var got client.Summary
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, stdout)
	}
	var crashed, restored int
	for _, c := range p.Coords {
		if c.Exited() && c.ExitCode() == 3 {
			crashed++
		} else if log := c.Log(); strings.Contains(log, "stage plan restored from the log") && strings.Contains(log, "stage prepare restored from the log") {
			restored++
		}
	}
	if crashed != 1 || restored != 1 {
		t.Fatalf("%d coordinators crashed at the failpoint and %d restored the committed stages; want 1 and 1", crashed, restored)
	}
	stdout, stderr, err = cli(t, "run", spec(t.TempDir()), "--json")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	var want client.Summary
	if err := json.Unmarshal([]byte(stdout), &want); err != nil {
		t.Fatal(err)
	}
	if len(got.Centroids) != 2 || len(want.Centroids) != 2 || got.Rows != 4000 {
		t.Fatalf("%d rows, centroids %v and %v", got.Rows, got.Centroids, want.Centroids)
	}
	for i := range want.Centroids {
		for j := range want.Centroids[i] {
			if math.Float64bits(got.Centroids[i][j]) != math.Float64bits(want.Centroids[i][j]) {
				t.Fatalf("centroid %d after the crash %v, embedded %v", i, got.Centroids[i], want.Centroids[i])
			}
		}
	}
}
