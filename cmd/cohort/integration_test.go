package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cohort/cohort/client"
	"github.com/cohort/cohort/clustertest"
)

// The tests in this file build the real binary and run it as separate
// processes: a coordinator and two workers on loopback, driven by the CLI.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cohort-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "cohort")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build cohort:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) string { return clustertest.FreeAddr(t) }

// start runs a long-lived cohort process, stopped (SIGTERM, then kill) at cleanup.
func start(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	return startIn(t, "", name, args...)
}

// startIn is start in working directory dir ("" for the test's).
func startIn(t *testing.T, dir, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s log:\n%s", name, b)
		}
	})
	return cmd
}

// awaitCluster waits until the coordinator at api has leader leader (any,
// if "") and workers workers.
func awaitCluster(t *testing.T, api, leader string, workers int) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := client.Dial(ctx, api)
		if err == nil {
			st, err := c.Status(ctx)
			c.Close()
			if err == nil && len(st.Workers) == workers && (leader == "" || st.LeaderId == leader) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster did not come up with %d workers", workers)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cli runs one cohort command to completion.
func cli(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return cliIn(t, "", args...)
}

// cliIn is cli in working directory dir.
func cliIn(t *testing.T, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func writeSpec(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "job.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const jobYAML = `name: it
seed: 5
data:
  synthetic: {kind: blobs, rows: 30000, dims: 4, clusters: 4, spread: 0.5, seed: 9}
  partition_rows: 4000
cluster:
  k: 4
  max_iter: 60
output:
  dir: %s
`

func TestCoordinatorAndTwoWorkerProcesses(t *testing.T) {
	api := freePort(t)
	start(t, "coordinator", "coordinator", "--id", "c1", "--data-dir", t.TempDir(),
		"--grpc-addr", api, "--raft-addr", freePort(t), "--gossip-addr", freePort(t))
	for i := range 2 {
		start(t, fmt.Sprintf("worker%d", i+1), "worker", "--coordinator", api, "--name", fmt.Sprintf("w%d", i+1), "--cores", "1")
	}
	awaitCluster(t, api, "c1", 2)

	out := t.TempDir()
	stdout, stderr, err := cli(t, "submit", writeSpec(t, fmt.Sprintf(jobYAML, out)), "--coordinator", api, "--wait", "--json")
	if err != nil {
		t.Fatalf("submit --wait: %v\n%s", err, stderr)
	}
	var got client.Summary
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, stdout)
	}
	var total int64
	for _, s := range got.Sizes {
		total += s
	}
	if got.Algorithm != "kmeans" || got.K != 4 || got.Rows != 30000 || len(got.Centroids) != 4 || total != 30000 || got.Workers != 2 || !got.Converged {
		t.Fatalf("unexpected summary %+v", got)
	}
	if _, err := os.Stat(filepath.Join(out, "summary.json")); err != nil {
		t.Fatalf("output dir: %v", err)
	}

	// The embedded mode must reach the very same centroids: partitions, not
	// workers or processes, fix the arithmetic.
	stdout, stderr, err = cli(t, "run", writeSpec(t, fmt.Sprintf(jobYAML, t.TempDir())), "--workers", "3", "--json")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	var local client.Summary
	if err := json.Unmarshal([]byte(stdout), &local); err != nil {
		t.Fatal(err)
	}
	for i := range got.Centroids {
		for j := range got.Centroids[i] {
			if math.Float64bits(got.Centroids[i][j]) != math.Float64bits(local.Centroids[i][j]) {
				t.Fatalf("centroid %d differs between 2 worker processes and 3 embedded workers", i)
			}
		}
	}

	stdout, _, err = cli(t, "jobs", "--coordinator", api)
	if err != nil || !strings.Contains(stdout, got.Job) || !strings.Contains(stdout, "succeeded") {
		t.Fatalf("jobs: %v\n%s", err, stdout)
	}
	stdout, _, err = cli(t, "result", got.Job, "--coordinator", api)
	if err != nil || !strings.Contains(stdout, "segment") {
		t.Fatalf("result: %v\n%s", err, stdout)
	}
	stdout, _, err = cli(t, "status", "--coordinator", api)
	if err != nil || !strings.Contains(stdout, "w1") || !strings.Contains(stdout, "w2") {
		t.Fatalf("status: %v\n%s", err, stdout)
	}
	_, stderr, err = cli(t, "result", "job-404", "--coordinator", api)
	if err == nil || !strings.Contains(stderr, "not found") {
		t.Fatalf("result of unknown job: %v\n%s", err, stderr)
	}
}

func TestGenWritesAFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tx.parquet")
	stdout, stderr, err := cli(t, "gen", "transactions", "--rows", "5000", "--out", out, "--json")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	var rep struct {
		Rows  int64 `json:"rows"`
		Bytes int64 `json:"bytes"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || rep.Rows != 5000 {
		t.Fatalf("report %q: %v", stdout, err)
	}
	if st, err := os.Stat(out); err != nil || st.Size() != rep.Bytes {
		t.Fatalf("file: %v, %d bytes reported", err, rep.Bytes)
	}
}

// `cohort algorithms` lists the registry: each algorithm with its
// parameters and their defaults.
func TestAlgorithmsListsTheRegistry(t *testing.T) {
	stdout, stderr, err := cli(t, "algorithms", "--json")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	var list []struct {
		Name   string `json:"name"`
		Params []struct {
			Name, Default string
		} `json:"params"`
	}
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	defaults := map[string]string{}
	for _, a := range list {
		if a.Name == "kmeans" {
			for _, p := range a.Params {
				defaults[p.Name] = p.Default
			}
		}
	}
	if d, ok := defaults["max_iter"]; !ok || d != "100" || defaults["k"] != "" || len(defaults) < 4 {
		t.Fatalf("kmeans parameters %v in %s", defaults, stdout)
	}
	text, _, err := cli(t, "algorithms")
	if err != nil || !strings.Contains(text, "kmeans (the default)") || !strings.Contains(text, "max_iter") {
		t.Fatalf("%v:\n%s", err, text)
	}
}

func TestBadInputExitsNonZeroWithTheProblemNamed(t *testing.T) {
	dead := freePort(t) // nothing listens here
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unreachable coordinator", []string{"jobs", "--coordinator", dead}, "cannot reach coordinator at " + dead},
		{"unknown spec field", []string{"run", writeSpec(t, "data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: 2\n  kk: 3\n")}, "line 5: cluster.kk is not a parameter of this algorithm (it takes: k, max_iter"},
		{"unknown algorithm", []string{"run", writeSpec(t, "data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  algorithm: kmedoids\n  k: 2\n")}, `line 4: cluster.algorithm: unknown algorithm "kmedoids" (registered: kmeans)`},
		{"k < 1", []string{"run", writeSpec(t, "data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: 0\n")}, "cluster.k: must be at least 1"},
		{"k > rows", []string{"run", writeSpec(t, "data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: 50\n")}, "exceeds"},
		{"dims < 1", []string{"run", writeSpec(t, "data:\n  synthetic: {rows: 10, dims: 0, clusters: 2}\ncluster:\n  k: 2\n")}, "dims must be at least 1"},
		{"missing spec file", []string{"run", filepath.Join(t.TempDir(), "nope.yaml")}, "no such file"},
		{"worker with no coordinator", []string{"worker", "--coordinator", dead, "--join-timeout", "2s"}, "cannot reach coordinator"},
		{"bench k > rows", []string{"bench", "kmeans", "--rows", "10", "--k", "11"}, "--k (11) exceeds --rows (10)"},
		{"bench unknown peer", []string{"bench", "kmeans", "--rows", "10", "--k", "2", "--compare", "numpy"}, `--compare "numpy": unknown peer; the only one is "sklearn"`},
		{"gen unknown kind", []string{"gen", "people", "--rows", "5", "--out", filepath.Join(t.TempDir(), "p.csv")}, `unknown kind "people"`},
		{"gen no out", []string{"gen", "customers", "--rows", "5"}, "--out is required"},
		{"gen bad extension", []string{"gen", "customers", "--rows", "5", "--out", filepath.Join(t.TempDir(), "p.xlsx")}, "must end in .parquet, .csv or .csv.gz"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			began := time.Now()
			_, stderr, err := cli(t, c.args...)
			if err == nil {
				t.Fatal("exit status 0")
			}
			if !strings.Contains(stderr, c.want) {
				t.Fatalf("stderr %q does not mention %q", stderr, c.want)
			}
			if strings.Contains(stderr, "panic") {
				t.Fatalf("panicked:\n%s", stderr)
			}
			if d := time.Since(began); d > 20*time.Second {
				t.Fatalf("took %s to fail", d)
			}
		})
	}
}
