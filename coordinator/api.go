package coordinator

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/raft"

	"github.com/cohort/cohort/jobspec"
	pb "github.com/cohort/cohort/proto"
)

// api serves clients. Reads come from the local FSM (a follower may lag by a
// heartbeat); writes must reach the leader, and a follower says where it is.
type api struct {
	pb.UnimplementedCoordinatorServer
	n *Node
}

func (a *api) SubmitJob(ctx context.Context, req *pb.SubmitJobRequest) (*pb.Job, error) {
	spec, err := jobspec.Parse([]byte(req.SpecYaml))
	if err != nil {
		return nil, a.n.toStatus(fmt.Errorf("%w: %v", ErrInvalidSpec, err))
	}
	sub := submitJob{Name: spec.Name, SpecYAML: req.SpecYaml, MaxIter: spec.Config().MaxIter(), At: time.Now().UnixNano()}
	if syn := spec.Data.Synthetic; syn != nil {
		sub.Rows, sub.Dims = syn.Rows, syn.Dims // a job over files learns them when it reads the data
	}
	v, err := a.n.apply(cmdSubmitJob, sub)
	if err != nil {
		return nil, a.n.toStatus(err)
	}
	j, _ := a.n.fsm.Job(v.(string))
	return jobProto(&j), nil
}

func (a *api) GetJob(ctx context.Context, req *pb.GetJobRequest) (*pb.Job, error) {
	j, ok := a.n.fsm.Job(req.Id)
	if !ok {
		return nil, a.n.toStatus(fmt.Errorf("%q: %w", req.Id, ErrJobNotFound))
	}
	return jobProto(&j), nil
}

func (a *api) WatchJob(req *pb.GetJobRequest, stream pb.Coordinator_WatchJobServer) error {
	var last *pb.Job
	for {
		changed := a.n.fsm.Changed()
		j, ok := a.n.fsm.Job(req.Id)
		if !ok {
			return a.n.toStatus(fmt.Errorf("%q: %w", req.Id, ErrJobNotFound))
		}
		cur := jobProto(&j)
		if last == nil || cur.Steps != last.Steps || cur.State != last.State {
			if err := stream.Send(cur); err != nil {
				return err
			}
			last = cur
		}
		if j.Terminal() {
			return nil
		}
		select {
		case <-stream.Context().Done():
			return a.n.toStatus(stream.Context().Err())
		case <-a.n.ctx.Done():
			return a.n.toStatus(context.Canceled)
		case <-changed:
		}
	}
}

func (a *api) ListJobs(ctx context.Context, _ *pb.ListJobsRequest) (*pb.ListJobsResponse, error) {
	resp := &pb.ListJobsResponse{}
	a.n.fsm.Read(func(s *State) {
		for _, id := range s.Order {
			resp.Jobs = append(resp.Jobs, jobProto(s.Jobs[id]))
		}
	})
	return resp, nil
}

func (a *api) CancelJob(ctx context.Context, req *pb.GetJobRequest) (*pb.Job, error) {
	if _, err := a.n.apply(cmdCancelJob, jobRef{ID: req.Id, At: time.Now().UnixNano()}); err != nil {
		return nil, a.n.toStatus(err)
	}
	return a.GetJob(ctx, req)
}

func (a *api) GetResult(ctx context.Context, req *pb.GetJobRequest) (*pb.JobResult, error) {
	j, ok := a.n.fsm.Job(req.Id)
	if !ok {
		return nil, a.n.toStatus(fmt.Errorf("%q: %w", req.Id, ErrJobNotFound))
	}
	if j.State != JobSucceeded || j.Result == nil {
		msg := fmt.Sprintf("%s is %s", j.ID, j.State)
		if j.Error != "" {
			msg += ": " + j.Error
		}
		return nil, a.n.toStatus(fmt.Errorf("%s: %w", msg, ErrNoResult))
	}
	out, err := resultProto(&j)
	if err != nil {
		return nil, a.n.toStatus(err)
	}
	return out, nil
}

