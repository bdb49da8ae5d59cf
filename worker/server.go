package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/conns"
	"github.com/cohort/cohort/failpoint"
	"github.com/cohort/cohort/partition"
	pb "github.com/cohort/cohort/proto"
)

// server implements the Worker gRPC service over a Store.
type server struct {
	pb.UnimplementedWorkerServer
	name     string
	cores    int
	memory   int64
	store    *Store
	codec    algorithms.Codec
	parallel int
	// self is the address this worker advertises: a shuffle's parts for
	// its own buckets go straight to its inbox.
	self       string
	peers      *conns.Pool
	failpoints *failpoint.Set
}

func (s *server) LoadPartitions(ctx context.Context, req *pb.LoadPartitionsRequest) (*pb.LoadPartitionsResponse, error) {
	var spec partition.Spec
	if err := json.Unmarshal(req.SpecJson, &spec); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "dataset %s: decode spec: %v", req.Dataset, err)
	}
	ids := toInts(req.Partitions)
	read, err := s.store.Load(ctx, req.Dataset, spec, ids, req.Exclusive)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &pb.LoadPartitionsResponse{BytesRead: read}
	if spec.Stream {
		return resp, nil // read by each step
	}
	blocks, err := s.store.Blocks(req.Dataset, ids)
	if err != nil {
		return nil, toStatus(err)
	}
	for _, b := range blocks {
		resp.Rows += int64(b.Rows)
		resp.Bytes += b.Bytes()
	}
	return resp, nil
}

// RunStep maps the step over each partition, one goroutine per core, and
// returns one partial per partition: the coordinator merges them in id order,
// which keeps results independent of how partitions are spread.
func (s *server) RunStep(ctx context.Context, req *pb.RunStepRequest) (*pb.RunStepResponse, error) {
	step, err := s.codec.DecodeStep(req.Kind, req.Params)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "decode step %s: %v", req.Kind, err)
	}
	ids := toInts(req.Partitions)
	blocks, err := s.store.Partitions(req.Dataset, ids)
	if err != nil {
		return nil, toStatus(err)
	}
	scatter, isScatter := step.(algorithms.Scatter)
	if isScatter && (req.Shuffle == nil || len(req.Shuffle.Owners) != scatter.Buckets()) {
		return nil, status.Errorf(codes.InvalidArgument, "step %s scatters to %d buckets: name each one's holder", req.Kind, scatter.Buckets())
	}
	// A stream dataset's pieces are read by the step; a held block's bytes
	// were counted when it was loaded.
	streamed := s.store.Streamed(req.Dataset)
	var read atomic.Int64
	out := make([]*pb.PartitionPartial, len(blocks))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.parallel)
	for i, get := range blocks {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			b, err := get(gctx)
			if err != nil {
				return err
			}
			if streamed {
				read.Add(b.BytesRead)
			}
			ev := failpoint.Event{Node: s.name, Step: req.Kind, Dataset: req.Dataset, Partition: b.ID}
			if err := s.failpoints.Hit(failpoint.BeforeMap, ev); err != nil {
				return err
			}
			var p algorithms.Partial
			if isScatter {
				p, err = s.scatter(gctx, scatter, req.Shuffle, b)
			} else {
				p, err = step.Map(b)
			}
			if err != nil {
				return fmt.Errorf("step %s on partition %d: %w", req.Kind, b.ID, err)
			}
			if b.Rereads != nil {
				read.Add(b.Rereads.Swap(0))
			}
			if err := s.failpoints.Hit(failpoint.AfterMap, ev); err != nil {
				return err
			}
			data, err := p.MarshalBinary()
			if err != nil {
				return fmt.Errorf("encode %s partial of partition %d: %w", req.Kind, b.ID, err)
			}
			out[i] = &pb.PartitionPartial{Partition: int32(b.ID), Data: data}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, toStatus(err)
	}
	return &pb.RunStepResponse{Partials: out, BytesRead: read.Load()}, nil
}

func (s *server) DropDataset(ctx context.Context, req *pb.DropDatasetRequest) (*pb.DropDatasetResponse, error) {
	s.store.Drop(req.Dataset)
	return &pb.DropDatasetResponse{}, nil
}

func (s *server) Health(ctx context.Context, _ *pb.HealthRequest) (*pb.HealthResponse, error) {
	ds, parts, bytes := s.store.Stats()
	shuffleParts, shuffleBytes := s.store.inbox.Stats()
	return &pb.HealthResponse{Name: s.name, Cores: int32(s.cores), MemoryBytes: s.memory,
		BytesResident: bytes, Datasets: int32(ds), Partitions: int32(parts),
		ShuffleParts: int32(shuffleParts), ShuffleBytes: shuffleBytes}, nil
}

func toStatus(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, ErrNotLoaded):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, ErrPartsMissing):
		return status.Error(codes.DataLoss, err.Error())
	}
	var pe *peerError
	if errors.As(err, &pe) {
		return pe.status()
	}
	return status.Error(codes.Internal, err.Error())
}

func toInts(ids []int32) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}
