package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/coordinator"
	"github.com/cohort/cohort/jobspec"
	"github.com/cohort/cohort/partition"
	"github.com/cohort/cohort/worker"
)

// Config shapes the embedded cluster.
type Config struct {
	Workers int // default 1
	// CoresPerWorker defaults to GOMAXPROCS divided among the workers, so an
	// embedded cluster never oversubscribes the machine.
	CoresPerWorker int
	// DataDir holds the coordinator's Raft state; empty means a temporary
	// directory removed by Close.
	DataDir string
	// GRPCAddr is the coordinator's client API address; default 127.0.0.1:0.
	GRPCAddr string
	// Log receives every node's log lines; nil discards them.
	Log io.Writer
	// StartTimeout bounds how long Start waits for leadership and workers.
	StartTimeout time.Duration
	// OnStep is passed to the coordinator (see coordinator.Config).
	OnStep func(job string, p algorithms.Progress)
}

// Cluster is a running embedded cluster.
type Cluster struct {
	Coordinator *coordinator.Node
	Workers     []*worker.Node
	tempDir     string
}

// Start brings up the coordinator, waits until it leads, then starts the
// workers and waits until the FSM lists every one of them, so a job
// submitted next sees the whole cluster.
func Start(ctx context.Context, cfg Config) (c *Cluster, err error) {
	if cfg.Workers == 0 {
		cfg.Workers = 1
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("workers must be at least 1 (got %d)", cfg.Workers)
	}
	if cfg.CoresPerWorker <= 0 {
		cfg.CoresPerWorker = max(1, runtime.GOMAXPROCS(0)/cfg.Workers)
	}
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = "127.0.0.1:0"
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 30 * time.Second
	}
	c = &Cluster{}
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()
	dir := cfg.DataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "cohort-embedded-"); err != nil {
			return nil, fmt.Errorf("embedded cluster: %w", err)
		}
		c.tempDir = dir
	}
	c.Coordinator, err = coordinator.Start(coordinator.Config{
		ID: "embedded", DataDir: dir, Codec: jobspec.Codec(), Log: cfg.Log,
		RaftAddr: "127.0.0.1:0", GRPCAddr: cfg.GRPCAddr, GossipAddr: "127.0.0.1:0",
		WorkerWait: cfg.StartTimeout, FastTimers: true, Solo: true, OnStep: cfg.OnStep,
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	if err := c.await(ctx, func() bool { return c.Coordinator.IsLeader() }); err != nil {
		return nil, fmt.Errorf("embedded coordinator did not become leader: %w", err)
	}
	for i := range cfg.Workers {
		w, err := worker.Start(ctx, worker.Config{
			Name: fmt.Sprintf("worker-%d", i+1), GRPCAddr: "127.0.0.1:0", GossipAddr: "127.0.0.1:0",
			Coordinator: c.Coordinator.GRPCAddr(), Cores: cfg.CoresPerWorker, Codec: jobspec.Codec(), Log: cfg.Log,
			// The workers share this machine: each advertises its share.
			MemoryBytes: worker.TotalMemory() / int64(cfg.Workers),
		})
		if err != nil {
			return nil, err
		}
		c.Workers = append(c.Workers, w)
	}
	err = c.await(ctx, func() bool {
		var n int
		c.Coordinator.FSM().Read(func(s *coordinator.State) { n = len(s.Workers) })
		return n == cfg.Workers
	})
	if err != nil {
		return nil, fmt.Errorf("embedded workers did not all register: %w", err)
	}
	return c, nil
}

// await polls cond until it holds; the FSM change channel alone would miss
// leadership, which is not an FSM change.
func (c *Cluster) await(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.Coordinator.FSM().Changed():
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// Addr is the coordinator's client API address.
func (c *Cluster) Addr() string { return c.Coordinator.GRPCAddr() }

// HeldBlocks returns partitions 0..n-1 of a dataset (a job's id) as the
// workers hold them now, in partition order, so a benchmark can measure the
// very memory a step reads. The blocks alias the workers' stores: read them,
// never write. Workers drop a job's partitions when it ends, so call this
// while the job runs; the returned slice then keeps the blocks alive.
func (c *Cluster) HeldBlocks(dataset string, n int) ([]*partition.Block, error) {
	out := make([]*partition.Block, n)
	for id := range out {
		for _, w := range c.Workers {
			if b, err := w.Store().Blocks(dataset, []int{id}); err == nil {
				out[id] = b[0]
				break
			}
		}
		if out[id] == nil {
			return nil, fmt.Errorf("dataset %s: partition %d: %w", dataset, id, worker.ErrNotLoaded)
		}
	}
	return out, nil
}

// Close stops workers, then the coordinator, then removes temporary state.
func (c *Cluster) Close() error {
	var errs []error
	if c.Coordinator != nil {
		errs = append(errs, c.Coordinator.Close())
	}
	// Every node goes at once: there is no one left for a node to tell it
	// is leaving, and waiting for gossip to carry the word took 0.8 s of
	// every cohort run (the coordinator, Solo, does not wait either).
	for _, w := range c.Workers {
		w.Kill()
	}
	if c.tempDir != "" {
		errs = append(errs, os.RemoveAll(c.tempDir))
	}
	return errors.Join(errs...)
}
