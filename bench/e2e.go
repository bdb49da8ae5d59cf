package bench

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cohort/cohort/algorithms/kmeans"
	"github.com/cohort/cohort/client"
	"github.com/cohort/cohort/jobspec"
	"github.com/cohort/cohort/localcluster"
	"github.com/cohort/cohort/partition"
	pb "github.com/cohort/cohort/proto"
)

// Formats `cohort bench e2e` runs the job on, in order.
const (
	E2ECSV     = "csv"
	E2EParquet = "parquet"
)

// e2eID is the id column of the generated files.
const e2eID = "id"

// e2eScript travels inside the binary, as the k-means comparison's does.
//
//go:embed pandas_sklearn_e2e.py
var e2eScript []byte

const e2eInstall = "apt-get install -y python3-sklearn python3-pandas python3-pyarrow"

// E2EConfig is one `cohort bench e2e` run.
type E2EConfig struct {
	Rows int64
	Dims int
	K    int // clusters in the data and k of the job
	Seed uint64
	// Dir keeps the generated files (and reuses them on the next run with
	// the same shape and seed) and the last run's outputs; empty means a
	// temporary directory, removed at the end.
	Dir     string
	Repeat  int // runs of each side on each format; medians are reported
	Workers int // embedded workers, as `cohort run --workers`
	// Log receives the nodes' log lines; Progress a line as each run ends,
	// since a whole suite at 1M rows takes minutes. Either may be nil.
	Log, Progress io.Writer
}

// E2EReport is what the suite measured. Field names are the JSON contract.
type E2EReport struct {
	Rows      int64  `json:"rows"`
	Dims      int    `json:"dims"`
	K         int    `json:"k"`
	Seed      uint64 `json:"seed"`
	Repeat    int    `json:"repeat"`
	Workers   int    `json:"workers"`
	Cores     int    `json:"cores"`
	GoVersion string `json:"go_version"`
	// Cohort is the job's k-means as the spec leaves it to the defaults;
	// the peer's own settings are in each format's peer.settings.
	Cohort  CohortSettings `json:"cohort"`
	Formats []E2EFormat    `json:"formats"`
}

// CohortSettings are the k-means settings the benchmark job runs with.
type CohortSettings struct {
	Init     string  `json:"init"`
	MaxIter  int     `json:"max_iter"`
	Tol      float64 `json:"tol"` // largest centroid move, in scaled units
	Restarts int     `json:"restarts"`
	Scale    string  `json:"scale"`
}

// E2EFormat is the job on one format's file.
type E2EFormat struct {
	Format      string     `json:"format"`
	File        string     `json:"file"`
	FileBytes   int64      `json:"file_bytes"`
	Cohort      E2ESide    `json:"cohort"`
	Peer        *E2ESide   `json:"peer,omitempty"`
	PeerSkipped string     `json:"peer_skipped,omitempty"` // why there is no peer run
	PeerInfo    *PeerSetup `json:"peer_setup,omitempty"`
	// Ratio is cohort.seconds / peer.seconds: the target is at most 0.5.
	Ratio *float64 `json:"ratio,omitempty"`
}

// E2ESide is one side's runs of the job on one file.
type E2ESide struct {
	Seconds    float64   `json:"seconds"` // median wall time, start to outputs written
	Runs       []float64 `json:"runs"`
	Stages     []Stage   `json:"stages"` // each stage's median over the runs
	Iterations []int     `json:"iterations"`
	// Objective is the last run's WCSS (Cohort) or inertia (scikit-learn),
	// both over the standard-scaled features: equal to a few digits when
	// both found the blobs.
	Objective float64 `json:"objective"`
	// Written is the rows of the last run's assignments; for Cohort, read
	// back and checked to name every row of the file once.
	Written int64 `json:"rows_written"`
}

// Stage is the wall time of one stage of a run.
type Stage struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// PeerSetup is what the peer ran with, as it reported.
type PeerSetup struct {
	Versions map[string]string `json:"versions"`
	Init     string            `json:"init"`
	MaxIter  int               `json:"max_iter"`
	Tol      float64           `json:"tol"` // scikit-learn scales it by the features' mean variance
	Threads  *int              `json:"threads"`
}

