package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	pb "github.com/cohort/cohort/proto"
	"github.com/cohort/cohort/upload"
)

// DialTimeout bounds how long Dial waits for a coordinator to answer, so an
// unreachable address is an error in seconds, not a hang.
const DialTimeout = 5 * time.Second

// maxRedirects stops a leader hint loop during an election.
const maxRedirects = 5

// Client talks to one coordinator at a time, moving to the leader when told.
type Client struct {
	addr string
	conn *grpc.ClientConn
	api  pb.CoordinatorClient
	// others are the other coordinators' client API addresses, learnt from
	// the cluster's status: where to go when this one stops answering.
	others []string
}

// Dial connects to a coordinator and checks that it answers.
func Dial(ctx context.Context, addr string) (*Client, error) {
	c, err := open(addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	st, err := c.api.ClusterStatus(ctx, &pb.ClusterStatusRequest{})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("cannot reach coordinator at %s: %s", addr, describe(err))
	}
	c.learn(st)
	return c, nil
}

// learn keeps the other coordinators' addresses a status names.
func (c *Client) learn(st *pb.ClusterStatusResponse) {
	for _, s := range st.Servers {
		if s.GrpcAddr != "" && s.GrpcAddr != c.addr && !slices.Contains(c.others, s.GrpcAddr) {
			c.others = append(c.others, s.GrpcAddr)
		}
	}
}

// moveOn switches to another coordinator when the one in use has stopped
// (its host died, or it was shut down): the leader, as the first other
// coordinator that answers names it, or else that coordinator.
func (c *Client) moveOn(ctx context.Context) bool { return c.moveTo(ctx, c.others) }

// moveTo switches to the first of addrs that answers, preferring the
// leader it names.
func (c *Client) moveTo(ctx context.Context, addrs []string) bool {
	for _, addr := range addrs {
		next, err := open(addr)
		if err != nil {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, DialTimeout)
		st, err := next.api.ClusterStatus(sctx, &pb.ClusterStatusRequest{})
		cancel()
		if err != nil {
			next.Close()
			continue
		}
		others := append(slices.DeleteFunc(slices.Clone(c.others), func(a string) bool { return a == addr }), c.addr)
		c.conn.Close()
		*c = *next
		c.others = others
		c.learn(st)
		if l := st.LeaderGrpcAddr; l != "" && l != c.addr {
			c.moveTo(ctx, []string{l})
		}
		return true
	}
	return false
}

func open(addr string) (*Client, error) {
	if addr == "" {
		return nil, errors.New("no coordinator address given")
	}
	// Keepalive pings notice a coordinator whose host died without
	// closing the connection, so a watch moves on instead of waiting on it.
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<30)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second}))
	if err != nil {
		return nil, fmt.Errorf("coordinator address %q: %w", addr, err)
	}
	return &Client{addr: addr, conn: conn, api: pb.NewCoordinatorClient(conn)}, nil
}

// Addr is the coordinator currently in use.
func (c *Client) Addr() string { return c.addr }

// Close releases the connection.
func (c *Client) Close() error { return c.conn.Close() }

// onLeader runs a write, following NOT_LEADER hints to the leader.
func onLeader[T any](ctx context.Context, c *Client, call func(pb.CoordinatorClient) (T, error)) (T, error) {
	for i := 0; ; i++ {
		v, err := call(c.api)
		hint := pb.LeaderHint(err)
		if err == nil || hint == "" || hint == c.addr || i == maxRedirects {
			return v, wrap(err)
		}
		next, oerr := open(hint)
		if oerr != nil {
			return v, wrap(err)
		}
		c.conn.Close()
		others := append(slices.DeleteFunc(slices.Clone(c.others), func(a string) bool { return a == hint }), c.addr)
		*c = *next
		c.others = others
	}
}

// Submit sends a job spec and returns the queued job.
func (c *Client) Submit(ctx context.Context, specYAML []byte) (*pb.Job, error) {
	return onLeader(ctx, c, func(api pb.CoordinatorClient) (*pb.Job, error) {
		return api.SubmitJob(ctx, &pb.SubmitJobRequest{SpecYaml: string(specYAML)})
	})
}

// Upload streams a local data file to the leader, which keeps it for jobs
// whose nodes cannot see the client's disk, and returns the URI a spec's
// data.path names it by.
func (c *Client) Upload(ctx context.Context, path string) (*pb.UploadFileResponse, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("upload %s: a folder; upload sends one file (a folder must be at a path every node sees)", path)
	}
	return onLeader(ctx, c, func(api pb.CoordinatorClient) (*pb.UploadFileResponse, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("upload: %w", err)
		}
		defer f.Close()
		stream, err := api.UploadFile(ctx)
		if err != nil {
			return nil, err
		}
		err = upload.Send(f, filepath.Base(path), stream.Send)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("upload %s: %w", path, err)
		}
		// On io.EOF the coordinator ended the stream early (a follower
		// answering NOT_LEADER): its answer says why.
		return stream.CloseAndRecv()
	})
}

