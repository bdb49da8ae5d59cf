package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/conns"
	"github.com/cohort/cohort/failpoint"
	"github.com/cohort/cohort/gossip"
	pb "github.com/cohort/cohort/proto"
	"github.com/cohort/cohort/upload"
)

// Config is one coordinator's configuration.
type Config struct {
	ID         string // Raft server id; unique in the cluster
	DataDir    string // Raft log, stable store and snapshots
	RaftAddr   string // host:port for Raft; port 0 picks one
	GRPCAddr   string // host:port for the client API; port 0 picks one
	GossipAddr string // host:port for memberlist; port 0 picks one
	// Join is the client API address of a running coordinator; empty means
	// bootstrap a new single-voter cluster (unless DataDir already holds one).
	Join string
	// MaxUploadBytes bounds a file a client uploads (0: DefaultMaxUpload;
	// negative: no bound).
	MaxUploadBytes int64
	// WorkerWait is how long a job waits for a first worker before failing.
	WorkerWait time.Duration
	// CheckpointEvery is the least time between two committed checkpoints of
	// a running job (default 100ms; negative commits after every step). A
	// new leader resumes from the last one and repeats at most this much
	// work, which is deterministic, so the result is the same; committing
	// every step of a fast job would spend more on Raft than on the job.
	CheckpointEvery time.Duration
	// OnStep, if set, is called by the driver after every step of every job
	// it drives, committed or not: how an in-process benchmark times each
	// iteration. It must return quickly.
	OnStep func(job string, p algorithms.Progress)
	// Codec decodes partials of every algorithm the cluster runs.
	Codec algorithms.Codec
	// Log receives the node's own messages and Raft's; nil discards them.
	Log io.Writer

	// In-process tests may replace the TCP transport and Bolt stores.
	Transport raft.Transport
	Stores    *Stores
	// FastTimers shortens Raft's timeouts for tests.
	FastTimers bool
	// Solo: this is the only coordinator there will be, in one process
	// with its workers (the embedded cluster of cohort run). With no peer
	// to hear from, the wait before its first election is all Raft's
	// timeouts would cost (a fifth to a third of a second of every cohort
	// run), so they are cut short; and as its workers stop with it, it
	// stops without telling gossip it leaves (waiting for the word to go
	// round took 0.8 s).
	Solo bool
	// Failpoints, in tests and chaos runs, are places where something can
	// be made to happen (package failpoint); nil in production.
	Failpoints *failpoint.Set
}

// Stores are Raft's log, stable and snapshot stores.
type Stores struct {
	Log      raft.LogStore
	Stable   raft.StableStore
	Snapshot raft.SnapshotStore
}

// Node is a running coordinator: Raft member, gossip member, client API server,
// and, while it leads, the job driver.
type Node struct {
	cfg    Config
	log    *log.Logger
	fsm    *FSM
	raft   *raft.Raft
	trans  raft.Transport
	notify chan bool // leadership changes, from raft.Config.NotifyCh
	closer []func() error
	gossip *memberlist.Memberlist
	grpc   *grpc.Server
	lis    net.Listener
	pool   *conns.Pool
	// uploads holds the data files clients sent (cohort submit --upload).
	uploads *upload.Store

	closeOnce sync.Once
	closeErr  error

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	leaderMu     sync.Mutex
	leaderCancel context.CancelFunc
}

