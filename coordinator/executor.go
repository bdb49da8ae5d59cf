package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
	pb "github.com/cohort/cohort/proto"
)

// ErrNoWorkers means no live worker is left to run a step.
var ErrNoWorkers = errors.New("no live workers")

// clusterExecutor runs steps on workers. Placement is recomputed from the live
// workers before every step, so a joining worker takes its share and a lost
// worker's partitions are reloaded elsewhere at the next step boundary.
type clusterExecutor struct {
	n          *Node
	dataset    string
	spec       partition.Spec
	specJSON   []byte
	partitions int
	codec      algorithms.Codec
	placement  map[int]string // what workers were last told to hold
	lost       map[string]error
	workers    map[string]Worker
	mu         sync.Mutex // guards holds, written by concurrent loads
	// pin, for a shuffle's buckets, is where they must be: the workers
	// that received their parts. A pinned holder gone is errShuffleLost.
	pin map[int]string
	// read, when set, adds up what the workers read from the data's
	// source for this dataset: loads, and a stream's steps.
	read *atomic.Int64
	// dropped: released on the workers already.
	dropped bool
	// holds is the memory each worker said the dataset's partitions take
	// there, as of the last load.
	holds map[string]int64
	// adopt, when set, takes an executor this one made (a regroup's
	// buckets), so that its dataset is counted and dropped with the job's.
	adopt    func(*clusterExecutor)
	regroups int
}

// Shuffle implements algorithms.Shuffler: the step's buckets are placed
// by rendezvous over the live workers and pinned there (shuffle.go), and
// the returned executor runs steps over them.
func (e *clusterExecutor) Shuffle(ctx context.Context, step algorithms.Regroup) (algorithms.Partial, algorithms.Executor, error) {
	job, _, _ := strings.Cut(e.dataset, "/")
	id := shuffleID(job)
	merged, pin, err := e.n.shuffle(ctx, e, step, id, nil)
	if err != nil {
		return nil, nil, err
	}
	bk := step.Bucket()
	sh := &partition.ShuffleSpec{ID: id, Buckets: step.Buckets(), Sources: e.partitions, Kind: bk.Kind, Schema: bk.Schema, Params: bk.Params}
	e.regroups++
	next, err := newClusterExecutor(e.n, fmt.Sprintf("%s/regroup-%d", e.dataset, e.regroups), partition.Spec{Shuffle: sh}, sh.Buckets)
	if err != nil {
		return nil, nil, err
	}
	next.pin, next.read, next.adopt = pin, e.read, e.adopt
	if e.adopt != nil {
		e.adopt(next)
	}
	return merged, next, nil
}

// heldBytes is the memory the dataset takes on the workers in all.
func (e *clusterExecutor) heldBytes() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var n int64
	for _, b := range e.holds {
		n += b
	}
	return n
}

// counted adds what a worker said it read to e.read.
func (e *clusterExecutor) counted(n int64) {
	if e.read != nil {
		e.read.Add(n)
	}
}

func newClusterExecutor(n *Node, dataset string, spec partition.Spec, partitions int) (*clusterExecutor, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encode dataset spec: %w", err)
	}
	return &clusterExecutor{n: n, dataset: dataset, spec: spec, specJSON: b, partitions: partitions,
		codec: n.cfg.Codec, lost: map[string]error{}}, nil
}

// Run implements algorithms.Executor.
func (e *clusterExecutor) Run(ctx context.Context, step algorithms.Step) (algorithms.Partial, error) {
	return e.run(ctx, step, nil)
}

// Scatter runs a scatter step: the workers hand each bucket's parts to the
// holder that owners names (gRPC addresses, by bucket) under the shuffle
// id, and return their partials here.
func (e *clusterExecutor) Scatter(ctx context.Context, step algorithms.Scatter, id string, owners []string) (algorithms.Partial, error) {
	return e.run(ctx, step, &pb.ShuffleTargets{Id: id, Owners: owners})
}