func (a *api) ClusterStatus(ctx context.Context, _ *pb.ClusterStatusRequest) (*pb.ClusterStatusResponse, error) {
	resp := &pb.ClusterStatusResponse{GossipAddrs: []string{a.n.GossipAddr()}}
	_, leaderID := a.n.raft.LeaderWithID()
	resp.LeaderId = string(leaderID)
	resp.LeaderGrpcAddr = a.n.leaderGRPCAddr()
	cf := a.n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return nil, a.n.toStatus(fmt.Errorf("read raft configuration: %w", err))
	}
	a.n.fsm.Read(func(s *State) {
		for _, srv := range cf.Configuration().Servers {
			info := &pb.ServerInfo{Id: string(srv.ID), RaftAddr: string(srv.Address), Suffrage: srv.Suffrage.String(), Leader: srv.ID == leaderID}
			if known, ok := s.Servers[string(srv.ID)]; ok {
				info.GrpcAddr, info.GossipAddr = known.GRPCAddr, known.GossipAddr
			}
			resp.Servers = append(resp.Servers, info)
		}
		counts := map[string]int32{}
		for _, d := range s.Datasets {
			for _, w := range d.Placement {
				counts[w]++
			}
		}
		for _, w := range s.Workers {
			resp.Workers = append(resp.Workers, &pb.WorkerInfo{Name: w.Name, GrpcAddr: w.GRPCAddr, Cores: int32(w.Cores), MemoryBytes: w.MemoryBytes, Partitions: counts[w.Name]})
		}
	})
	sort.Slice(resp.Workers, func(i, j int) bool { return resp.Workers[i].Name < resp.Workers[j].Name })
	return resp, nil
}

func (a *api) JoinCluster(ctx context.Context, req *pb.JoinClusterRequest) (*pb.JoinClusterResponse, error) {
	if !a.n.IsLeader() {
		return nil, a.n.toStatus(ErrNotLeader)
	}
	f := a.n.raft.AddVoter(raft.ServerID(req.Id), raft.ServerAddress(req.RaftAddr), 0, 10*time.Second)
	if err := f.Error(); err != nil {
		return nil, a.n.toStatus(fmt.Errorf("add voter %s at %s: %w", req.Id, req.RaftAddr, err))
	}
	if _, err := a.n.apply(cmdRegisterServer, Server{ID: req.Id, RaftAddr: req.RaftAddr, GRPCAddr: req.GrpcAddr, GossipAddr: req.GossipAddr}); err != nil {
		return nil, a.n.toStatus(err)
	}
	return &pb.JoinClusterResponse{GossipAddrs: []string{a.n.GossipAddr()}}, nil
}

// leaderGRPCAddr is the leader's client API address, as registered in the FSM.
func (n *Node) leaderGRPCAddr() string {
	_, id := n.raft.LeaderWithID()
	if id == "" {
		return ""
	}
	var addr string
	n.fsm.Read(func(s *State) { addr = s.Servers[string(id)].GRPCAddr })
	return addr
}

func jobProto(j *Job) *pb.Job {
	return &pb.Job{
		Id: j.ID, Name: j.Name, State: stateProto(j.State), Error: j.Error,
		Phase: j.Progress.Phase, Restart: int32(j.Progress.Restart), Iteration: int32(j.Progress.Iteration),
		MaxIter: int32(j.MaxIter), Objective: j.Progress.Objective, Shift: j.Progress.Shift,
		SubmittedUnixNano: j.Submitted, StartedUnixNano: j.Started, FinishedUnixNano: j.Finished,
		SpecYaml: j.SpecYAML, Steps: int32(j.Steps),
	}
}

func stateProto(s string) pb.JobState {
	switch s {
	case JobPending:
		return pb.JobState_JOB_STATE_PENDING
	case JobRunning:
		return pb.JobState_JOB_STATE_RUNNING
	case JobSucceeded:
		return pb.JobState_JOB_STATE_SUCCEEDED
	case JobFailed:
		return pb.JobState_JOB_STATE_FAILED
	case JobCancelled:
		return pb.JobState_JOB_STATE_CANCELLED
	}
	return pb.JobState_JOB_STATE_UNSPECIFIED
}

func resultProto(j *Job) (*pb.JobResult, error) {
	r := j.Result
	m, err := r.Decode()
	if err != nil {
		return nil, fmt.Errorf("the %s model of %s: %w", r.Algorithm, j.ID, err)
	}
	d := m.Describe()
	out := &pb.JobResult{
		Job: jobProto(j), Algorithm: r.Algorithm, K: int32(r.Segments), Rows: j.Rows, Dims: int32(j.Dims),
		Iterations: int32(r.Iterations), Metrics: r.Metrics, DetailsJson: d.Details, Model: r.Model, Sizes: r.Sizes,
		Seconds: float64(j.RunNanos) / 1e9, Converged: r.Converged, Workers: int32(j.Workers),
		PreparedJson: j.Prepared, ProfilesJson: j.Profiles, TransactionsJson: j.Transactions, EvaluationJson: j.Evaluation,
	}
	for _, c := range d.Centres {
		out.Centroids = append(out.Centroids, &pb.Vector{Values: c})
	}
	for _, p := range j.Phases {
		out.Phases = append(out.Phases, &pb.PhaseTime{Phase: p.Phase, Seconds: p.Seconds})
	}
	for _, s := range j.Stages {
		out.Stages = append(out.Stages, &pb.StageTime{Name: s.Name, Seconds: s.Seconds, BytesRead: s.BytesRead, Note: s.Note})
	}
	return out, nil
}
