package bench

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/client"
	"github.com/cohort/cohort/localcluster"
	"github.com/cohort/cohort/partition"
	pb "github.com/cohort/cohort/proto"
)

//go:embed sklearn_silhouette_score.py
var silhouetteScript []byte

// DefaultPeerMaxRows is where `cohort bench silhouette` stops running
// scikit-learn: its silhouette_score is quadratic in time (22 s at 50k
// rows, hours at a million), and past about 100k rows users report it
// failing (scikit-learn #4701, #7175, #10279).
const DefaultPeerMaxRows = 100_000

// SilhouetteConfig is one `cohort bench silhouette` run.
type SilhouetteConfig struct {
	Rows   int64
	Dims   int
	K      int // clusters in the data and k of the job
	Seed   uint64
	Spread float64
	// Sample is evaluate.silhouette.sample: "" for the default (exact up
	// to 50k rows, 20k sampled beyond), "all", or a number of rows.
	Sample   string
	Distance string // euclidean or manhattan
	Workers  int
	Repeat   int // runs of each side; medians are reported
	// PartitionRows is rows per partition; 0 is the job's default.
	PartitionRows int
	// Choose, "MIN..MAX", fits every k in the range on one load and
	// picks one by silhouette, in place of a fit of K; the peer has no
	// such thing and does not run.
	Choose string
	// NoPeer skips scikit-learn; PeerMaxRows (default
	// DefaultPeerMaxRows) skips it above that many rows.
	NoPeer      bool
	PeerMaxRows int64
	// CPUProfile, if set, is a file for a CPU profile of the first run,
	// from the job's submission to its end.
	CPUProfile string
	// Log receives the nodes' log lines, Progress a line as each run
	// ends. Either may be nil.
	Log, Progress io.Writer

	chooseMin, chooseMax int
}

// SilhouetteReport is what the run measured. Field names are the JSON
// contract.
type SilhouetteReport struct {
	Rows      int64  `json:"rows"`
	Dims      int    `json:"dims"`
	K         int    `json:"k"`
	Seed      uint64 `json:"seed"`
	Distance  string `json:"distance"`
	Sample    string `json:"sample"` // as the spec said it, "default" when it did not
	Workers   int    `json:"workers"`
	Cores     int    `json:"cores"`
	Repeat    int    `json:"repeat"`
	GoVersion string `json:"go_version"`
	// Method is exact (every row's silhouette) or sampled (a stratified
	// sample measured against every row, with a 95% interval).
	Method         string      `json:"method"`
	SilhouetteRows int64       `json:"silhouette_rows"`
	Silhouette     *float64    `json:"silhouette"` // null when undefined (one segment)
	SilhouetteCI   *[2]float64 `json:"silhouette_ci,omitempty"`
	// Seconds is the median wall time of the evaluate stage (silhouette,
	// Calinski-Harabasz, Davies-Bouldin, per-segment scores); with Choose,
	// of every candidate's evaluation.
	Seconds float64   `json:"seconds"`
	Runs    []float64 `json:"runs"`
	// DistanceSeconds is the median of the silhouette's distance sums
	// alone (the `evaluate distances` phase).
	DistanceSeconds float64 `json:"distance_seconds"`
	JobSeconds      float64 `json:"job_seconds"` // median, submission to result
	// PeakResidentBytes is the process's peak resident set during a run
	// (VmHWM, reset before each), the largest over the runs: data,
	// fit and evaluation together.
	PeakResidentBytes int64 `json:"peak_resident_bytes"`
	DataBytes         int64 `json:"data_bytes"` // the partition blocks alone
	// Partitions is the dataset's; BlocksBuilt how many blocks the
	// workers built from the source in a run: equal, the data was loaded
	// once.
	Partitions  int   `json:"partitions"`
	BlocksBuilt int64 `json:"blocks_built"`
	// Choose is present only with --choose.
	Choose *ChooseFigures `json:"choose,omitempty"`

	Peer        *SilhouettePeer `json:"peer,omitempty"`
	PeerSkipped string          `json:"peer_skipped,omitempty"`
	// Ratio is peer.seconds / seconds: above 1, Cohort is faster.
	Ratio *float64 `json:"ratio,omitempty"`
	// RelativeDifference is |cohort − peer| / |peer| of the silhouettes;
	// an exact run fails beyond 1e-9.
	RelativeDifference *float64 `json:"relative_difference,omitempty"`
}