// Start brings a coordinator up. It returns once Raft, gossip and the API are
// serving; leadership and joining finish in the background.
func Start(cfg Config) (n *Node, err error) {
	if cfg.ID == "" {
		return nil, errors.New("coordinator: an id is required")
	}
	if cfg.Codec == nil {
		return nil, errors.New("coordinator: a codec is required")
	}
	if cfg.CheckpointEvery == 0 {
		cfg.CheckpointEvery = 100 * time.Millisecond
	}
	if cfg.MaxUploadBytes == 0 {
		cfg.MaxUploadBytes = DefaultMaxUpload
	}
	if cfg.WorkerWait == 0 {
		cfg.WorkerWait = 30 * time.Second
	}
	out := cfg.Log
	if out == nil {
		out = io.Discard
	}
	ctx, cancel := context.WithCancel(context.Background())
	n = &Node{cfg: cfg, log: log.New(out, "coordinator "+cfg.ID+": ", log.LstdFlags|log.Lmicroseconds),
		fsm: NewFSM(), pool: conns.NewPool(), ctx: ctx, cancel: cancel}
	// n is nil by the time a failing return runs the deferred call.
	self := n
	defer func() {
		if err != nil {
			_ = self.Close()
		}
	}()

	if err := n.openUploads(); err != nil {
		return nil, err
	}
	n.lis, err = net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return nil, fmt.Errorf("coordinator: listen for API on %s: %w", cfg.GRPCAddr, err)
	}
	// Workers and other coordinators fetching uploads ping as the pool does.
	n.grpc = grpc.NewServer(grpc.MaxRecvMsgSize(conns.MaxMsg), grpc.MaxSendMsgSize(conns.MaxMsg),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: conns.KeepaliveMinTime}))
	pb.RegisterCoordinatorServer(n.grpc, &api{n: n})

	events := make(chan memberlist.NodeEvent, 256)
	n.gossip, err = gossip.Start(gossip.Config{
		Name: cfg.ID, Addr: cfg.GossipAddr, Log: out,
		Meta:   gossip.Meta{Role: gossip.RoleCoordinator, GRPCAddr: n.GRPCAddr()},
		Events: &memberlist.ChannelEventDelegate{Ch: events},
	})
	if err != nil {
		return nil, fmt.Errorf("coordinator: %w", err)
	}

	if err := n.startRaft(out); err != nil {
		return nil, err
	}
	// Serve only once Raft exists: every RPC reads it. Clients that connect
	// earlier wait in the listener's backlog.
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.grpc.Serve(n.lis); err != nil {
			n.log.Printf("API server stopped: %v", err)
		}
	}()
	n.wg.Add(3)
	go n.watchLeadership()
	go n.watchMembers(events)
	go n.syncUploads()
	if cfg.Join != "" {
		n.wg.Add(1)
		go n.joinCluster()
	}
	return n, nil
}

func (n *Node) startRaft(out io.Writer) error {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.cfg.ID)
	rc.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Output: out, Level: hclog.Warn})
	if n.cfg.FastTimers {
		rc.HeartbeatTimeout = 200 * time.Millisecond
		rc.ElectionTimeout = 200 * time.Millisecond
		rc.LeaderLeaseTimeout = 100 * time.Millisecond
		rc.CommitTimeout = 5 * time.Millisecond
	}
	if n.cfg.Solo {
		rc.HeartbeatTimeout = 10 * time.Millisecond
		rc.ElectionTimeout = 10 * time.Millisecond
		rc.LeaderLeaseTimeout = 10 * time.Millisecond
	}
	// Checkpoints are committed up to ten times a second; snapshot often
	// enough that a restart does not replay a long tail of superseded ones.
	rc.SnapshotThreshold = 1024
	rc.SnapshotInterval = 30 * time.Second
	n.notify = make(chan bool, 16)
	rc.NotifyCh = n.notify

	stores := n.cfg.Stores
	if stores == nil {
		if n.cfg.DataDir == "" {
			return errors.New("coordinator: --data-dir is required")
		}
		if err := os.MkdirAll(n.cfg.DataDir, 0o755); err != nil {
			return fmt.Errorf("coordinator: create data dir: %w", err)
		}
		bolt, err := raftboltdb.NewBoltStore(filepath.Join(n.cfg.DataDir, "raft.db"))
		if err != nil {
			return fmt.Errorf("coordinator: open raft store in %s: %w", n.cfg.DataDir, err)
		}
		n.closer = append(n.closer, bolt.Close)
		snaps, err := raft.NewFileSnapshotStore(n.cfg.DataDir, 2, out)
		if err != nil {
			return fmt.Errorf("coordinator: open snapshot store: %w", err)
		}
		stores = &Stores{Log: bolt, Stable: bolt, Snapshot: snaps}
	}
	trans := n.cfg.Transport
	if trans == nil {
		addr, err := net.ResolveTCPAddr("tcp", n.cfg.RaftAddr)
		if err != nil {
			return fmt.Errorf("coordinator: raft address %q: %w", n.cfg.RaftAddr, err)
		}
		tcp, err := raft.NewTCPTransport(n.cfg.RaftAddr, advertisable(addr), 3, 10*time.Second, out)
		if err != nil {
			return fmt.Errorf("coordinator: raft transport on %s: %w", n.cfg.RaftAddr, err)
		}
		n.closer = append(n.closer, tcp.Close)
		trans = tcp
	}
	r, err := raft.NewRaft(rc, n.fsm, stores.Log, stores.Stable, stores.Snapshot, trans)
	if err != nil {
		return fmt.Errorf("coordinator: start raft: %w", err)
	}
	n.raft, n.trans = r, trans
	if n.cfg.Join != "" {
		return nil
	}
	has, err := raft.HasExistingState(stores.Log, stores.Stable, stores.Snapshot)
	if err != nil {
		return fmt.Errorf("coordinator: inspect raft state: %w", err)
	}
	if !has {
		cf := r.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{ID: rc.LocalID, Address: trans.LocalAddr()}}})
		if err := cf.Error(); err != nil {
			return fmt.Errorf("coordinator: bootstrap raft: %w", err)
		}
	}
	return nil
}

