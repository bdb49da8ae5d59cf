package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cohort/cohort/client"
)

// A client whose data file the nodes cannot see: every process runs in a
// directory of its own and data.path is relative to the client's, so the
// job fails without --upload, and with it the file goes to the
// coordinator, the workers fetch it from there, and the transaction log is
// segmented as if it were on a shared disk.
func TestSubmitUploadsAFileTheNodesCannotSee(t *testing.T) {
	api := freePort(t)
	startIn(t, t.TempDir(), "coordinator", "coordinator", "--id", "c1", "--data-dir", t.TempDir(),
		"--grpc-addr", api, "--raft-addr", freePort(t), "--gossip-addr", freePort(t))
	for i := range 2 {
		startIn(t, t.TempDir(), fmt.Sprintf("worker%d", i+1), "worker", "--coordinator", api, "--name", fmt.Sprintf("w%d", i+1), "--cores", "1")
	}
	awaitCluster(t, api, "", 2)

	home := t.TempDir()
	log, err := os.ReadFile("../../algorithms/features/testdata/online_retail_excerpt.csv")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "retail.csv"), log, 0o644); err != nil {
		t.Fatal(err)
	}
	spec := fmt.Sprintf("name: uploaded\ndata:\n  path: retail.csv\n  csv: {types: {InvoiceNo: text}}\n%scluster: {k: 3}\n", retailTx)
	if err := os.WriteFile(filepath.Join(home, "job.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}

	_, stderr, err := cliIn(t, home, "submit", "job.yaml", "--coordinator", api, "--wait")
	if err == nil || !strings.Contains(stderr, "retail.csv: no such file") {
		t.Fatalf("without --upload the nodes should not find the file: %v\n%s", err, stderr)
	}
	stdout, stderr, err := cliIn(t, home, "submit", "job.yaml", "--coordinator", api, "--upload", "--wait", "--json")
	if err != nil {
		t.Fatalf("submit --upload: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "as upload://") {
		t.Errorf("stderr does not say where the file went: %s", stderr)
	}
	var s client.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("summary %q: %v", stdout, err)
	}
	if tx := s.Transactions; tx == nil || tx.Lines != 3877 || tx.Customers != 60 || tx.NoCustomer != 226 || s.Rows != 60 || s.Workers != 2 {
		t.Fatalf("transactions %+v, %d rows on %d workers", s.Transactions, s.Rows, s.Workers)
	}
}
