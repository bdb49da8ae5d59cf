package coordinator_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohort/cohort/algorithms"
)

// customersCSV writes n customers in two far-apart groups.
func customersCSV(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("ID,Age,Income,Status\n")
	for i := range n {
		age, income, status := 25+i%10, 20000+10*i, "Single"
		if i%2 == 1 {
			age, income, status = 60+i%10, 90000+10*i, "Married"
		}
		fmt.Fprintf(&b, "%d,%d,%d,%s\n", i, age, income, status)
	}
	p := filepath.Join(t.TempDir(), "customers.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

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
	survivor := 0
	for c.Coords[survivor].IsLeader() {
		survivor++
	}
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
