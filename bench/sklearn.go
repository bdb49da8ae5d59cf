package bench

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/cohort/cohort/partition"
)

// PeerSklearn is the one peer --compare accepts.
const PeerSklearn = "sklearn"

// sklearnScript travels inside the binary so `cohort bench` works from any
// directory without a checkout.
//
//go:embed sklearn_kmeans.py
var sklearnScript []byte

// python is Debian's interpreter, where apt's python3-sklearn lands; a
// python3 earlier on PATH (pyenv, a venv) usually lacks it. A variable so
// tests can point it elsewhere.
var python = "/usr/bin/python3"

const sklearnInstall = "install python3-sklearn python3-numpy (apt-get install -y python3-sklearn python3-numpy)"

// KMeansCompare is the peer's run on the same rows. Field names are the JSON
// contract.
type KMeansCompare struct {
	Peer               string  `json:"peer"`
	PeerVersion        string  `json:"peer_version"`
	PeerSecondsPerIter float64 `json:"peer_seconds_per_iter"` // whole fit / its iterations
	PeerIterations     int     `json:"peer_iterations"`       // may stop before --iters: sklearn ends when labels stop changing, even at tol 0
	PeerInertia        float64 `json:"peer_inertia"`
	PeerThreads        *int    `json:"peer_threads"` // OpenMP threads, null when threadpoolctl cannot tell
	// Ratio is peer_seconds_per_iter / seconds_per_iter: above 1, Cohort is faster.
	Ratio float64 `json:"ratio"`
}

// sklearnOutput is the script's one JSON line.
type sklearnOutput struct {
	FitSeconds     float64 `json:"fit_seconds"`
	NIter          int     `json:"n_iter"`
	SecondsPerIter float64 `json:"seconds_per_iter"`
	Inertia        float64 `json:"inertia"`
	Version        string  `json:"sklearn_version"`
	Threads        *int    `json:"threads"`
}

// checkSklearn fails fast, before a long Cohort run, when the peer cannot run.
func checkSklearn(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, python, "-c", "import numpy, sklearn.cluster")
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return peerError(err, stderr.Bytes())
	}
	return nil
}

// peerError names what went wrong in words a user can act on, with the end
// of Python's stderr, which holds the traceback's verdict.
func peerError(err error, stderr []byte) error {
	tail := lastLines(stderr, 5)
	var ee *exec.ExitError
	switch {
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, exec.ErrNotFound):
		return fmt.Errorf("--compare sklearn: %s not found; %s", python, sklearnInstall)
	case errors.As(err, &ee) && (ee.ExitCode() == 3 || strings.Contains(tail, "ModuleNotFoundError") || strings.Contains(tail, "ImportError")):
		return fmt.Errorf("--compare sklearn: %s cannot import sklearn; %s: %s", python, sklearnInstall, tail)
	case tail != "":
		return fmt.Errorf("--compare sklearn: %s failed (%v): %s", python, err, tail)
	default:
		return fmt.Errorf("--compare sklearn: %s failed: %w", python, err)
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// writeRowsNPY writes blocks, in partition order, as dir/data.npy.
func writeRowsNPY(dir string, blocks []*partition.Block, rows int64, dims int) (string, error) {
	path := filepath.Join(dir, "data.npy")
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("--compare sklearn: %w", err)
	}
	defer f.Close()
	w, err := newNPYWriter(f, rows, dims)
	if err != nil {
		return "", fmt.Errorf("--compare sklearn: %w", err)
	}
	for _, b := range blocks {
		if err := w.WriteBlock(b); err != nil {
			return "", fmt.Errorf("--compare sklearn: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("--compare sklearn: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("--compare sklearn: %w", err)
	}
	return path, nil
}

// runSklearn runs the embedded script on an .npy file in dir.
func runSklearn(ctx context.Context, dir, npy string, k, iters int, seed uint64) (*sklearnOutput, error) {
	script := filepath.Join(dir, "sklearn_kmeans.py")
	if err := os.WriteFile(script, sklearnScript, 0o644); err != nil {
		return nil, fmt.Errorf("--compare sklearn: %w", err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, python, script, "--npy", npy,
		"--k", fmt.Sprint(k), "--iters", fmt.Sprint(iters), "--seed", fmt.Sprint(seed))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A killed interpreter's children could hold the pipes open; do not
	// wait on them forever.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("--compare sklearn: %w", ctx.Err())
		}
		return nil, peerError(err, stderr.Bytes())
	}
	var out sklearnOutput
	line := lastLines(stdout.Bytes(), 1)
	if err := json.Unmarshal([]byte(line), &out); err != nil {
		return nil, fmt.Errorf("--compare sklearn: unreadable result %q: %v; stderr: %s", line, err, lastLines(stderr.Bytes(), 5))
	}
	if out.NIter < 1 || !(out.SecondsPerIter > 0) {
		return nil, fmt.Errorf("--compare sklearn: implausible result %s", line)
	}
	return &out, nil
}
