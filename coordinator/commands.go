package coordinator

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

// CommandType tags a Raft log entry. The list is append-only: a log written
// by an older build must replay the same way on a newer one.
type CommandType uint8

const (
	cmdRegisterServer CommandType = iota + 1
	cmdWorkerUp
	cmdWorkerDown
	cmdSubmitJob
	cmdStartJob
	cmdJobProgress
	cmdFinishJob
	cmdCancelJob
	cmdSetPlacement
	cmdDropDataset
	cmdAddUpload
	cmdJobFitted
	// cmdFinished ends a job with a Result of any algorithm; cmdFinishJob
	// entries, written before, hold a k-means result and are still read.
	cmdFinished
	cmdStageDone
	cmdStagesReset
)

// commandNames name the entries in logs and failpoint events.
var commandNames = map[CommandType]string{
	cmdRegisterServer: "register-server", cmdWorkerUp: "worker-up", cmdWorkerDown: "worker-down",
	cmdSubmitJob: "submit-job", cmdStartJob: "start-job", cmdJobProgress: "job-progress", cmdFinishJob: "finish-job",
	cmdCancelJob: "cancel-job", cmdSetPlacement: "set-placement", cmdDropDataset: "drop-dataset", cmdAddUpload: "add-upload",
	cmdJobFitted: "job-fitted", cmdFinished: "finished", cmdStageDone: "stage-done", cmdStagesReset: "stages-reset",
}

func (t CommandType) String() string {
	if s, ok := commandNames[t]; ok {
		return s
	}
	return fmt.Sprintf("command-%d", uint8(t))
}

// Errors returned from Apply as values; the API maps them to status codes.
var (
	ErrJobNotFound  = errors.New("job not found")
	ErrJobTerminal  = errors.New("job has already ended")
	ErrUnknownEntry = errors.New("unknown log entry type")
)

type submitJob struct {
	Name     string `json:"name"`
	SpecYAML string `json:"spec_yaml"`
	MaxIter  int    `json:"max_iter"`
	Rows     int64  `json:"rows"`
	Dims     int    `json:"dims"`
	At       int64  `json:"at"`
}

type startJob struct {
	ID      string `json:"id"`
	At      int64  `json:"at"`
	Workers int    `json:"workers"`
}

type jobProgress struct {
	ID         string              `json:"id"`
	Progress   algorithms.Progress `json:"progress"`
	Checkpoint []byte              `json:"checkpoint"`
	RunNanos   int64               `json:"run_nanos"`
	// Steps is how many steps the job has run; 0 (entries written before
	// checkpoints were spaced out) means one more than before.
	Steps int `json:"steps,omitempty"`
}

type finishJob struct {
	ID       string  `json:"id"`
	State    string  `json:"state"`
	Error    string  `json:"error,omitempty"`
	Result   *Result `json:"outcome,omitempty"`
	At       int64   `json:"at"`
	RunNanos int64   `json:"run_nanos"`
	// A job over files: the fitted preparation and the rows and features
	// it made, known only once the data was read.
	Prepared json.RawMessage `json:"prepared,omitempty"`
	Profiles json.RawMessage `json:"profiles,omitempty"`
	// Evaluation is the segmentation's scores (evaluate.Report), when the
	// spec asked for them.
	Evaluation json.RawMessage `json:"evaluation,omitempty"`
	Phases     []PhaseTime     `json:"phases,omitempty"`
	Stages     []StageRecord   `json:"stages,omitempty"`
	// Transactions is what became of a transaction log's lines.
	Transactions json.RawMessage `json:"transactions,omitempty"`
	Rows         int64           `json:"rows,omitempty"`
	Dims         int             `json:"dims,omitempty"`
}

// legacyFinishJob is a cmdFinishJob entry: a finishJob whose result is a
// k-means result without the algorithm's name.
type legacyFinishJob struct {
	finishJob
	Legacy json.RawMessage `json:"result,omitempty"`
}

// stageDone records a stage's end and output.
type stageDone struct {
	ID    string      `json:"id"`
	Stage StageRecord `json:"stage"`
}

// stagesReset forgets the stages from From on: their outputs are lost
// (a shuffle's buckets with a worker) and they must run again.
type stagesReset struct {
	ID   string `json:"id"`
	From string `json:"from"`
}

// jobFitted recorded a job's fitted preparation, before stages were
// committed; such entries are read as the prepare stage's end.
type jobFitted struct {
	ID       string          `json:"id"`
	Pipeline json.RawMessage `json:"pipeline"`
}

type jobRef struct {
	ID string `json:"id"`
	At int64  `json:"at"`
}

type setPlacement struct {
	ID         string         `json:"id"`
	Spec       partition.Spec `json:"spec"`
	Partitions int            `json:"partitions"`
	Placement  map[int]string `json:"placement"`
}

// applyFunc changes the state for one decoded command; its return value is
// handed back to whoever proposed the entry.
type applyFunc func(s *State, body []byte) (any, error)