func (e *clusterExecutor) run(ctx context.Context, step algorithms.Step, shuffle *pb.ShuffleTargets) (algorithms.Partial, error) {
	params, err := step.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encode step %s: %w", step.Kind(), err)
	}
	for reloads := 0; ; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := e.place(ctx); err != nil {
			return nil, err
		}
		parts, failed, err := e.runOnce(ctx, step.Kind(), params, shuffle)
		if err != nil {
			return nil, err
		}
		if len(failed) == 0 {
			return algorithms.MergeInOrder(parts)
		}
		for w, ferr := range failed {
			if status.Code(ferr) == codes.FailedPrecondition {
				// The worker lost its partitions (it restarted): load them again.
				if reloads++; reloads > 3 {
					return nil, fmt.Errorf("worker %s keeps losing its partitions: %w", w, ferr)
				}
				e.placement = nil
				continue
			}
			e.n.log.Printf("job %s: worker %s failed during %s, moving its partitions: %v", e.dataset, w, step.Kind(), ferr)
			e.lost[w] = ferr
		}
	}
}

// liveWorkers are the FSM's workers minus those this job saw fail.
func (e *clusterExecutor) liveWorkers() map[string]Worker {
	live := map[string]Worker{}
	e.n.fsm.Read(func(s *State) {
		for name, w := range s.Workers {
			if _, bad := e.lost[name]; !bad {
				live[name] = w
			}
		}
	})
	return live
}

