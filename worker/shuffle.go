package worker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/failpoint"
	"github.com/cohort/cohort/partition"
	pb "github.com/cohort/cohort/proto"
)

// pushTimeout bounds one push: a peer that takes this long to accept a
// few megabytes is not working.
const pushTimeout = 2 * time.Minute

// scatter runs a scatter step on one partition and hands its parts to the
// holders of their buckets; the partial goes to the coordinator.
func (s *server) scatter(ctx context.Context, step algorithms.Scatter, t *pb.ShuffleTargets, b *partition.Block) (algorithms.Partial, error) {
	p, parts, err := step.Scatter(b)
	if err != nil {
		return nil, err
	}
	if len(parts) != len(t.Owners) {
		return nil, fmt.Errorf("%d parts for %d buckets", len(parts), len(t.Owners))
	}
	if err := s.deliver(ctx, t, b.ID, parts); err != nil {
		return nil, err
	}
	return p, s.failpoints.Hit(failpoint.MidShuffle, failpoint.Event{Node: s.name, Step: step.Kind(), Shuffle: t.Id, Partition: b.ID})
}

// deliver hands a source partition's parts to the holders of their
// buckets: this worker's own into its inbox, the others' by PushParts,
// one call per holder, in parallel.
func (s *server) deliver(ctx context.Context, t *pb.ShuffleTargets, source int, parts [][]byte) error {
	byOwner := map[string][]*pb.BucketPart{}
	for b, data := range parts {
		owner := t.Owners[b]
		if owner == s.self {
			if err := s.store.inbox.Put(t.Id, b, source, data); err != nil {
				return err
			}
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

// peerError is a scatter step's failure to hand parts to a bucket's
// holder: the holder's fault, not this worker's. toStatus turns it into
// the ErrorInfo the coordinator acts on.
type peerError struct {
	peer string
	err  error
}

func (e *peerError) Error() string { return e.err.Error() }
func (e *peerError) Unwrap() error { return e.err }

// status is the error as the coordinator reads it.
func (e *peerError) status() error {
	st := status.New(codes.Unavailable, e.err.Error())
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: pb.ReasonPeerUnreachable, Metadata: map[string]string{"peer": e.peer}}); err == nil {
		st = d
	}
	return st.Err()
}

// push sends parts to one peer. Only a peer that cannot be reached is
// blamed; one that answers with an error fails the step as any error does.
func (s *server) push(step context.Context, owner string, req *pb.PushPartsRequest) error {
	ctx, cancel := context.WithTimeout(step, pushTimeout)
	defer cancel()
	_, err := s.peers.Worker(owner).PushParts(ctx, req)
	if err == nil {
		return nil
	}
	if err := step.Err(); err != nil {
		return err // the step itself was cancelled
	}
	err = fmt.Errorf("push shuffle %s parts of partition %d to %s: %w", req.Shuffle, req.Source, owner, err)
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return &peerError{peer: owner, err: err}
	}
	return err
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
		if err := s.store.inbox.Put(req.Shuffle, int(p.Bucket), int(req.Source), p.Data); err != nil {
			return nil, status.Error(codes.FailedPrecondition, err.Error())
		}
	}
	return &pb.PushPartsResponse{}, nil
}
