package clustertest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/client"
	"github.com/cohort/cohort/coordinator"
	"github.com/cohort/cohort/failpoint"
	"github.com/cohort/cohort/jobspec"
	pb "github.com/cohort/cohort/proto"
	"github.com/cohort/cohort/worker"
)

// Options shape a cluster; the zero value is one coordinator and no
// workers.
type Options struct {
	Coordinators int
	Workers      int
	// WorkerWait is how long a job waits for a first worker (default 20s).
	WorkerWait time.Duration
	// OnDisk gives each coordinator real TCP Raft and Bolt stores in a
	// temporary directory instead of the in-memory transport and stores.
	OnDisk bool
	// CheckpointEvery is coordinator.Config's (0: its default).
	CheckpointEvery time.Duration
	// WorkerMemory is the memory each worker advertises (0: the
	// machine's), which decides whether a job keeps its raw rows.
	WorkerMemory int64
	// DenseBlocks keeps the workers' prepared blocks dense, unpacked
	// (worker.Config.DenseBlocks).
	DenseBlocks bool
}

// Cluster is a running cluster; Close (registered with t.Cleanup) stops
// every node.
type Cluster struct {
	t       testing.TB
	opts    Options
	Coords  []*coordinator.Node
	Workers []*worker.Node
	// Failpoints are shared by every node of the cluster.
	Failpoints *failpoint.Set
	onStep     atomic.Pointer[func(algorithms.Progress)]
}

// Logs is where nodes log: stderr under `go test -v`, nowhere otherwise.
func Logs() io.Writer {
	if testing.Verbose() {
		return os.Stderr
	}
	return nil
}

// Start starts a cluster and waits for a leader that every coordinator
// votes for, and for its workers to register.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	opts.Coordinators = max(opts.Coordinators, 1)
	if opts.WorkerWait == 0 {
		opts.WorkerWait = 20 * time.Second
	}
	c := &Cluster{t: t, opts: opts, Failpoints: &failpoint.Set{}}
	t.Cleanup(c.Close)
	var transports []*raft.InmemTransport
	for i := range opts.Coordinators {
		cfg := coordinator.Config{
			ID: fmt.Sprintf("c%d", i), GRPCAddr: "127.0.0.1:0", GossipAddr: "127.0.0.1:0",
			Codec: jobspec.Codec(), FastTimers: true, WorkerWait: opts.WorkerWait, CheckpointEvery: opts.CheckpointEvery,
			Failpoints: c.Failpoints, Log: Logs(),
			OnStep: func(_ string, p algorithms.Progress) {
				if f := c.onStep.Load(); f != nil {
					(*f)(p)
				}
			},
		}
		if opts.OnDisk {
			cfg.DataDir, cfg.RaftAddr = filepath.Join(t.TempDir(), cfg.ID), "127.0.0.1:0"
		} else {
			_, trans := raft.NewInmemTransport(raft.ServerAddress(fmt.Sprintf("raft-%d", i)))
			for _, other := range transports {
				other.Connect(trans.LocalAddr(), trans)
				trans.Connect(other.LocalAddr(), other)
			}
			transports = append(transports, trans)
			store := raft.NewInmemStore()
			cfg.Transport = trans
			cfg.Stores = &coordinator.Stores{Log: store, Stable: store, Snapshot: raft.NewInmemSnapshotStore()}
		}
		if i > 0 {
			cfg.Join = c.Coords[0].GRPCAddr()
		}
		node, err := coordinator.Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.Coords = append(c.Coords, node)
	}
	c.Await("a leader with every coordinator voting", func() bool {
		l := c.Leader()
		if l == nil {
			return false
		}
		f := l.Raft().GetConfiguration()
		return f.Error() == nil && len(f.Configuration().Servers) == opts.Coordinators
	})
	c.AddWorkers(opts.Workers)
	return c
}

// AddWorkers starts n more workers and waits for the leader to register
// them.
func (c *Cluster) AddWorkers(n int) {
	c.t.Helper()
	if n == 0 {
		return
	}
	for range n {
		cfg := worker.Config{Name: fmt.Sprintf("w%d", len(c.Workers)+1), GRPCAddr: "127.0.0.1:0", GossipAddr: "127.0.0.1:0",
			Coordinator: c.Coords[0].GRPCAddr(), Cores: 2, Codec: jobspec.Codec(), JoinTimeout: 10 * time.Second,
			Failpoints: c.Failpoints, Log: Logs(), MemoryBytes: c.opts.WorkerMemory, DenseBlocks: c.opts.DenseBlocks}
		w, err := worker.Start(context.Background(), cfg)
		if err != nil {
			c.t.Fatal(err)
		}
		c.Workers = append(c.Workers, w)
	}
	want := len(c.Workers)
	c.Await(fmt.Sprintf("%d workers registered", want), func() bool {
		var got int
		l := c.Leader()
		if l == nil {
			return false
		}
		l.FSM().Read(func(s *coordinator.State) { got = len(s.Workers) })
		return got == want
	})
}

// AwaitReleased waits until no worker holds a dataset or a shuffle part:
// what a finished job, however it ended and under however many leaders,
// must leave.
func (c *Cluster) AwaitReleased() {
	c.t.Helper()
	c.Await("every worker to release the job's data", func() bool {
		for _, w := range c.Workers {
			ds, _, _ := w.Store().Stats()
			parts, _ := w.Store().ShuffleParts()
			if ds > 0 || parts > 0 {
				return false
			}
		}
		return true
	})
}

// OnStep makes f run in the leader's driver after every step of every
// job (nil: nothing); f must return quickly.
func (c *Cluster) OnStep(f func(algorithms.Progress)) {
	if f == nil {
		c.onStep.Store(nil)
		return
	}
	c.onStep.Store(&f)
}

// Leader is the coordinator that leads now, or nil.
func (c *Cluster) Leader() *coordinator.Node {
	for _, n := range c.Coords {
		if n.IsLeader() {
			return n
		}
	}
	return nil
}

// Await polls cond until it holds, failing the test after 20 seconds.
func (c *Cluster) Await(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Close stops every node; closing a node twice is harmless.
func (c *Cluster) Close() {
	for _, w := range c.Workers {
		w.Close()
	}
	for _, n := range c.Coords {
		n.Close()
	}
}

// Client dials coordinator i; the connection closes with the test.
func (c *Cluster) Client(i int) *client.Client {
	c.t.Helper()
	cl, err := client.Dial(context.Background(), c.Coords[i].GRPCAddr())
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

// Run submits a spec through coordinator i, waits for it to succeed and
// returns its result; update, when set, sees every state the job reports.
func (c *Cluster) Run(i int, spec string, update func(*pb.Job)) *pb.JobResult {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := c.Client(i)
	job, err := cl.Submit(ctx, []byte(spec))
	if err != nil {
		c.t.Fatal(err)
	}
	final, err := cl.Wait(ctx, job.Id, update)
	if err != nil {
		c.t.Fatal(err)
	}
	if final.State != pb.JobState_JOB_STATE_SUCCEEDED {
		c.t.Fatalf("job %s ended %s: %s", final.Id, final.State, final.Error)
	}
	res, err := cl.Result(ctx, job.Id)
	if err != nil {
		c.t.Fatal(err)
	}
	return res
}

// TwoGroupsCSV writes n customers (ID, Age, Income, Status) in two
// far-apart groups, even and odd ids, to a CSV file in a temporary
// directory: data whose segments a test knows.
func TwoGroupsCSV(t testing.TB, n int) string {
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
