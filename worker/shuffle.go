package worker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	pb "github.com/cohort/cohort/proto"
)

// pushTimeout bounds one push: a peer that takes this long to accept a
// few megabytes is not working.
const pushTimeout = 2 * time.Minute

// peers keeps one connection per other worker, for pushing parts.
type peers struct {
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

func newPeers() *peers { return &peers{conns: map[string]*grpc.ClientConn{}} }

func (p *peers) client(addr string) (pb.WorkerClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.conns[addr]
	if !ok {
		var err error
		c, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(1<<30)),
			grpc.WithInitialWindowSize(8<<20), grpc.WithInitialConnWindowSize(8<<20),
			grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second}))
		if err != nil {
			return nil, err
		}
		p.conns[addr] = c
	}
	return pb.NewWorkerClient(c), nil
}

func (p *peers) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = map[string]*grpc.ClientConn{}
}

// deliver hands a source partition's parts to the holders of their
// buckets: this worker's own into its inbox, the others' by PushParts,
// one call per holder, in parallel.
func (s *server) deliver(ctx context.Context, t *pb.ShuffleTargets, source int, parts [][]byte) error {
	byOwner := map[string][]*pb.BucketPart{}
	for b, data := range parts {
		owner := t.Owners[b]
		if owner == s.self {
			s.store.inbox.Put(t.Id, b, source, data)
			continue
		}
		byOwner[owner] = append(byOwner[owner], &pb.BucketPart{Bucket: int32(b), Data: data})
	}
	errs := make(chan error, len(byOwner))
	for _, owner := range slices.Sorted(maps.Keys(byOwner)) {
		go func() {
			errs <- s.push(ctx, owner, &pb.PushPartsRequest{Shuffle: t.Id, Source: int32(source), Parts: byOwner[owner]})
		}()
	}
	var first error
	for range byOwner {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// push sends parts to one peer; a failure names the peer, so that the
// coordinator blames it and not this worker.
func (s *server) push(step context.Context, owner string, req *pb.PushPartsRequest) error {
	ctx, cancel := context.WithTimeout(step, pushTimeout)
	defer cancel()
	c, err := s.peers.client(owner)
	if err == nil {
		_, err = c.PushParts(ctx, req)
	}
	if err == nil {
		return nil
	}
	if err := step.Err(); err != nil {
		return err // the step itself was cancelled
	}
	st := status.New(codes.Internal, fmt.Sprintf("push shuffle %s parts of partition %d to %s: %v", req.Shuffle, req.Source, owner, err))
	if d, derr := st.WithDetails(&errdetails.ErrorInfo{Reason: pb.ReasonPeerUnreachable, Metadata: map[string]string{"peer": owner}}); derr == nil {
		st = d
	}
	return st.Err()
}

// PushParts implements the Worker service: another worker's parts of the
// buckets this one holds.
func (s *server) PushParts(ctx context.Context, req *pb.PushPartsRequest) (*pb.PushPartsResponse, error) {
	if req.Shuffle == "" || req.Source < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "push parts: shuffle %q, source %d", req.Shuffle, req.Source)
	}
	for _, p := range req.Parts {
		if p.Bucket < 0 {
			return nil, status.Errorf(codes.InvalidArgument, "push parts of %s: bucket %d", req.Shuffle, p.Bucket)
		}
		s.store.inbox.Put(req.Shuffle, int(p.Bucket), int(req.Source), p.Data)
	}
	return &pb.PushPartsResponse{}, nil
}
