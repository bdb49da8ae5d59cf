package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/conns"
	"github.com/cohort/cohort/failpoint"
	"github.com/cohort/cohort/gossip"
	pb "github.com/cohort/cohort/proto"
	"github.com/cohort/cohort/upload"
)

// Config is one worker's configuration.
type Config struct {
	Name       string // unique gossip name; defaults to the gRPC address
	GRPCAddr   string // host:port; port 0 picks one
	GossipAddr string // host:port; port 0 picks one
	// Join lists gossip addresses of cluster members. When empty, Coordinator
	// (a coordinator's client API address) is asked for them.
	Join        []string
	Coordinator string
	// JoinTimeout bounds how long Start tries to reach the cluster.
	JoinTimeout time.Duration
	Cores       int // goroutines for steps and loads; defaults to GOMAXPROCS
	MemoryBytes int64
	Codec       algorithms.Codec
	Log         io.Writer
	// Failpoints, in tests and chaos runs, are places where something can
	// be made to happen (package failpoint); nil in production.
	Failpoints *failpoint.Set
	// DenseBlocks keeps prepared blocks dense rather than packed
	// (partition.Env.Dense), in tests that hold packing to the same
	// results.
	DenseBlocks bool
}

// keepalivePolicy lets the coordinator and peers ping every few seconds to
// notice a dead host; gRPC's default policy would answer such pings with
// GOAWAY.
var keepalivePolicy = keepalive.EnforcementPolicy{MinTime: conns.KeepaliveMinTime}

// Node is a running worker.
type Node struct {
	cfg   Config
	log   *log.Logger
	store *Store
	peers *conns.Pool // other workers and coordinators
	// uploads are the uploaded files this worker's partitions read.
	uploads *upload.Store
	grpc    *grpc.Server
	lis     net.Listener
	gossip  *memberlist.Memberlist
	// gossipMu guards gossip against readers other than Start and
	// shutdown: an upload fetch may look for coordinators while Start joins.
	gossipMu sync.Mutex
	done     chan struct{}

	stopOnce sync.Once
}

// Start serves the worker API and joins the cluster's gossip pool. It fails,
// rather than hang, when the cluster cannot be reached within JoinTimeout.
func Start(ctx context.Context, cfg Config) (n *Node, err error) {
	if cfg.Codec == nil {
		return nil, errors.New("worker: a codec is required")
	}
	if cfg.Cores <= 0 {
		cfg.Cores = runtime.GOMAXPROCS(0)
	}
	if cfg.MemoryBytes == 0 {
		cfg.MemoryBytes = TotalMemory()
	}
	if cfg.JoinTimeout == 0 {
		cfg.JoinTimeout = 30 * time.Second
	}
	if len(cfg.Join) == 0 && cfg.Coordinator == "" {
		return nil, errors.New("worker: give --coordinator ADDR or --join GOSSIP_ADDR")
	}
	out := cfg.Log
	if out == nil {
		out = io.Discard
	}
	n = &Node{cfg: cfg, store: NewStore(cfg.Cores), peers: conns.NewPool(), done: make(chan struct{})}
	n.store.dense = cfg.DenseBlocks
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
		return nil, fmt.Errorf("worker: listen on %s: %w", cfg.GRPCAddr, err)
	}
	if cfg.Name == "" {
		cfg.Name = "worker-" + n.lis.Addr().String()
		n.cfg.Name = cfg.Name
	}
	n.log = log.New(out, cfg.Name+": ", log.LstdFlags|log.Lmicroseconds)
	n.grpc = grpc.NewServer(grpc.MaxRecvMsgSize(conns.MaxMsg), grpc.MaxSendMsgSize(conns.MaxMsg), grpc.KeepaliveEnforcementPolicy(keepalivePolicy))
	pb.RegisterWorkerServer(n.grpc, &server{name: cfg.Name, cores: cfg.Cores, memory: cfg.MemoryBytes,
		store: n.store, codec: cfg.Codec, parallel: cfg.Cores, self: n.GRPCAddr(), peers: n.peers, failpoints: cfg.Failpoints})
	go func() {
		defer close(n.done)
		if err := n.grpc.Serve(n.lis); err != nil {
			n.log.Printf("worker API stopped: %v", err)
		}
	}()

	seeds := cfg.Join
	if len(seeds) == 0 {
		seeds, err = discover(ctx, cfg.Coordinator, cfg.JoinTimeout)
		if err != nil {
			return nil, err
		}
	}
	g, err := gossip.Start(gossip.Config{Name: cfg.Name, Addr: cfg.GossipAddr, Log: out,
		Meta: gossip.Meta{Role: gossip.RoleWorker, GRPCAddr: n.GRPCAddr(), Cores: cfg.Cores, MemoryBytes: cfg.MemoryBytes}})
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	n.gossipMu.Lock()
	n.gossip = g
	n.gossipMu.Unlock()
	if _, err := n.gossip.Join(seeds); err != nil {
		return nil, fmt.Errorf("worker: join gossip at %v: %w", seeds, err)
	}
	n.log.Printf("serving on %s, gossiping on %s, %d cores", n.GRPCAddr(), gossip.Addr(n.gossip), cfg.Cores)
	return n, nil
}

// discover asks a coordinator where the gossip pool is.
func discover(ctx context.Context, coord string, timeout time.Duration) ([]string, error) {
	conn, err := grpc.NewClient(coord, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("worker: coordinator address %q: %w", coord, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := pb.NewCoordinatorClient(conn).ClusterStatus(ctx, &pb.ClusterStatusRequest{}, grpc.WaitForReady(true))
	if err != nil {
		return nil, fmt.Errorf("worker: cannot reach coordinator at %s within %s: %w", coord, timeout, err)
	}
	if len(resp.GossipAddrs) == 0 {
		return nil, fmt.Errorf("worker: coordinator at %s advertised no gossip address", coord)
	}
	return resp.GossipAddrs, nil
}

// GRPCAddr is the worker API's bound address.
func (n *Node) GRPCAddr() string { return n.lis.Addr().String() }

// Name is the worker's gossip name.
func (n *Node) Name() string { return n.cfg.Name }

// Store exposes the partition store (stats for benchmarks).
func (n *Node) Store() *Store { return n.store }

// Close leaves the gossip pool gracefully, so the coordinator re-places at
// once instead of waiting for failure detection, then stops serving.
func (n *Node) Close() error { return n.shutdown(true) }

// Kill stops the worker abruptly, without leaving gossip: tests use it to
// stand for a crashed process, and an embedded cluster, whose nodes all
// stop together, to stop without waiting on gossip.
func (n *Node) Kill() { _ = n.shutdown(false) }

// shutdown runs once, whichever of Close and Kill comes first.
func (n *Node) shutdown(leave bool) error {
	var err error
	n.stopOnce.Do(func() {
		if n.gossip != nil {
			if leave {
				_ = n.gossip.Leave(2 * time.Second)
			}
			err = n.gossip.Shutdown()
		}
		if n.grpc != nil {
			n.grpc.Stop()
			<-n.done
		}
		n.peers.Close()
		if n.uploads != nil {
			_ = os.RemoveAll(n.uploads.Dir())
		}
	})
	return err
}
