package coordinator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
	pb "github.com/cohort/cohort/proto"
	"github.com/cohort/cohort/results"
)

// Buckets a shuffle's rows are cut into: one a piece, but at least
// minBuckets, so that even data in one file spreads its customers over
// several workers, and at most maxBuckets, because every piece sends a part
// to every bucket (pieces × buckets parts). Either way the count is fixed
// by the data, never by the number of workers.
const (
	minBuckets = 16
	maxBuckets = 1024
)

// bucketsFor is the bucket count of a shuffle of pieces pieces.
func bucketsFor(pieces int) int { return min(max(pieces, minBuckets), maxBuckets) }

// shuffleAttempts bounds how often a shuffle is run again after a bucket's
// holder could not be reached.
const shuffleAttempts = 4

// shuffleID names a run of a job's shuffle on the workers. Each run (a new
// leader, a run again after a lost holder) gets a name of its own, so that
// a late part of an earlier run, pushed by a step that was still going
// when its run ended, cannot land in this one or bring a dropped one back
// (workers refuse parts of a shuffle they dropped).
func shuffleID(job string) string {
	return fmt.Sprintf("%s%s%x", job, partition.ShuffleMark, time.Now().UnixNano())
}

// tallied is a scatter partial that carries what reading files found.
type tallied interface {
	ReadTally() *partition.Tally
}

// shuffleFiles reads file pieces fs (only the named columns) on the
// workers and scatters their rows into the buckets of shuffle id, worker
// to worker, onto the workers pinned (nil: placed afresh). The unreadable
// rows are checked against data.max_rejects, and the data's are written
// to the rejects files. It returns the step's merged partial and the
// workers holding the buckets.
func (r *jobRun) shuffleFiles(fs *partition.FileSet, columns []string, step algorithms.Scatter, id string, pinned map[int]string) (algorithms.Partial, map[int]string, error) {
	spec, path := r.spec, r.spec.Data.Path
	if l, ok := spec.Labels(); ok && fs == r.labelFiles {
		path = l.Path
	}
	// The pieces are streamed: each is read when the scatter runs on it and
	// let go after, so a log far larger than the workers' memory shuffles
	// in the memory of its parts.
	files, err := r.executor(r.job.ID+"/files", partition.Spec{Files: fs, Columns: columns, Stream: true}, len(fs.Pieces))
	if err != nil {
		return nil, nil, err
	}
	defer r.drop(files)
	merged, pin, err := r.n.shuffle(r.ctx, files, step, id, pinned)
	if err != nil {
		return nil, nil, fmt.Errorf("shuffle %s: %w", path, err)
	}
	r.clock.add("read and shuffle")
	t, ok := merged.(tallied)
	if !ok {
		return nil, nil, fmt.Errorf("shuffle %s: %T says nothing of the rows read", path, merged)
	}
	tally := t.ReadTally()
	cfg, _ := spec.PrepareConfig()
	if err := tally.Check(cfg.RejectsAllowed()); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if tally.Rejected > 0 && spec.Output.Dir != "" && fs == r.fileSet {
		step := &results.RejectsStep{Dir: spec.Output.Dir, Offsets: tally.LineOffsets()}
		if _, err := files.Run(r.ctx, step); err != nil {
			return nil, nil, fmt.Errorf("write rejects: %w", err)
		}
		r.clock.add("rejects")
	}
	return merged, pin, nil
}

// shuffle runs a scatter step over ex's partitions, its buckets placed by
// rendezvous over ex's live workers, or on the workers pinned (another
// shuffle's placement, to join it), and returns that placement: datasets
// of the buckets are pinned to it. A holder that cannot be reached is left
// out and the shuffle run again: parts sent again replace the first ones.
// A pinned holder cannot be left out: the buckets it holds are lost.
func (n *Node) shuffle(ctx context.Context, ex *clusterExecutor, step algorithms.Scatter, id string, pinned map[int]string) (algorithms.Partial, map[int]string, error) {
	for attempt := 1; ; attempt++ {
		if err := ex.place(ctx); err != nil {
			return nil, nil, err
		}
		live := ex.liveWorkers()
		placement := pinned
		if placement == nil {
			var err error
			if placement, err = partition.Place(step.Buckets(), slices.Sorted(maps.Keys(live))); err != nil {
				return nil, nil, err
			}
		}
		owners := make([]string, step.Buckets())
		for b, w := range placement {
			if _, ok := live[w]; !ok {
				return nil, nil, fmt.Errorf("bucket %d's holder %s: %w", b, w, errShuffleLost)
			}
			owners[b] = live[w].GRPCAddr
		}
		merged, err := ex.Scatter(ctx, step, id, owners)
		if err == nil {
			return merged, placement, nil
		}
		peer, ok := unreachablePeer(err)
		if !ok || pinned != nil || attempt == shuffleAttempts {
			return nil, nil, err
		}
		for name, w := range live {
			if w.GRPCAddr == peer {
				ex.lost[name] = err
				n.log.Printf("shuffle %s: bucket holder %s unreachable, running the shuffle again without it: %v", id, name, err)
			}
		}
	}
}

// unreachablePeer is the address of the bucket holder a scatter step
// could not reach, if that is why err failed it.
func unreachablePeer(err error) (string, bool) {
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return "", false
	}
	for _, d := range se.GRPCStatus().Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.Reason == pb.ReasonPeerUnreachable {
			return info.Metadata["peer"], true
		}
	}
	return "", false
}

// errShuffleLost means a worker holding a shuffle's buckets is gone.
var errShuffleLost = errors.New("a worker holding shuffled buckets is gone")

// shuffleLost tells an error that lost a shuffle's buckets: a holder left,
// or a bucket was loaded on a worker that does not hold all its parts (it
// restarted). The job runs again from its last checkpoint, shuffle and
// all.
func shuffleLost(err error) bool {
	var se interface{ GRPCStatus() *status.Status }
	return errors.Is(err, errShuffleLost) || errors.As(err, &se) && se.GRPCStatus().Code() == codes.DataLoss
}