// Cancel stops a job.
func (c *Client) Cancel(ctx context.Context, id string) (*pb.Job, error) {
	return onLeader(ctx, c, func(api pb.CoordinatorClient) (*pb.Job, error) {
		return api.CancelJob(ctx, &pb.GetJobRequest{Id: id})
	})
}

// Job returns a job's current state.
func (c *Client) Job(ctx context.Context, id string) (*pb.Job, error) {
	j, err := c.api.GetJob(ctx, &pb.GetJobRequest{Id: id})
	return j, wrap(err)
}

// Jobs lists every job, oldest first.
func (c *Client) Jobs(ctx context.Context) ([]*pb.Job, error) {
	r, err := c.api.ListJobs(ctx, &pb.ListJobsRequest{})
	if err != nil {
		return nil, wrap(err)
	}
	return r.Jobs, nil
}

// Result returns a finished job's model and summary.
func (c *Client) Result(ctx context.Context, id string) (*pb.JobResult, error) {
	r, err := c.api.GetResult(ctx, &pb.GetJobRequest{Id: id})
	return r, wrap(err)
}

// Status describes the cluster: servers, leader and workers.
func (c *Client) Status(ctx context.Context) (*pb.ClusterStatusResponse, error) {
	r, err := c.api.ClusterStatus(ctx, &pb.ClusterStatusRequest{})
	return r, wrap(err)
}

// Terminal reports whether a job will change no more.
func Terminal(j *pb.Job) bool {
	switch j.State {
	case pb.JobState_JOB_STATE_SUCCEEDED, pb.JobState_JOB_STATE_FAILED, pb.JobState_JOB_STATE_CANCELLED:
		return true
	}
	return false
}

// watchRetries is how many consecutive broken watch streams are tolerated
// (a coordinator restarting or losing leadership) before giving up.
const watchRetries = 10

// Wait follows a job until it is terminal, calling update with every state
// seen, and returns the final one. A broken stream is re-opened, so a
// coordinator restart does not fail the wait; a coordinator that keeps
// failing (it stopped, with the leadership perhaps) is left for another.
func (c *Client) Wait(ctx context.Context, id string, update func(*pb.Job)) (*pb.Job, error) {
	failures, moved := 0, false
	for {
		j, heard, err := c.watchOnce(ctx, id, update)
		if err == nil {
			return j, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if heard {
			failures, moved = 0, false // the stream worked: a new break starts a new count
		}
		// Canceled with our context alive is the coordinator stopping; a
		// coordinator just moved to may not have applied the job yet.
		code := status.Code(err)
		if code != codes.Unavailable && code != codes.Internal && code != codes.Canceled && !(moved && code == codes.NotFound) {
			return nil, wrap(err)
		}
		if failures++; failures > watchRetries {
			return nil, fmt.Errorf("watch job %s: %w", id, wrap(err))
		}
		if failures > 1 && c.moveOn(ctx) {
			moved = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(failures) * 200 * time.Millisecond):
		}
	}
}

// watchOnce follows one watch stream; heard says whether it delivered
// anything before it broke.
func (c *Client) watchOnce(ctx context.Context, id string, update func(*pb.Job)) (j *pb.Job, heard bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.api.WatchJob(ctx, &pb.GetJobRequest{Id: id})
	if err != nil {
		return nil, false, err
	}
	for {
		j, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, heard, status.Error(codes.Unavailable, "watch stream ended before the job finished")
		}
		if err != nil {
			return nil, heard, err
		}
		heard = true
		if update != nil {
			update(j)
		}
		if Terminal(j) {
			return j, true, nil
		}
	}
}

// Error is a coordinator's refusal, with its gRPC code kept for callers that
// branch on it.
type Error struct {
	Code    codes.Code
	Message string
}

func (e *Error) Error() string { return e.Message }

// wrap turns a gRPC status into an Error whose message is the server's own,
// which already names the problem; transport failures say so plainly.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	return &Error{Code: st.Code(), Message: describe(err)}
}

func describe(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return err.Error()
	}
	switch st.Code() {
	case codes.Unavailable:
		return "coordinator unavailable: " + st.Message()
	case codes.DeadlineExceeded:
		return "no answer in time: " + st.Message()
	}
	return st.Message()
}