// commands is the dispatch table: one entry per CommandType.
var commands = map[CommandType]applyFunc{
	cmdRegisterServer: decodeThen(func(s *State, c Server) (any, error) {
		s.Servers[c.ID] = c
		return nil, nil
	}),
	cmdWorkerUp: decodeThen(func(s *State, c Worker) (any, error) {
		s.Workers[c.Name] = c
		return nil, nil
	}),
	cmdWorkerDown: decodeThen(func(s *State, c Worker) (any, error) {
		delete(s.Workers, c.Name)
		return nil, nil
	}),
	cmdSubmitJob: decodeThen(func(s *State, c submitJob) (any, error) {
		s.Seq++
		j := &Job{
			ID: fmt.Sprintf("job-%06d", s.Seq), Name: c.Name, SpecYAML: c.SpecYAML, State: JobPending,
			MaxIter: c.MaxIter, Rows: c.Rows, Dims: c.Dims, Submitted: c.At,
			Progress: algorithms.Progress{Phase: "queued"},
		}
		s.Jobs[j.ID] = j
		s.Order = append(s.Order, j.ID)
		return j.ID, nil
	}),
	cmdStartJob: jobCommand(func(j *Job, c startJob) error {
		j.State = JobRunning
		if j.Started == 0 {
			j.Started = c.At
		}
		j.Workers = c.Workers
		return nil
	}),
	cmdJobProgress: jobCommand(func(j *Job, c jobProgress) error {
		j.Progress = c.Progress
		j.Checkpoint = c.Checkpoint
		j.RunNanos = c.RunNanos
		if c.Steps > 0 {
			j.Steps = c.Steps
		} else {
			j.Steps++
		}
		return nil
	}),
	cmdFinished: jobCommand(finish),
	cmdFinishJob: jobCommand(func(j *Job, c legacyFinishJob) error {
		if len(c.Legacy) > 0 && string(c.Legacy) != "null" {
			r, err := legacyResult(c.Legacy)
			if err != nil {
				return err
			}
			c.Result = r
		}
		return finish(j, c.finishJob)
	}),
	cmdCancelJob: jobCommand(func(j *Job, c jobRef) error {
		j.State, j.Finished, j.Error = JobCancelled, c.At, "cancelled by user"
		return nil
	}),
	cmdSetPlacement: decodeThen(func(s *State, c setPlacement) (any, error) {
		s.Datasets[c.ID] = &Dataset{ID: c.ID, Spec: c.Spec, Partitions: c.Partitions, Placement: c.Placement}
		return nil, nil
	}),
	cmdDropDataset: decodeThen(func(s *State, c jobRef) (any, error) {
		delete(s.Datasets, c.ID)
		if !strings.Contains(c.ID, "/") {
			// A job's name: its other datasets go with it, as on the
			// workers.
			for id := range s.Datasets {
				if strings.HasPrefix(id, c.ID+"/") {
					delete(s.Datasets, id)
				}
			}
		}
		return nil, nil
	}),
	cmdJobFitted: jobCommand(func(j *Job, c jobFitted) error {
		j.stageDone(fittedStage(c.Pipeline))
		return nil
	}),
	cmdStageDone: jobCommand(func(j *Job, c stageDone) error {
		j.stageDone(c.Stage)
		return nil
	}),
	cmdStagesReset: jobCommand(func(j *Job, c stagesReset) error {
		if i := slices.IndexFunc(j.Stages, func(r StageRecord) bool { return r.Name == c.From }); i >= 0 {
			j.Stages = j.Stages[:i]
		}
		return nil
	}),
	cmdAddUpload: decodeThen(func(s *State, c Upload) (any, error) {
		if s.Uploads == nil {
			s.Uploads = map[string]Upload{}
		}
		s.Uploads[c.URI] = c
		return nil, nil
	}),
}

// stageDone records a stage's end, replacing an earlier end of it.
func (j *Job) stageDone(rec StageRecord) {
	j.Stages = slices.DeleteFunc(j.Stages, func(r StageRecord) bool { return r.Name == rec.Name })
	j.Stages = append(j.Stages, rec)
}

// finish ends a job as the driver saw it end.
func finish(j *Job, c finishJob) error {
	j.State, j.Error, j.Result, j.Finished, j.RunNanos = c.State, c.Error, c.Result, c.At, c.RunNanos
	if c.Prepared != nil {
		j.Prepared, j.Profiles, j.Transactions = c.Prepared, c.Profiles, c.Transactions
	}
	j.Evaluation = c.Evaluation
	// An entry written before stages were (cmdFinishJob) has none: the
	// job's stages are then none, as a snapshot of it restores them.
	j.Phases, j.Stages = c.Phases, c.Stages
	if c.Rows > 0 {
		j.Rows, j.Dims = c.Rows, c.Dims
	}
	if c.State == JobSucceeded {
		j.Progress.Phase = "done"
	}
	return nil
}

func decodeThen[T any](f func(*State, T) (any, error)) applyFunc {
	return func(s *State, body []byte) (any, error) {
		var c T
		if err := json.Unmarshal(body, &c); err != nil {
			return nil, fmt.Errorf("decode %T: %w", c, err)
		}
		return f(s, c)
	}
}

// jobCommand applies to one job that has not yet ended; a command for an
// ended job is refused, which is how a cancel wins over a late progress report.
func jobCommand[T interface{ jobID() string }](f func(*Job, T) error) applyFunc {
	return decodeThen(func(s *State, c T) (any, error) {
		j, ok := s.Jobs[c.jobID()]
		if !ok {
			return nil, fmt.Errorf("%s: %w", c.jobID(), ErrJobNotFound)
		}
		if j.Terminal() {
			return nil, fmt.Errorf("%s is %s: %w", j.ID, j.State, ErrJobTerminal)
		}
		return nil, f(j, c)
	})
}

func (c startJob) jobID() string    { return c.ID }
func (c jobProgress) jobID() string { return c.ID }
func (c finishJob) jobID() string   { return c.ID }
func (c jobRef) jobID() string      { return c.ID }
func (c jobFitted) jobID() string   { return c.ID }
func (c stageDone) jobID() string   { return c.ID }
func (c stagesReset) jobID() string { return c.ID }

// encodeCommand frames a command as its tag byte followed by JSON.
func encodeCommand(t CommandType, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode command %d: %w", t, err)
	}
	return append([]byte{byte(t)}, b...), nil
}