func (c *E2EConfig) validate() error {
	if err := validShape(c.Rows, c.Dims, c.K); err != nil {
		return err
	}
	switch {
	case c.Repeat < 1:
		return fmt.Errorf("--repeat must be at least 1 (got %d)", c.Repeat)
	case c.Workers < 1:
		return fmt.Errorf("--workers must be at least 1 (got %d)", c.Workers)
	}
	return nil
}

// E2E generates a blobs file in each format, then runs the whole job on
// each: Cohort as `cohort run SPEC.yaml` runs it, and, where Python has
// them, pandas and scikit-learn doing the same. The runs alternate —
// Cohort, peer, next format, next repeat — so a slow patch of a noisy
// machine lands on both sides rather than on one.
func E2E(ctx context.Context, cfg E2EConfig) (rep *E2EReport, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	dir := cfg.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "cohort-bench-e2e-"); err != nil {
			return nil, fmt.Errorf("bench e2e: %w", err)
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench e2e: %w", err)
	}
	script := filepath.Join(dir, "pandas_sklearn_e2e.py")
	if err := os.WriteFile(script, e2eScript, 0o644); err != nil {
		return nil, fmt.Errorf("bench e2e: %w", err)
	}
	peerMissing := checkPeer(ctx)

	rep = &E2EReport{Rows: cfg.Rows, Dims: cfg.Dims, K: cfg.K, Seed: cfg.Seed, Repeat: cfg.Repeat,
		Workers: cfg.Workers, Cores: runtime.GOMAXPROCS(0), GoVersion: runtime.Version()}
	type side struct {
		runs  []float64
		iters []int
		stage [][]Stage
	}
	type job struct {
		spec         string
		cohort, peer side
	}
	jobs := make([]job, 2)
	for i, format := range []string{E2ECSV, E2EParquet} {
		file, err := e2eData(ctx, cfg, dir, format)
		if err != nil {
			return nil, err
		}
		st, err := os.Stat(file)
		if err != nil {
			return nil, fmt.Errorf("bench e2e: %w", err)
		}
		f := E2EFormat{Format: format, File: file, FileBytes: st.Size(), PeerSkipped: peerMissing[format]}
		if jobs[i].spec, err = writeE2ESpec(cfg, dir, format, file); err != nil {
			return nil, err
		}
		rep.Formats = append(rep.Formats, f)
	}
	settings, err := cohortSettings(jobs[0].spec)
	if err != nil {
		return nil, err
	}
	rep.Cohort = settings

	for r := range cfg.Repeat {
		for i := range rep.Formats {
			f := &rep.Formats[i]
			run, err := runCohortJob(ctx, jobs[i].spec, cfg)
			if err != nil {
				return nil, fmt.Errorf("bench e2e: %s run %d: %w", f.Format, r+1, err)
			}
			c := &jobs[i].cohort
			c.runs, c.iters, c.stage = append(c.runs, run.seconds), append(c.iters, run.summary.Iterations), append(c.stage, run.stages)
			f.Cohort.Objective = run.summary.Metrics["wcss"]
			progress(cfg.Progress, "%s run %d: cohort %.2fs", f.Format, r+1, run.seconds)
			// Reading the ids back is not part of the job: it is the check
			// that the job did what it was timed for.
			if f.Cohort.Written, err = checkAssignments(filepath.Join(run.outDir, "assignments"), f.Format, cfg.Rows); err != nil {
				return nil, fmt.Errorf("bench e2e: %s run %d: %w", f.Format, r+1, err)
			}
			if f.PeerSkipped != "" {
				continue
			}
			// The job's memory is garbage now; hand it back before the peer
			// loads its own copy.
			debug.FreeOSMemory()
			out, err := runE2EPeer(ctx, script, dir, f.Format, f.File, cfg)
			if err != nil {
				return nil, fmt.Errorf("bench e2e: %s run %d: %w", f.Format, r+1, err)
			}
			p := &jobs[i].peer
			p.runs, p.iters, p.stage = append(p.runs, out.seconds), append(p.iters, out.NIter), append(p.stage, out.stages())
			if f.Peer == nil {
				f.Peer = &E2ESide{}
			}
			f.Peer.Objective, f.Peer.Written = out.Inertia, out.Rows
			f.PeerInfo = &PeerSetup{Versions: out.Versions, Init: out.Init, MaxIter: out.MaxIter, Tol: out.Tol, Threads: out.Threads}
			progress(cfg.Progress, "%s run %d: pandas + scikit-learn %.2fs", f.Format, r+1, out.seconds)
		}
	}
	for i := range rep.Formats {
		f := &rep.Formats[i]
		c := jobs[i].cohort
		f.Cohort.Seconds, f.Cohort.Runs, f.Cohort.Iterations, f.Cohort.Stages = median(c.runs), c.runs, c.iters, medianStages(c.stage)
		if f.Peer == nil {
			continue
		}
		p := jobs[i].peer
		f.Peer.Seconds, f.Peer.Runs, f.Peer.Iterations, f.Peer.Stages = median(p.runs), p.runs, p.iters, medianStages(p.stage)
		ratio := f.Cohort.Seconds / f.Peer.Seconds
		f.Ratio = &ratio
	}
	return rep, nil
}