// ChooseFigures are a --choose run's: what the k search cost.
type ChooseFigures struct {
	Range           string  `json:"range"`
	Candidates      int     `json:"candidates"`
	ChosenK         int     `json:"chosen_k"`
	Rule            string  `json:"rule"`
	LoadSeconds     float64 `json:"load_seconds"`     // median: building the blocks, once
	FitSeconds      float64 `json:"fit_seconds"`      // median: every candidate's fit
	EvaluateSeconds float64 `json:"evaluate_seconds"` // median: every candidate's evaluation
	ClusterSeconds  float64 `json:"cluster_seconds"`  // median: the whole stage
}

// SilhouettePeer is scikit-learn's silhouette_score on the same rows and
// labels.
type SilhouettePeer struct {
	Peer       string    `json:"peer"`
	Version    string    `json:"peer_version"`
	Seconds    float64   `json:"seconds"` // median, silhouette_score alone
	Runs       []float64 `json:"runs"`
	Silhouette float64   `json:"silhouette"`
	// PeakResidentBytes is the interpreter's peak (ru_maxrss), the
	// largest over the runs.
	PeakResidentBytes int64 `json:"peak_resident_bytes"`
}

func (c *SilhouetteConfig) validate() error {
	if err := validShape(c.Rows, c.Dims, c.K); err != nil {
		return err
	}
	switch {
	case c.Repeat < 1:
		return fmt.Errorf("--repeat must be at least 1 (got %d)", c.Repeat)
	case c.Workers < 1:
		return fmt.Errorf("--workers must be at least 1 (got %d)", c.Workers)
	case c.Distance != "euclidean" && c.Distance != "manhattan":
		return fmt.Errorf("--distance %q: want euclidean or manhattan", c.Distance)
	case c.PartitionRows < 0:
		return fmt.Errorf("--partition-rows must not be negative (got %d)", c.PartitionRows)
	case c.PeerMaxRows < 0:
		return fmt.Errorf("--peer-max-rows must not be negative (got %d)", c.PeerMaxRows)
	}
	if c.Sample != "" && c.Sample != "all" {
		if n, err := strconv.ParseInt(c.Sample, 10, 64); err != nil || n < 1 {
			return fmt.Errorf("--sample %q: want all or a number of rows ≥ 1", c.Sample)
		}
	}
	if c.Choose != "" {
		lo, hi, ok := strings.Cut(c.Choose, "..")
		a, errA := strconv.Atoi(lo)
		b, errB := strconv.Atoi(hi)
		switch {
		case !ok || errA != nil || errB != nil:
			return fmt.Errorf("--choose %q: want MIN..MAX, as 2..20", c.Choose)
		case a < 2 || a > b:
			return fmt.Errorf("--choose %q: want 2 ≤ MIN ≤ MAX", c.Choose)
		case int64(b) > c.Rows:
			return fmt.Errorf("--choose %q: k up to %d exceeds --rows (%d)", c.Choose, b, c.Rows)
		}
		c.chooseMin, c.chooseMax = a, b
	}
	if c.Spread == 0 {
		c.Spread = 1
	}
	if c.PeerMaxRows == 0 {
		c.PeerMaxRows = DefaultPeerMaxRows
	}
	return nil
}

func (c *SilhouetteConfig) spec() partition.SyntheticSpec {
	return partition.SyntheticSpec{Kind: "blobs", Rows: c.Rows, Dims: c.Dims, Clusters: c.K, Spread: c.Spread, Seed: c.Seed}
}

// jobYAML is the job a user would write to score a fit of the blobs. The
// partition size is spelled out so the peer's copy, generated again after
// the job, is the same rows.
func (c *SilhouetteConfig) jobYAML(partitionRows int) string {
	k := strconv.Itoa(c.K)
	choose := ""
	if c.Choose != "" {
		k = fmt.Sprintf("{min: %d, max: %d}", c.chooseMin, c.chooseMax)
		choose = "\n  choose: silhouette"
	}
	sil := ""
	if c.Sample != "" {
		sil = fmt.Sprintf(", silhouette: {sample: %s}", c.Sample)
	}
	return fmt.Sprintf(`name: bench-silhouette
seed: %d
data:
  synthetic: {kind: blobs, rows: %d, dims: %d, clusters: %d, spread: %g, seed: %d}
  partition_rows: %d
cluster:
  algorithm: kmeans
  k: %s
  restarts: 1%s
evaluate: {distance: %s%s}
`, c.Seed, c.Rows, c.Dims, c.K, c.Spread, c.Seed, partitionRows, k, choose, c.Distance, sil)
}

// silhouetteRun is one job's figures.
type silhouetteRun struct {
	summary                                 client.Summary
	model                                   algorithms.Model
	evaluate, distances, job, load, fit, cl float64
	peak, built                             int64
}

