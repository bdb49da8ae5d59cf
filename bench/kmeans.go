package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/client"
	"github.com/cohort/cohort/localcluster"
	"github.com/cohort/cohort/partition"
	pb "github.com/cohort/cohort/proto"
)

// KMeansConfig is one `cohort bench kmeans` run.
type KMeansConfig struct {
	Rows          int64
	Dims          int
	K             int // clusters in the data and k of the job
	Iters         int // Lloyd iterations, run to the end (tol 0)
	Workers       int
	Seed          uint64
	Spread        float64
	PartitionRows int
	// Compare names a peer to time on the same rows after the job; "" for
	// none. Only PeerSklearn exists.
	Compare string
	// CPUProfile, if set, is a file for a CPU profile of the process from
	// the job's submission to its end: where an iteration's time goes.
	CPUProfile string
	Log        io.Writer
}

// KMeansReport is what the run measured. Field names are the JSON contract.
type KMeansReport struct {
	Rows           int64       `json:"rows"`
	Dims           int         `json:"dims"`
	K              int         `json:"k"`
	Workers        int         `json:"workers"`
	Cores          int         `json:"cores"`
	Iterations     int         `json:"iterations"`
	SecondsPerIter float64     `json:"seconds_per_iter"` // median over Lloyd iterations
	IterSeconds    []float64   `json:"iter_seconds"`
	StartSeconds   float64     `json:"start_seconds"` // cluster start-up
	InitSeconds    float64     `json:"init_seconds"`  // data generation and k-means|| init
	TotalSeconds   float64     `json:"total_seconds"` // submit to result
	WCSS           float64     `json:"wcss"`
	Centroids      [][]float64 `json:"centroids"`
	TrueCenters    [][]float64 `json:"true_centers"`
	// MaxCenterError is the largest distance from a true centre to its
	// nearest centroid, in units of the blobs' spread.
	MaxCenterError float64 `json:"max_center_error"`
	BytesResident  int64   `json:"bytes_resident"` // peak resident set of the process (VmHWM)
	DataBytes      int64   `json:"data_bytes"`     // partition blocks held by workers
	GoVersion      string  `json:"go_version"`
	// One read of every block's Data (the bytes a Lloyd pass streams) with
	// all cores: the floor an iteration cannot beat, so iter_to_read_ratio
	// says how far from memory-bound the iteration is.
	MemoryReadBytes   int64   `json:"memory_read_bytes"`
	MemoryReadSeconds float64 `json:"memory_read_seconds"` // median of 5 passes
	MemoryReadGBps    float64 `json:"memory_read_gbps"`
	IterToReadRatio   float64 `json:"iter_to_read_ratio"` // seconds_per_iter / memory_read_seconds
	// Compare is present only with --compare.
	Compare *KMeansCompare `json:"compare,omitempty"`
}

// validShape checks the flags every suite over blobs takes.
func validShape(rows int64, dims, k int) error {
	switch {
	case rows < 1:
		return fmt.Errorf("--rows must be at least 1 (got %d)", rows)
	case dims < 1:
		return fmt.Errorf("--dims must be at least 1 (got %d)", dims)
	case k < 1:
		return fmt.Errorf("--k must be at least 1 (got %d)", k)
	case int64(k) > rows:
		return fmt.Errorf("--k (%d) exceeds --rows (%d)", k, rows)
	}
	return nil
}

func (c *KMeansConfig) validate() error {
	if err := validShape(c.Rows, c.Dims, c.K); err != nil {
		return err
	}
	switch {
	case c.Iters < 1:
		return fmt.Errorf("--iters must be at least 1 (got %d)", c.Iters)
	case c.Workers < 1:
		return fmt.Errorf("--workers must be at least 1 (got %d)", c.Workers)
	case c.Compare != "" && c.Compare != PeerSklearn:
		return fmt.Errorf("--compare %q: unknown peer; the only one is %q", c.Compare, PeerSklearn)
	}
	if c.Spread == 0 {
		c.Spread = 1
	}
	return nil
}

func (c *KMeansConfig) spec() partition.SyntheticSpec {
	return partition.SyntheticSpec{Kind: "blobs", Rows: c.Rows, Dims: c.Dims, Clusters: c.K, Spread: c.Spread, Seed: c.Seed}
}