func progress(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

// e2eData is the blobs file of a format in dir, generated unless an earlier
// run left it. Both formats come from the same generator and seed, so they
// hold the same rows. The name carries everything that shapes the rows, and
// a file is renamed into place only once whole, so what is found is what
// would be written.
func e2eData(ctx context.Context, cfg E2EConfig, dir, format string) (string, error) {
	base := fmt.Sprintf("blobs-%d-rows-%d-dims-%d-k-seed-%d", cfg.Rows, cfg.Dims, cfg.K, cfg.Seed)
	path := filepath.Join(dir, base+"."+format)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	partial := filepath.Join(dir, base+".partial."+format)
	_, err := Gen(ctx, GenConfig{Kind: "blobs", Rows: cfg.Rows, Out: partial, Seed: cfg.Seed,
		Dims: cfg.Dims, Clusters: cfg.K, Spread: 1, ID: e2eID})
	if err != nil {
		return "", fmt.Errorf("bench e2e: generate %s: %w", format, err)
	}
	if err := os.Rename(partial, path); err != nil {
		return "", fmt.Errorf("bench e2e: %w", err)
	}
	return path, nil
}

// writeE2ESpec writes the job a user would write for the file: the id,
// k-means with k and one restart, assignments in the file's own format;
// everything else is left to the defaults, which are what is measured.
func writeE2ESpec(cfg E2EConfig, dir, format, file string) (string, error) {
	spec := fmt.Sprintf(`name: bench-e2e-%s
seed: %d
data:
  path: %s
  id: %s
cluster:
  algorithm: kmeans
  k: %d
  restarts: 1
output:
  dir: %s
  format: %s
`, format, cfg.Seed, strconv.Quote(file), e2eID, cfg.K, strconv.Quote(filepath.Join(dir, "cohort-out-"+format)), format)
	path := filepath.Join(dir, "job-"+format+".yaml")
	if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
		return "", fmt.Errorf("bench e2e: %w", err)
	}
	return path, nil
}

// cohortSettings are the defaults the spec leaves the job to, as the job
// will see them.
func cohortSettings(specPath string) (CohortSettings, error) {
	spec, _, err := jobspec.Load(specPath)
	if err != nil {
		return CohortSettings{}, err
	}
	km, ok := kmeans.Settings(spec.Config())
	if !ok {
		return CohortSettings{}, fmt.Errorf("bench e2e: the job is not k-means")
	}
	return CohortSettings{Init: fmt.Sprintf("k-means|| (%d rounds)", km.Rounds), MaxIter: km.MaxIter, Tol: km.Tol,
		Restarts: km.Restarts, Scale: "standard"}, nil
}

// cohortRun is one run of the job.
type cohortRun struct {
	seconds float64
	stages  []Stage
	summary client.Summary
	outDir  string
}

