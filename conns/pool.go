package conns

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	pb "github.com/cohort/cohort/proto"
)

// MaxMsg bounds one gRPC message between nodes: partials are per partition
// and small, but sampled rows of k-means‖ on wide data and a shuffle's
// parts can reach megabytes.
const MaxMsg = 1 << 30

// window is the HTTP/2 flow-control window: at 100M rows a step's
// partials are megabytes, and the default 64 KB windows made the sender
// wait on flow-control round trips.
const window = 32 << 20

// KeepaliveMinTime is how often a node's server must let peers ping it,
// for the pool's pings to be accepted.
const KeepaliveMinTime = 5 * time.Second

// Pool is one connection per address, made on first use.
type Pool struct {
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

// NewPool is an empty pool.
func NewPool() *Pool { return &Pool{conns: map[string]*grpc.ClientConn{}} }

// Worker is the worker API at addr.
func (p *Pool) Worker(addr string) pb.WorkerClient { return pb.NewWorkerClient(p.Conn(addr)) }

// Coordinator is the coordinator API at addr.
func (p *Pool) Coordinator(addr string) pb.CoordinatorClient {
	return pb.NewCoordinatorClient(p.Conn(addr))
}

// Conn is the connection to addr. A malformed address gives a connection
// whose every call fails Unavailable, so the caller meets the problem where
// it handles an unreachable node.
func (p *Pool) Conn(addr string) grpc.ClientConnInterface {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.conns[addr]
	if !ok {
		var err error
		c, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMsg), grpc.MaxCallSendMsgSize(MaxMsg)),
			grpc.WithInitialWindowSize(window), grpc.WithInitialConnWindowSize(window),
			grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 2 * KeepaliveMinTime, Timeout: 5 * time.Second}))
		if err != nil {
			return broken{err}
		}
		p.conns[addr] = c
	}
	return c
}

// Close closes every connection; the pool may be used again after.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = map[string]*grpc.ClientConn{}
}

type broken struct{ err error }

func (b broken) Invoke(context.Context, string, any, any, ...grpc.CallOption) error {
	return status.Error(codes.Unavailable, b.err.Error())
}

func (b broken) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Error(codes.Unavailable, b.err.Error())
}