func (c *KMeansConfig) jobYAML() string {
	return fmt.Sprintf(`name: bench-kmeans
seed: %d
data:
  synthetic: {kind: blobs, rows: %d, dims: %d, clusters: %d, spread: %g, seed: %d}
  partition_rows: %d
cluster:
  algorithm: kmeans
  k: %d
  max_iter: %d
  tol: 0
`, c.Seed, c.Rows, c.Dims, c.K, c.Spread, c.Seed, c.PartitionRows, c.K, c.Iters)
}

// KMeans runs one k-means job on an embedded cluster over synthetic blobs
// and times its Lloyd iterations as the client sees them committed, then
// times one read of the same blocks from memory and, with Compare, a peer on
// the same rows. Each stage runs after the previous one has finished, so no
// two contend for the cores or add up to one memory peak.
func KMeans(ctx context.Context, cfg KMeansConfig) (*KMeansReport, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.PartitionRows == 0 {
		cfg.PartitionRows = partition.PartitionRowsFor(cfg.Rows, cfg.Dims)
	}
	blobs, err := partition.NewBlobs(cfg.spec(), cfg.PartitionRows)
	if err != nil {
		return nil, err
	}
	if cfg.Compare != "" {
		if err := checkSklearn(ctx); err != nil {
			return nil, err
		}
	}
	run, err := runKMeansJob(ctx, cfg, blobs)
	if err != nil {
		return nil, err
	}
	res := run.result
	perIter, initEnd := run.timer.times()

	// Workers drop a job's partitions when it ends, so count what they held
	// from the block layout rather than asking them afterwards.
	data := cfg.Rows * int64(partition.PadDims(cfg.Dims)*4+8)
	r := &KMeansReport{
		Rows: cfg.Rows, Dims: cfg.Dims, K: cfg.K, Workers: cfg.Workers, Cores: runtime.GOMAXPROCS(0),
		Iterations: int(res.Iterations), IterSeconds: perIter,
		SecondsPerIter: median(perIter), StartSeconds: run.startSeconds,
		InitSeconds: initEnd.Sub(run.submitted).Seconds(), TotalSeconds: run.totalSeconds,
		WCSS: res.Metrics["wcss"], TrueCenters: blobs.Centers(), DataBytes: data, GoVersion: runtime.Version(),
	}
	for _, v := range res.Centroids {
		r.Centroids = append(r.Centroids, v.Values)
	}
	r.MaxCenterError = maxCenterError(r.TrueCenters, r.Centroids) / cfg.Spread

	blocks := run.blocks
	if blocks == nil {
		// The job ended before the bench saw its blocks loaded (a run of a
		// step or two). Regenerate the same blocks here: the workers' copies
		// are garbage now, so this reuses their memory rather than adding to
		// the peak.
		if blocks, err = partition.LoadAll(ctx, blobs); err != nil {
			return nil, err
		}
	}
	mr := readMemory(blocks)
	r.MemoryReadBytes, r.MemoryReadSeconds, r.MemoryReadGBps = mr.Bytes, mr.Seconds, mr.GBps()
	r.IterToReadRatio = r.SecondsPerIter / mr.Seconds
	r.BytesResident, err = peakResident()
	if err != nil {
		return nil, err
	}
	if cfg.Compare == "" {
		return r, nil
	}

	dir, err := os.MkdirTemp("", "cohort-bench-sklearn-")
	if err != nil {
		return nil, fmt.Errorf("--compare sklearn: %w", err)
	}
	defer os.RemoveAll(dir)
	npy, err := writeRowsNPY(dir, blocks, cfg.Rows, cfg.Dims)
	if err != nil {
		return nil, err
	}
	// Nothing uses the blocks past this point, so the collector may free
	// them: hand their memory back before the peer loads its own copy.
	debug.FreeOSMemory()
	out, err := runSklearn(ctx, dir, npy, cfg.K, cfg.Iters, cfg.Seed)
	if err != nil {
		return nil, err
	}
	r.Compare = &KMeansCompare{
		Peer: PeerSklearn, PeerVersion: out.Version, PeerSecondsPerIter: out.SecondsPerIter,
		PeerIterations: out.NIter, PeerInertia: out.Inertia, PeerThreads: out.Threads,
		Ratio: out.SecondsPerIter / r.SecondsPerIter,
	}
	return r, nil
}