// runCohortJob does what `cohort run SPEC.yaml` does (cmd/cohort/jobs.go),
// less the progress bar and the printing, and times it from reading the
// spec to the outputs written. The cluster's shutdown after is not timed:
// the outputs are complete by then.
func runCohortJob(ctx context.Context, specPath string, cfg E2EConfig) (*cohortRun, error) {
	// Read once untimed for the output dir: outputs of an earlier run must
	// not count as this one's. The timed run reads it again, as `cohort
	// run` would.
	spec, _, err := jobspec.Load(specPath)
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(spec.Output.Dir); err != nil {
		return nil, err
	}
	// A `cohort run` is a new process: give back the heap earlier runs
	// left, so this one faults in its pages as a new process would.
	debug.FreeOSMemory()

	t0 := time.Now()
	spec, text, err := jobspec.Load(specPath)
	if err != nil {
		return nil, err
	}
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
	started := time.Now()
	res, err := runJob(ctx, c, text, func(*pb.Job) {})
	if err != nil {
		return nil, err
	}
	s := client.SummaryOf(res)
	ended := time.Now()
	if err := s.WriteOutputs(spec.Output.Dir); err != nil {
		return nil, err
	}
	done := time.Now()

	run := &cohortRun{seconds: done.Sub(t0).Seconds(), summary: s, outDir: spec.Output.Dir}
	run.stages = append(run.stages, Stage{"start cluster", started.Sub(t0).Seconds()})
	run.stages = append(run.stages, jobStages(s)...)
	run.stages = append(run.stages, Stage{"write summary", done.Sub(ended).Seconds()})
	run.stages = append(run.stages, Stage{"other", done.Sub(t0).Seconds() - sumStages(run.stages)})
	return run, nil
}

// jobStages is the one place the suite reads the job's own stage times, so
// that the summary's Phases becoming Stages {name, seconds, bytes_read}
// changes only this function.
func jobStages(s client.Summary) []Stage {
	out := make([]Stage, 0, len(s.Phases))
	for _, p := range s.Phases {
		out = append(out, Stage{Name: p.Phase, Seconds: p.Seconds})
	}
	return out
}

func sumStages(stages []Stage) float64 {
	var t float64
	for _, s := range stages {
		t += s.Seconds
	}
	return t
}

// medianStages is each stage's median over runs, in the order the stages
// first appear. A stage a run lacks counts as 0 s for it, so a median is
// never of fewer runs than the others.
func medianStages(runs [][]Stage) []Stage {
	var names []string
	for _, r := range runs {
		for _, s := range r {
			if !slices.Contains(names, s.Name) {
				names = append(names, s.Name)
			}
		}
	}
	out := make([]Stage, 0, len(names))
	for _, n := range names {
		xs := make([]float64, len(runs))
		for i, r := range runs {
			for _, s := range r {
				if s.Name == n {
					xs[i] += s.Seconds
				}
			}
		}
		out = append(out, Stage{n, median(xs)})
	}
	return out
}

// checkAssignments reads a job's assignment part files back and checks
// that they name each of the file's rows, BlobID(0) to BlobID(rows−1),
// exactly once; it returns how many rows they hold.
func checkAssignments(dir, format string, rows int64) (int64, error) {
	parts, err := filepath.Glob(filepath.Join(dir, "part-*."+format))
	if err != nil || len(parts) == 0 {
		return 0, fmt.Errorf("assignments: no part files in %s (%v)", dir, err)
	}
	seen := make([]bool, rows)
	var n int64
	for _, p := range parts {
		t, err := readTable(p, format)
		if err != nil {
			return 0, fmt.Errorf("assignments: %w", err)
		}
		ids := t.Column("id")
		if ids == nil || ids.Type != partition.Text {
			return 0, fmt.Errorf("assignments: %s has no text id column", p)
		}
		for i := range t.Rows {
			s, _ := ids.Text(i)
			num, err := strconv.ParseInt(strings.TrimPrefix(s, "B"), 10, 64)
			if err != nil || num < 0 || num >= rows || BlobID(num) != s {
				return 0, fmt.Errorf("assignments: %s row %d: id %q is not one of the file's", p, i, s)
			}
			if seen[num] {
				return 0, fmt.Errorf("assignments: id %s is on more than one row", s)
			}
			seen[num] = true
		}
		n += int64(t.Rows)
	}
	if n != rows {
		return n, fmt.Errorf("assignments: %d rows for a file of %d", n, rows)
	}
	return n, nil
}