// Silhouette runs a job that fits k-means to synthetic blobs and scores
// it, Repeat times, timing its evaluation, and, where it can, times
// scikit-learn's silhouette_score on the same rows with the job's own
// labels between the runs, so a slow patch of a noisy machine lands on
// both sides. An exact silhouette that differs from the peer's by more
// than 1e-9 relative is an error: the speed of a wrong answer is no figure.
func Silhouette(ctx context.Context, cfg SilhouetteConfig) (*SilhouetteReport, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	partitionRows := cfg.PartitionRows
	if partitionRows == 0 {
		partitionRows = partition.PartitionRowsFor(cfg.Rows, cfg.Dims)
	}
	blobs, err := partition.NewBlobs(cfg.spec(), partitionRows)
	if err != nil {
		return nil, err
	}
	rep := &SilhouetteReport{Rows: cfg.Rows, Dims: cfg.Dims, K: cfg.K, Seed: cfg.Seed, Distance: cfg.Distance,
		Sample: cfg.Sample, Workers: cfg.Workers, Cores: runtime.GOMAXPROCS(0), Repeat: cfg.Repeat,
		GoVersion: runtime.Version(), Partitions: blobs.NumPartitions(),
		DataBytes: cfg.Rows * int64(partition.PadDims(cfg.Dims)*4+8)}
	if rep.Sample == "" {
		rep.Sample = "default"
	}
	rep.PeerSkipped = peerSkipped(ctx, cfg)

	var dir string
	if rep.PeerSkipped == "" {
		if dir, err = os.MkdirTemp("", "cohort-bench-silhouette-"); err != nil {
			return nil, fmt.Errorf("bench silhouette: %w", err)
		}
		defer os.RemoveAll(dir)
	}
	var runs []*silhouetteRun
	var peer []*silhouettePeerOutput
	for r := range cfg.Repeat {
		run, err := runSilhouetteJob(ctx, cfg, partitionRows, r == 0)
		if err != nil {
			return nil, fmt.Errorf("bench silhouette: run %d: %w", r+1, err)
		}
		runs = append(runs, run)
		progress(cfg.Progress, "run %d: cohort evaluate %.3fs (distances %.3fs)", r+1, run.evaluate, run.distances)
		if rep.PeerSkipped == "" {
			// The job's memory is garbage now; hand it back before the
			// peer loads its own copy.
			debug.FreeOSMemory()
			if r == 0 {
				if err := writePeerInputs(ctx, dir, blobs, run.model, cfg); err != nil {
					return nil, fmt.Errorf("bench silhouette: %w", err)
				}
				debug.FreeOSMemory()
			}
			out, err := runSilhouettePeer(ctx, dir, cfg.Distance)
			if err != nil {
				return nil, fmt.Errorf("bench silhouette: run %d: %w", r+1, err)
			}
			peer = append(peer, out)
			progress(cfg.Progress, "run %d: scikit-learn silhouette_score %.3fs", r+1, out.Seconds)
		}
	}
	return rep, rep.fill(cfg, runs, peer)
}

