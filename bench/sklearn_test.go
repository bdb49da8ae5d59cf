package bench

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needSklearn skips rather than fails: CI machines need not carry the peer.
func needSklearn(t *testing.T) {
	t.Helper()
	if out, err := exec.Command(python, "-c", "import sklearn").CombinedOutput(); err != nil {
		t.Skipf("%s cannot import sklearn (%v: %s); apt-get install -y python3-sklearn python3-numpy to run this test",
			python, err, lastLines(out, 1))
	}
}

// fakePython points the peer's interpreter at a shell script for one test.
func fakePython(t *testing.T, body string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "python3")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	old := python
	python = path
	t.Cleanup(func() { python = old })
}

func TestKMeansComparesWithSklearnOnTheSameRows(t *testing.T) {
	needSklearn(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	r, err := KMeans(context.Background(), KMeansConfig{Rows: 20000, Dims: 4, K: 4, Iters: 5, Workers: 1, Seed: 3, PartitionRows: 3000, Compare: PeerSklearn})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Compare
	if c == nil {
		t.Fatal("no compare object")
	}
	if c.Peer != "sklearn" || c.PeerVersion == "" || c.PeerIterations < 1 || c.PeerIterations > 5 || !(c.PeerSecondsPerIter > 0) {
		t.Fatalf("compare %+v", c)
	}
	if math.Abs(c.Ratio-c.PeerSecondsPerIter/r.SecondsPerIter) > 1e-12*c.Ratio {
		t.Fatalf("ratio %v, want %v / %v", c.Ratio, c.PeerSecondsPerIter, r.SecondsPerIter)
	}
	// The peer clustered 20,000 rows of 4 unit-variance dims: its inertia is
	// at least the noise (about rows × dims) however it was initialised.
	if c.PeerInertia < 0.9*20000*4 {
		t.Fatalf("peer inertia %v is too small for the data", c.PeerInertia)
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "cohort-bench-sklearn-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "scikit-learn lloyd") || !strings.Contains(text.String(), "memory read of") {
		t.Fatalf("text output:\n%s", text.String())
	}
}

func TestKMeansMeasuresAMemoryRead(t *testing.T) {
	r, err := KMeans(context.Background(), KMeansConfig{Rows: 20000, Dims: 4, K: 4, Iters: 3, Workers: 2, Seed: 3, PartitionRows: 3000})
	if err != nil {
		t.Fatal(err)
	}
	if r.MemoryReadBytes != 20000*8*4 || !(r.MemoryReadSeconds > 0) || !(r.MemoryReadGBps > 0) ||
		r.IterToReadRatio != r.SecondsPerIter/r.MemoryReadSeconds || r.Compare != nil {
		t.Fatalf("report %+v", r)
	}
}

func TestCompareRefusesUnknownPeers(t *testing.T) {
	for _, peer := range []string{"numpy", "Sklearn", "sklearn "} {
		_, err := KMeans(context.Background(), KMeansConfig{Rows: 10, Dims: 1, K: 1, Iters: 1, Workers: 1, Compare: peer})
		if err == nil || !strings.Contains(err.Error(), "unknown peer") {
			t.Errorf("--compare %q: %v", peer, err)
		}
	}
}

func TestPeerFailuresAreNamed(t *testing.T) {
	old := python
	python = filepath.Join(t.TempDir(), "no-python3")
	err := checkSklearn(context.Background())
	python = old
	if err == nil || !strings.Contains(err.Error(), "not found") || !strings.Contains(err.Error(), "python3-sklearn") {
		t.Fatalf("missing interpreter: %v", err)
	}

	fakePython(t, `echo "Traceback (most recent call last):" >&2; echo "ModuleNotFoundError: No module named 'sklearn'" >&2; exit 1`)
	err = checkSklearn(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot import sklearn; install python3-sklearn") || !strings.Contains(err.Error(), "No module named 'sklearn'") {
		t.Fatalf("missing sklearn: %v", err)
	}
	// The bench refuses before spending a whole Cohort run.
	began := time.Now()
	_, err = KMeans(context.Background(), KMeansConfig{Rows: 1_000_000, Dims: 16, K: 16, Iters: 20, Workers: 1, Compare: PeerSklearn})
	if err == nil || !strings.Contains(err.Error(), "cannot import sklearn") || time.Since(began) > 5*time.Second {
		t.Fatalf("bench with no sklearn: %v after %s", err, time.Since(began))
	}
}

func TestPeerThatHangsIsStoppedByTheContext(t *testing.T) {
	fakePython(t, "exec sleep 30")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := runSklearn(ctx, t.TempDir(), "x.npy", 2, 1, 1)
	if err == nil || time.Since(began) > 10*time.Second {
		t.Fatalf("hung peer: %v after %s", err, time.Since(began))
	}
}

func TestSklearnScriptNamesABadFile(t *testing.T) {
	needSklearn(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.npy")
	if err := os.WriteFile(bad, []byte("not an npy file"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := runSklearn(context.Background(), dir, bad, 2, 1, 1)
	if err == nil || !strings.Contains(err.Error(), "cannot load") {
		t.Fatalf("bad file: %v", err)
	}
}