// jobRun is what one embedded-cluster run of the benchmark job yields.
type jobRun struct {
	result                     *pb.JobResult
	timer                      iterTimer
	submitted                  time.Time
	startSeconds, totalSeconds float64
	// blocks are the partitions as the workers held them during the job,
	// in partition order; nil if the job ended before they were seen.
	blocks []*partition.Block
}

// runKMeansJob starts a cluster, runs the job to its end and stops the
// cluster again, so nothing of it runs while later stages measure.
func runKMeansJob(ctx context.Context, cfg KMeansConfig, blobs *partition.Blobs) (*jobRun, error) {
	t0 := time.Now()
	run := &jobRun{}
	cl, err := localcluster.Start(ctx, localcluster.Config{Workers: cfg.Workers, Log: cfg.Log, OnStep: run.timer.observe})
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	c, err := client.Dial(ctx, cl.Addr())
	if err != nil {
		return nil, err
	}
	defer c.Close()

	if cfg.CPUProfile != "" {
		stop, err := StartCPUProfile(cfg.CPUProfile)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	run.submitted = time.Now()
	run.startSeconds = run.submitted.Sub(t0).Seconds()
	run.result, err = runJob(ctx, c, []byte(cfg.jobYAML()), func(j *pb.Job) {
		// Taking references while the job runs is the only way to reach
		// the workers' blocks: the job's end drops them. It costs a few
		// map look-ups per partition, once.
		if run.blocks == nil && j.Phase != "" {
			run.blocks, _ = cl.HeldBlocks(j.Id, blobs.NumPartitions())
		}
	})
	if err != nil {
		return nil, err
	}
	run.totalSeconds = time.Since(run.submitted).Seconds()
	return run, nil
}

// runJob submits a job, waits for it, calling watch with each update, and
// returns its result; a job that did not succeed is an error.
func runJob(ctx context.Context, c *client.Client, spec []byte, watch func(*pb.Job)) (*pb.JobResult, error) {
	job, err := c.Submit(ctx, spec)
	if err != nil {
		return nil, err
	}
	final, err := c.Wait(ctx, job.Id, watch)
	if err != nil {
		return nil, err
	}
	if final.State != pb.JobState_JOB_STATE_SUCCEEDED {
		return nil, fmt.Errorf("job %s ended %s: %s", final.Id, final.State, final.Error)
	}
	return c.Result(ctx, job.Id)
}

// StartCPUProfile profiles the process into path until stop is called.
func StartCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// iterTimer times each Lloyd iteration as the coordinator's driver finishes
// it (coordinator.Config.OnStep): the step's wall time, whether or not its
// checkpoint was committed. Init is everything before the first Lloyd step.
type iterTimer struct {
	mu            sync.Mutex
	iter          int
	last, initEnd time.Time
	perIter       []float64
}

func (t *iterTimer) observe(_ string, p algorithms.Progress) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if p.Phase != "lloyd" || p.Restart != 0 {
		if t.iter == 0 {
			t.last, t.initEnd = now, now
		}
		return
	}
	if p.Iteration > t.iter {
		t.perIter = append(t.perIter, now.Sub(t.last).Seconds())
		t.iter, t.last = p.Iteration, now
	}
}

// times returns the per-iteration seconds and the end of init.
func (t *iterTimer) times() ([]float64, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.perIter), t.initEnd
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func maxCenterError(truth, found [][]float64) float64 {
	worst := 0.0
	for _, t := range truth {
		best := math.Inf(1)
		for _, f := range found {
			var d float64
			for j := range t {
				d += (t[j] - f[j]) * (t[j] - f[j])
			}
			best = min(best, d)
		}
		worst = max(worst, math.Sqrt(best))
	}
	return worst
}

// resetPeakResident starts the process's peak resident set (VmHWM) over
// from its present size, so a later peakResident is one run's. Kernels
// before Linux 4.0 lack it; the peak is then the process's whole life,
// which only overstates.
func resetPeakResident() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakResident reads the process's peak resident set (VmHWM) from procfs.
func peakResident() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("peak resident memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("peak resident memory: parse %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("peak resident memory: no VmHWM in /proc/self/status")
}