// fill sets the report's figures from the runs, and checks the answer.
func (rep *SilhouetteReport) fill(cfg SilhouetteConfig, runs []*silhouetteRun, peer []*silhouettePeerOutput) error {
	pick := func(f func(*silhouetteRun) float64) float64 {
		xs := make([]float64, len(runs))
		for i, r := range runs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	for _, r := range runs {
		rep.Runs = append(rep.Runs, r.evaluate)
		rep.PeakResidentBytes = max(rep.PeakResidentBytes, r.peak)
		rep.BlocksBuilt = max(rep.BlocksBuilt, r.built)
	}
	rep.Seconds = median(rep.Runs)
	rep.DistanceSeconds = pick(func(r *silhouetteRun) float64 { return r.distances })
	rep.JobSeconds = pick(func(r *silhouetteRun) float64 { return r.job })

	ev := runs[len(runs)-1].summary.Evaluation
	if ev == nil {
		return fmt.Errorf("bench silhouette: the job's summary has no evaluation")
	}
	rep.Silhouette, rep.SilhouetteCI, rep.SilhouetteRows = ev.Silhouette, ev.SilhouetteCI, ev.SilhouetteRows
	rep.Method = "exact"
	if ev.SilhouetteCI != nil {
		rep.Method = "sampled"
	}
	if cfg.Choose != "" {
		rep.Choose = &ChooseFigures{Range: cfg.Choose, Candidates: len(ev.Candidates), ChosenK: ev.ChosenK, Rule: ev.Rule,
			LoadSeconds:     pick(func(r *silhouetteRun) float64 { return r.load }),
			FitSeconds:      pick(func(r *silhouetteRun) float64 { return r.fit }),
			EvaluateSeconds: rep.Seconds,
			ClusterSeconds:  pick(func(r *silhouetteRun) float64 { return r.cl })}
	}
	if len(peer) == 0 {
		return nil
	}
	p := &SilhouettePeer{Peer: PeerSklearn, Version: peer[0].Version, Silhouette: peer[0].Silhouette}
	for _, o := range peer {
		p.Runs = append(p.Runs, o.Seconds)
		p.PeakResidentBytes = max(p.PeakResidentBytes, o.PeakRSS)
	}
	p.Seconds = median(p.Runs)
	rep.Peer = p
	ratio := p.Seconds / rep.Seconds
	rep.Ratio = &ratio
	if rep.Silhouette == nil {
		return fmt.Errorf("bench silhouette: the job gave no silhouette, scikit-learn %v", p.Silhouette)
	}
	d := math.Abs(*rep.Silhouette-p.Silhouette) / math.Abs(p.Silhouette)
	rep.RelativeDifference = &d
	if rep.Method == "exact" && !(d <= 1e-9) {
		return fmt.Errorf("bench silhouette: Cohort's exact silhouette %.17g differs from scikit-learn's %.17g by %.3g relative (more than 1e-9)",
			*rep.Silhouette, p.Silhouette, d)
	}
	return nil
}

// peerSkipped says why scikit-learn does not run, or "" when it does.
func peerSkipped(ctx context.Context, cfg SilhouetteConfig) string {
	switch {
	case cfg.NoPeer:
		return "--no-peer"
	case cfg.Choose != "":
		return "scikit-learn does not choose k (it declined to: scikit-learn #4301, #6948)"
	case cfg.Rows > cfg.PeerMaxRows:
		return fmt.Sprintf("%d rows is above --peer-max-rows %d: scikit-learn's silhouette_score is quadratic in time", cfg.Rows, cfg.PeerMaxRows)
	}
	return importError(ctx, "numpy", "sklearn.metrics")
}

// runSilhouetteJob starts a cluster, runs the job to its end and stops the
// cluster again, so nothing of it runs while the peer does.
func runSilhouetteJob(ctx context.Context, cfg SilhouetteConfig, partitionRows int, first bool) (*silhouetteRun, error) {
	debug.FreeOSMemory()
	resetPeakResident()
	cl, err := localcluster.Start(ctx, localcluster.Config{Workers: cfg.Workers, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	c, err := client.Dial(ctx, cl.Addr())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if cfg.CPUProfile != "" && first {
		stop, err := StartCPUProfile(cfg.CPUProfile)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	t0 := time.Now()
	res, err := runJob(ctx, c, []byte(cfg.jobYAML(partitionRows)), func(*pb.Job) {})
	if err != nil {
		return nil, err
	}
	run := &silhouetteRun{job: time.Since(t0).Seconds(), summary: client.SummaryOf(res)}
	if run.peak, err = peakResident(); err != nil {
		return nil, err
	}
	for _, w := range cl.Workers {
		run.built += w.Store().Built()
	}
	if run.model, err = algorithms.DecodeModel(res.Algorithm, res.Model); err != nil {
		return nil, fmt.Errorf("the job's model: %w", err)
	}
	for _, s := range run.summary.Stages {
		switch s.Name {
		case "evaluate":
			run.evaluate += s.Seconds
		case "cluster":
			run.cl += s.Seconds
		}
	}
	var evalPhases float64
	for _, p := range run.summary.Phases {
		switch {
		case p.Phase == "evaluate distances":
			run.distances += p.Seconds
			evalPhases += p.Seconds
		case strings.HasPrefix(p.Phase, "evaluate "):
			evalPhases += p.Seconds
		case p.Phase == "load":
			run.load += p.Seconds
		case p.Phase == "init" || p.Phase == "lloyd" || p.Phase == "final" || p.Phase == "fit" || p.Phase == "done":
			run.fit += p.Seconds
		}
	}
	if cfg.Choose != "" {
		// Every candidate is scored inside the cluster stage.
		run.evaluate = evalPhases
	}
	return run, nil
}

// writePeerInputs generates the job's rows again (the same spec and
// partitions give the same rows) and labels them with the job's own
// model, as its evaluation did, into dir/data.npy and dir/labels.npy.
func writePeerInputs(ctx context.Context, dir string, blobs *partition.Blobs, m algorithms.Model, cfg SilhouetteConfig) error {
	blocks, err := partition.LoadAll(ctx, blobs)
	if err != nil {
		return err
	}
	if _, err := writeRowsNPY(dir, blocks, cfg.Rows, cfg.Dims); err != nil {
		return err
	}
	labels := make([]int32, 0, cfg.Rows)
	for _, b := range blocks {
		var buf []float32 // Span expands packed blocks only
		if b.Packed() {
			buf = make([]float32, b.Rows*b.Stride)
		}
		out := algorithms.NewAssigned(m.Output(), b.Rows)
		if err := m.Assign(b.Span(0, b.Rows, buf), b.Rows, b.Stride, out); err != nil {
			return fmt.Errorf("label partition %d: %w", b.ID, err)
		}
		labels = append(labels, out.Segment...)
	}
	f, err := os.Create(filepath.Join(dir, "labels.npy"))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := writeLabelsNPY(f, labels); err != nil {
		return err
	}
	return f.Close()
}

// silhouettePeerOutput is the script's one JSON line.
type silhouettePeerOutput struct {
	Seconds    float64 `json:"seconds"`
	Silhouette float64 `json:"silhouette"`
	PeakRSS    int64   `json:"peak_rss_bytes"`
	Version    string  `json:"sklearn_version"`
}

// runSilhouettePeer runs the embedded script on dir's .npy files.
func runSilhouettePeer(ctx context.Context, dir, metric string) (*silhouettePeerOutput, error) {
	script := filepath.Join(dir, "sklearn_silhouette_score.py")
	if err := os.WriteFile(script, silhouetteScript, 0o644); err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, python, script, "--npy", filepath.Join(dir, "data.npy"),
		"--labels", filepath.Join(dir, "labels.npy"), "--metric", metric)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("scikit-learn: %w", ctx.Err())
		}
		return nil, fmt.Errorf("scikit-learn: %s failed (%v): %s", python, err, lastLines(stderr.Bytes(), 5))
	}
	var out silhouettePeerOutput
	line := lastLines(stdout.Bytes(), 1)
	if err := json.Unmarshal([]byte(line), &out); err != nil {
		return nil, fmt.Errorf("scikit-learn: unreadable result %q: %v; stderr: %s", line, err, lastLines(stderr.Bytes(), 5))
	}
	if !(out.Seconds > 0) || math.IsNaN(out.Silhouette) {
		return nil, fmt.Errorf("scikit-learn: implausible result %s", line)
	}
	return &out, nil
}

// WriteText prints the report for a terminal.
func (r *SilhouetteReport) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "silhouette of k-means on %d × %d blobs (k=%d, seed %d), %s, %d worker(s) on %d cores, %s\n",
		r.Rows, r.Dims, r.K, r.Seed, r.Distance, r.Workers, r.Cores, r.GoVersion)
	sil := "undefined (one segment)"
	if r.Silhouette != nil {
		sil = fmt.Sprintf("%.12f", *r.Silhouette)
	}
	if r.SilhouetteCI != nil {
		sil += fmt.Sprintf(" (95%% CI %.6f–%.6f)", r.SilhouetteCI[0], r.SilhouetteCI[1])
	}
	fmt.Fprintf(&b, "  cohort   %s over %d rows: %s\n", r.Method, r.SilhouetteRows, sil)
	fmt.Fprintf(&b, "           evaluate %.3f s median of %d (distances %.3f s), job %.3f s, peak RSS %s (data %s)\n",
		r.Seconds, len(r.Runs), r.DistanceSeconds, r.JobSeconds, mib(r.PeakResidentBytes), mib(r.DataBytes))
	fmt.Fprintf(&b, "           blocks built %d for %d partitions\n", r.BlocksBuilt, r.Partitions)
	if c := r.Choose; c != nil {
		fmt.Fprintf(&b, "  choose   k in %s: %d candidates, chose k=%d by %s; load %.3f s, fits %.3f s, evaluations %.3f s, cluster stage %.3f s\n",
			c.Range, c.Candidates, c.ChosenK, c.Rule, c.LoadSeconds, c.FitSeconds, c.EvaluateSeconds, c.ClusterSeconds)
	}
	if p := r.Peer; p != nil {
		fmt.Fprintf(&b, "  sklearn  %s silhouette_score: %.12f, %.3f s median of %d, peak RSS %s\n",
			p.Version, p.Silhouette, p.Seconds, len(p.Runs), mib(p.PeakResidentBytes))
		fmt.Fprintf(&b, "  ratio    %.1f× (scikit-learn's time / Cohort's); silhouettes differ by %.2g relative\n",
			*r.Ratio, *r.RelativeDifference)
	} else {
		fmt.Fprintf(&b, "  sklearn  not run: %s\n", r.PeerSkipped)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
