package coordinator

import (
	"encoding/json"
	"fmt"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

// Job states. Terminal states never change again.
const (
	JobPending   = "pending"
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
	JobCancelled = "cancelled"
)

// Job is everything the cluster knows about one job. The checkpoint is the
// algorithm's state after its last committed step: a new leader resumes from it.
type Job struct {
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	SpecYAML   string              `json:"spec_yaml"`
	State      string              `json:"state"`
	Error      string              `json:"error,omitempty"`
	Progress   algorithms.Progress `json:"progress"`
	MaxIter    int                 `json:"max_iter"`
	Steps      int                 `json:"steps"`
	Checkpoint []byte              `json:"checkpoint,omitempty"`
	Result     *Result             `json:"outcome,omitempty"`
	Prepared   json.RawMessage     `json:"prepared,omitempty"`   // the fitted preparation of a job over files
	Profiles   json.RawMessage     `json:"profiles,omitempty"`   // and its segments' profiles
	Evaluation json.RawMessage     `json:"evaluation,omitempty"` // the segmentation's scores (evaluate.Report)
	// Stages are the stages of the job's pipeline that have ended, with
	// their outputs: a new leader restores them rather than running them
	// again.
	Stages []StageRecord `json:"stages,omitempty"`
	// Transactions is what became of the lines of a job over a transaction log.
	Transactions json.RawMessage `json:"transactions,omitempty"`
	Phases       []PhaseTime     `json:"phases,omitempty"` // wall time by phase, of the last run
	Rows         int64           `json:"rows"`
	Dims         int             `json:"dims"`
	Workers      int             `json:"workers"`
	Submitted    int64           `json:"submitted"`
	Started      int64           `json:"started,omitempty"`
	Finished     int64           `json:"finished,omitempty"`
	// RunNanos is wall time spent running, summed over leaders.
	RunNanos int64 `json:"run_nanos"`
}

// UnmarshalJSON reads a job of a snapshot, converting the k-means result
// snapshots held before the registry ("result") into a Result.
func (j *Job) UnmarshalJSON(data []byte) error {
	type plain Job
	var v struct {
		*plain
		Legacy json.RawMessage `json:"result"`
		Fitted json.RawMessage `json:"fitted"`
	}
	v.plain = (*plain)(j)
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	if len(v.Legacy) > 0 && string(v.Legacy) != "null" && j.Result == nil {
		r, err := legacyResult(v.Legacy)
		if err != nil {
			return fmt.Errorf("job %s: %w", j.ID, err)
		}
		j.Result = r
	}
	if len(v.Fitted) > 0 && string(v.Fitted) != "null" && !j.Terminal() {
		j.Stages = append(j.Stages, fittedStage(v.Fitted))
	}
	return nil
}

// fittedStage is the prepare stage of a preparation committed before
// stages were (cmdJobFitted).
func fittedStage(pipeline json.RawMessage) StageRecord {
	out, _ := json.Marshal(prepareOutput{Pipeline: pipeline})
	return StageRecord{Name: stagePrepare, Output: out}
}

// Result is a finished job's model: the algorithm's own encoding, and
// what every model says of itself, so that reads need not decode it.
type Result struct {
	Algorithm  string             `json:"algorithm"`
	Model      []byte             `json:"model"`
	Segments   int                `json:"segments"`
	Sizes      []int64            `json:"sizes"`
	Iterations int                `json:"iterations"`
	Converged  bool               `json:"converged"`
	Metrics    map[string]float64 `json:"metrics,omitempty"`
}

// newResult records a fitted model of the named algorithm.
func newResult(algorithm string, m algorithms.Model) (*Result, error) {
	enc, err := m.Encode()
	if err != nil {
		return nil, fmt.Errorf("encode the %s model: %w", algorithm, err)
	}
	d := m.Describe()
	return &Result{Algorithm: algorithm, Model: enc, Segments: d.Segments, Sizes: d.Sizes, Iterations: d.Iterations,
		Converged: d.Converged, Metrics: d.Metrics}, nil
}

// legacyResult reads a result stored before the registry: a model of the
// default algorithm, without its name.
func legacyResult(raw json.RawMessage) (*Result, error) {
	a, err := algorithms.Lookup("")
	if err != nil {
		return nil, fmt.Errorf("a result without an algorithm: %w", err)
	}
	m, err := a.DecodeModel(raw)
	if err != nil {
		return nil, err
	}
	return newResult(a.Name, m)
}

// Decode decodes the result's model through the registry.
func (r *Result) Decode() (algorithms.Model, error) {
	return algorithms.DecodeModel(r.Algorithm, r.Model)
}

// Terminal reports whether the job has ended.
func (j *Job) Terminal() bool {
	return j.State == JobSucceeded || j.State == JobFailed || j.State == JobCancelled
}

// Worker is a live worker as learned from gossip.
type Worker struct {
	Name        string `json:"name"`
	GRPCAddr    string `json:"grpc_addr"`
	Cores       int    `json:"cores"`
	MemoryBytes int64  `json:"memory_bytes"`
}

// Server is a coordinator (Raft voter) and where to reach it.
type Server struct {
	ID         string `json:"id"`
	RaftAddr   string `json:"raft_addr"`
	GRPCAddr   string `json:"grpc_addr"`
	GossipAddr string `json:"gossip_addr"`
}

// Dataset is a partitioned source and where its partitions are held.
type Dataset struct {
	ID         string         `json:"id"`
	Spec       partition.Spec `json:"spec"`
	Partitions int            `json:"partitions"`
	Placement  map[int]string `json:"placement"`
}

// State is the whole replicated state; only FSM.Apply changes it.
type State struct {
	Seq      uint64              `json:"seq"`
	Jobs     map[string]*Job     `json:"jobs"`
	Order    []string            `json:"order"` // job ids in submission order
	Workers  map[string]Worker   `json:"workers"`
	Servers  map[string]Server   `json:"servers"`
	Datasets map[string]*Dataset `json:"datasets"`
	// Uploads are the data files clients sent, by URI; every coordinator
	// keeps a copy.
	Uploads map[string]Upload `json:"uploads,omitempty"`
}

// Upload is a data file a client sent (upload.URI names it by content).
type Upload struct {
	URI   string `json:"uri"`
	Bytes int64  `json:"bytes"`
	At    int64  `json:"at"`
}

func newState() *State {
	return &State{
		Jobs:     map[string]*Job{},
		Workers:  map[string]Worker{},
		Servers:  map[string]Server{},
		Datasets: map[string]*Dataset{},
		Uploads:  map[string]Upload{},
	}
}