// readTable reads a whole CSV or Parquet file, ids as text.
func readTable(path, format string) (*partition.Table, error) {
	if format == E2EParquet {
		info, err := partition.InspectParquet(path)
		if err != nil {
			return nil, err
		}
		return partition.ReadParquetColumns(context.Background(), path, 0, len(info.GroupRows), nil)
	}
	f, schema, err := partition.SniffCSV(path, partition.CSVHints{Types: map[string]string{"id": "text"}})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t, _, rejects, err := partition.ReadCSVRange(path, f, schema, 0, -1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rejects) > 0 {
		return nil, fmt.Errorf("%s line %d: %s", path, rejects[0].Line, rejects[0].Reason)
	}
	return t, nil
}

// checkPeer says, per format, why the peer cannot run there; a format
// missing from the map can. Parquet needs pyarrow besides pandas and
// scikit-learn, and Debian's stable release lacks it, so a machine may
// have the CSV peer alone.
func checkPeer(ctx context.Context) map[string]string {
	missing := map[string]string{}
	base := importError(ctx, "numpy", "pandas", "sklearn.cluster", "sklearn.preprocessing")
	if base != "" {
		missing[E2ECSV], missing[E2EParquet] = base, base
		return missing
	}
	if e := importError(ctx, "pyarrow"); e != "" {
		missing[E2EParquet] = e
	}
	return missing
}

// importError is why python cannot import the modules, or "" if it can.
func importError(ctx context.Context, modules ...string) string {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, python, "-c", "import "+strings.Join(modules, ", "))
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	switch {
	case err == nil:
		return ""
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, exec.ErrNotFound):
		return fmt.Sprintf("%s not found; install Python 3 and %s", python, e2eInstall)
	}
	return fmt.Sprintf("%s cannot import %s (%s); %s", python, strings.Join(modules, ", "), lastLines(stderr.Bytes(), 1), e2eInstall)
}

// peerOutput is the script's one JSON line, and the run's wall time.
type peerOutput struct {
	Stages   []Stage           `json:"stages"`
	Rows     int64             `json:"rows"`
	NIter    int               `json:"n_iter"`
	Inertia  float64           `json:"inertia"`
	MaxIter  int               `json:"max_iter"`
	Tol      float64           `json:"tol"`
	Init     string            `json:"init"`
	Versions map[string]string `json:"versions"`
	Threads  *int              `json:"threads"`
	seconds  float64
}

// stages are the script's own, after the interpreter's start-up, which is
// what its wall time leaves over.
func (p *peerOutput) stages() []Stage {
	return append([]Stage{{"python start", p.seconds - sumStages(p.Stages)}}, p.Stages...)
}

// runE2EPeer runs the peer on a file, timed from starting the interpreter
// to its exit, as a user's script would be.
func runE2EPeer(ctx context.Context, script, dir, format, file string, cfg E2EConfig) (*peerOutput, error) {
	out := filepath.Join(dir, "peer-out."+format)
	if err := os.Remove(out); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, python, script, "--data", file, "--format", format, "--id", e2eID,
		"--k", fmt.Sprint(cfg.K), "--seed", fmt.Sprint(cfg.Seed), "--out", out)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	t0 := time.Now()
	err := cmd.Run()
	seconds := time.Since(t0).Seconds()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("pandas + scikit-learn: %w", ctx.Err())
		}
		return nil, fmt.Errorf("pandas + scikit-learn: %s failed (%v): %s", python, err, lastLines(stderr.Bytes(), 5))
	}
	var p peerOutput
	line := lastLines(stdout.Bytes(), 1)
	if err := json.Unmarshal([]byte(line), &p); err != nil {
		return nil, fmt.Errorf("pandas + scikit-learn: unreadable result %q: %v; stderr: %s", line, err, lastLines(stderr.Bytes(), 5))
	}
	if p.Rows != cfg.Rows || p.NIter < 1 || len(p.Stages) == 0 {
		return nil, fmt.Errorf("pandas + scikit-learn: implausible result %s", line)
	}
	p.seconds = seconds
	return &p, nil
}