func (e *clusterExecutor) place(ctx context.Context) error {
	live := e.liveWorkers()
	if len(live) == 0 {
		if len(e.lost) == 0 {
			return ErrNoWorkers
		}
		var msgs []string
		for _, w := range slices.Sorted(maps.Keys(e.lost)) {
			msgs = append(msgs, fmt.Sprintf("%s: %v", w, e.lost[w]))
		}
		return fmt.Errorf("%w: every worker failed (%v)", ErrNoWorkers, msgs)
	}
	placement := e.pin
	if placement != nil {
		for _, id := range slices.Sorted(maps.Keys(placement)) {
			if _, ok := live[placement[id]]; !ok {
				return fmt.Errorf("%w: %s held bucket %d of %s", errShuffleLost, placement[id], id, e.dataset)
			}
		}
	} else {
		var err error
		if placement, err = partition.Place(e.partitions, slices.Sorted(maps.Keys(live))); err != nil {
			return err
		}
	}
	if maps.Equal(placement, e.placement) && maps.EqualFunc(live, e.workers, func(a, b Worker) bool { return a == b }) {
		return nil
	}
	byWorker := groupByWorker(placement)
	var mu sync.Mutex
	failed := map[string]error{}
	// What each worker holds of the dataset, as of this placement: a
	// worker that lost its partitions holds none of it.
	holds := map[string]int64{}
	var wg sync.WaitGroup
	for name, ids := range byWorker {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := e.client(live[name]).LoadPartitions(ctx, &pb.LoadPartitionsRequest{
				Dataset: e.dataset, SpecJson: e.specJSON, Partitions: ids, Exclusive: true})
			if err == nil {
				e.counted(resp.BytesRead)
				mu.Lock()
				holds[name] = resp.Bytes
				mu.Unlock()
			}
			if err != nil {
				mu.Lock()
				failed[name] = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for name, err := range failed {
		if !workerFault(err) {
			return fmt.Errorf("load partitions on worker %s: %w", name, err)
		}
		e.lost[name] = err
	}
	if len(failed) > 0 {
		return e.place(ctx)
	}
	e.placement, e.workers = placement, live
	e.mu.Lock()
	e.holds = holds
	e.mu.Unlock()
	if _, err := e.n.apply(cmdSetPlacement, setPlacement{ID: e.dataset, Spec: e.spec, Partitions: e.partitions, Placement: placement}); err != nil {
		return fmt.Errorf("record placement: %w", err)
	}
	return nil
}

// runOnce asks every worker for its partitions' partials. Workers that fail
// are returned separately so the caller can re-place and retry.
func (e *clusterExecutor) runOnce(ctx context.Context, kind string, params []byte, shuffle *pb.ShuffleTargets) ([]algorithms.Partial, map[string]error, error) {
	byWorker := groupByWorker(e.placement)
	parts := make([]algorithms.Partial, e.partitions)
	var mu sync.Mutex
	failed := map[string]error{}
	var fatal error
	var wg sync.WaitGroup
	stepCtx, stop := context.WithCancel(ctx)
	defer stop()
	cancels := map[string]context.CancelCauseFunc{}
	rpcCtx := map[string]context.Context{}
	for name := range byWorker {
		rpcCtx[name], cancels[name] = context.WithCancelCause(stepCtx)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.cancelDeparted(stepCtx, cancels)
	}()
	var running sync.WaitGroup
	for name, ids := range byWorker {
		running.Add(1)
		go func() {
			defer running.Done()
			wctx := rpcCtx[name]
			resp, err := e.client(e.workers[name]).RunStep(wctx, &pb.RunStepRequest{Dataset: e.dataset, Partitions: ids, Kind: kind, Params: params, Shuffle: shuffle})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				_, peerFault := unreachablePeer(err)
				if cause := context.Cause(wctx); errors.Is(cause, errWorkerLeft) && ctx.Err() == nil {
					failed[name] = cause
				} else if !peerFault && (workerFault(err) || status.Code(err) == codes.FailedPrecondition) && ctx.Err() == nil {
					failed[name] = err
				} else if fatal == nil {
					fatal = fmt.Errorf("worker %s: step %s: %w", name, kind, err)
				}
				return
			}
			e.counted(resp.BytesRead)
			for _, pp := range resp.Partials {
				if pp.Partition < 0 || int(pp.Partition) >= e.partitions {
					fatal = fmt.Errorf("worker %s returned partition %d of %d", name, pp.Partition, e.partitions)
					return
				}
			}
			// Decoding is the coordinator's share of a step: on all its
			// cores, outside the lock; merging stays in partition order.
			mu.Unlock()
			decoded := make([]algorithms.Partial, len(resp.Partials))
			var dg errgroup.Group
			dg.SetLimit(runtime.GOMAXPROCS(0))
			for i, pp := range resp.Partials {
				dg.Go(func() error {
					if err := ctx.Err(); err != nil {
						return err // the job is being given up: its partials are not needed
					}
					p, err := e.codec.DecodePartial(kind, pp.Data)
					if err != nil {
						return fmt.Errorf("worker %s: decode %s partial of partition %d: %w", name, kind, pp.Partition, err)
					}
					decoded[i] = p
					return nil
				})
			}
			derr := dg.Wait()
			mu.Lock()
			if derr != nil {
				if fatal == nil {
					fatal = derr
				}
				return
			}
			for i, pp := range resp.Partials {
				parts[pp.Partition] = decoded[i]
			}
		}()
	}
	running.Wait()
	stop()
	wg.Wait()
	if fatal != nil {
		return nil, nil, fatal
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if len(failed) == 0 {
		for id, p := range parts {
			if p == nil {
				return nil, nil, fmt.Errorf("step %s: no partial for partition %d", kind, id)
			}
		}
	}
	return parts, failed, nil
}

// errWorkerLeft cancels a step on a worker that gossip has declared gone:
// a machine that vanished without closing its connections would otherwise
// hold the step until TCP gives up.
var errWorkerLeft = errors.New("worker left the cluster during the step")

// cancelDeparted cancels the step on any worker that leaves the FSM's
// worker list while the step runs, until ctx ends.
func (e *clusterExecutor) cancelDeparted(ctx context.Context, cancels map[string]context.CancelCauseFunc) {
	for {
		changed := e.n.fsm.Changed()
		e.n.fsm.Read(func(s *State) {
			for name, cancel := range cancels {
				if _, ok := s.Workers[name]; !ok {
					cancel(errWorkerLeft)
				}
			}
		})
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// drop releases the dataset on every worker that may hold it.
func (e *clusterExecutor) drop(ctx context.Context) {
	for _, w := range e.liveWorkers() {
		if _, err := e.client(w).DropDataset(ctx, &pb.DropDatasetRequest{Dataset: e.dataset}); err != nil {
			e.n.log.Printf("drop dataset %s on %s: %v", e.dataset, w.Name, err)
		}
	}
	if _, err := e.n.apply(cmdDropDataset, jobRef{ID: e.dataset}); err != nil {
		e.n.log.Printf("forget dataset %s: %v", e.dataset, err)
	}
}

func (e *clusterExecutor) client(w Worker) pb.WorkerClient { return e.n.pool.Worker(w.GRPCAddr) }

// workerFault tells a worker that cannot be reached from a step that failed
// on it. A worker that could not reach a shuffle's peer answers
// Unavailable too, but names the peer (unreachablePeer): the step fails, and
// the shuffle is run again without the peer.
func workerFault(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
		return true
	}
	return false
}

func groupByWorker(placement map[int]string) map[string][]int32 {
	out := map[string][]int32{}
	for id, w := range placement {
		out[w] = append(out[w], int32(id))
	}
	for _, ids := range out {
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	}
	return out
}