// advertisable returns nil for a port-0 or unspecified address so Raft
// advertises the address it actually bound.
func advertisable(a *net.TCPAddr) net.Addr {
	if a.Port == 0 || a.IP == nil || a.IP.IsUnspecified() {
		return nil
	}
	return a
}

// GRPCAddr is the client API's bound address.
func (n *Node) GRPCAddr() string { return n.lis.Addr().String() }

// GossipAddr is where workers join.
func (n *Node) GossipAddr() string { return gossip.Addr(n.gossip) }

// RaftAddr is the bound Raft address.
func (n *Node) RaftAddr() string { return string(n.trans.LocalAddr()) }

// FSM exposes the replicated state for reading.
func (n *Node) FSM() *FSM { return n.fsm }

// IsLeader reports whether this node leads.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// ID is the node's Raft server id.
func (n *Node) ID() string { return n.cfg.ID }

// Raft exposes the raft instance (tests and status).
func (n *Node) Raft() *raft.Raft { return n.raft }

// Close stops the node: leaves gossip, stops the API and Raft. Calls
// after the first return its error.
func (n *Node) Close() error {
	n.closeOnce.Do(func() { n.closeErr = n.close() })
	return n.closeErr
}

func (n *Node) close() error {
	n.cancel()
	var errs []error
	if n.gossip != nil {
		if !n.cfg.Solo {
			_ = n.gossip.Leave(time.Second)
		}
		errs = append(errs, n.gossip.Shutdown())
	}
	if n.grpc != nil {
		n.grpc.Stop()
	}
	if n.raft != nil {
		errs = append(errs, n.raft.Shutdown().Error())
	}
	n.wg.Wait()
	for _, c := range n.closer {
		errs = append(errs, c())
	}
	n.pool.Close()
	return errors.Join(errs...)
}

// apply proposes a command; only the leader can.
func (n *Node) apply(t CommandType, body any) (any, error) {
	return n.applyAsync(t, body)()
}

// applyAsync starts committing a command and returns a function that waits
// for the outcome, so a caller can overlap the commit with other work.
func (n *Node) applyAsync(t CommandType, body any) func() (any, error) {
	if err := n.cfg.Failpoints.Hit(failpoint.BeforeApply, failpoint.Event{Node: n.cfg.ID, Command: t.String()}); err != nil {
		return func() (any, error) { return nil, err }
	}
	b, err := encodeCommand(t, body)
	if err != nil {
		return func() (any, error) { return nil, err }
	}
	f := n.raft.Apply(b, 10*time.Second)
	return func() (any, error) {
		if err := f.Error(); err != nil {
			if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
				return nil, fmt.Errorf("%w: %v", ErrNotLeader, err)
			}
			return nil, fmt.Errorf("raft apply: %w", err)
		}
		res, _ := f.Response().(applyResult)
		return res.value, res.err
	}
}

// ErrNotLeader means the request must go to the leader.
var ErrNotLeader = errors.New("this coordinator is not the leader")
