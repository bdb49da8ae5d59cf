package coordinator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/cohort/cohort/algorithms"
)

// apply feeds one command through the FSM as Raft would.
func apply(t *testing.T, f *FSM, index uint64, typ CommandType, body any) (any, error) {
	t.Helper()
	data, err := encodeCommand(typ, body)
	if err != nil {
		t.Fatal(err)
	}
	r := f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: data}).(applyResult)
	return r.value, r.err
}

func TestFSMJobLifecycle(t *testing.T) {
	f := NewFSM()
	changed := f.Changed()
	v, err := apply(t, f, 1, cmdSubmitJob, submitJob{Name: "a", SpecYAML: "x", MaxIter: 10, Rows: 5, Dims: 2, At: 100})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Fatal("Changed channel not closed by Apply")
	}
	id := v.(string)
	if id != "job-000001" {
		t.Fatalf("id %q", id)
	}
	if _, err := apply(t, f, 2, cmdStartJob, startJob{ID: id, At: 200, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	p := algorithms.Progress{Phase: "lloyd", Iteration: 3, Objective: 1.5, Shift: 0.25}
	if _, err := apply(t, f, 3, cmdJobProgress, jobProgress{ID: id, Progress: p, Checkpoint: []byte{1, 2, 3}, RunNanos: 7}); err != nil {
		t.Fatal(err)
	}
	j, _ := f.Job(id)
	if j.State != JobRunning || j.Steps != 1 || j.Progress != p || !bytes.Equal(j.Checkpoint, []byte{1, 2, 3}) || j.Workers != 2 {
		t.Fatalf("after progress: %+v", j)
	}
	res := &Result{Algorithm: "test", Model: []byte(`{}`), Segments: 1, Sizes: []int64{5}, Iterations: 3, Converged: true, Metrics: map[string]float64{"m": 0.1}}
	if _, err := apply(t, f, 4, cmdFinished, finishJob{ID: id, State: JobSucceeded, Result: res, At: 300}); err != nil {
		t.Fatal(err)
	}
	// A progress report racing a finish (or a cancel) must not reopen the job.
	if _, err := apply(t, f, 5, cmdJobProgress, jobProgress{ID: id, Progress: p}); !errors.Is(err, ErrJobTerminal) {
		t.Fatalf("progress after finish: %v, want ErrJobTerminal", err)
	}
	if _, err := apply(t, f, 6, cmdCancelJob, jobRef{ID: id}); !errors.Is(err, ErrJobTerminal) {
		t.Fatalf("cancel after finish: %v, want ErrJobTerminal", err)
	}
	if _, err := apply(t, f, 7, cmdCancelJob, jobRef{ID: "job-999999"}); !errors.Is(err, ErrJobNotFound) {
		t.Fatalf("cancel of unknown job: %v", err)
	}
	j, _ = f.Job(id)
	if j.State != JobSucceeded || j.Progress.Phase != "done" || !reflect.DeepEqual(j.Result, res) {
		t.Fatalf("after finish: %+v", j)
	}
}

func TestFSMCancelPendingJob(t *testing.T) {
	f := NewFSM()
	v, _ := apply(t, f, 1, cmdSubmitJob, submitJob{Name: "a"})
	if _, err := apply(t, f, 2, cmdCancelJob, jobRef{ID: v.(string), At: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := apply(t, f, 3, cmdStartJob, startJob{ID: v.(string)}); !errors.Is(err, ErrJobTerminal) {
		t.Fatalf("start after cancel: %v", err)
	}
}

func TestFSMUnknownAndMalformedEntries(t *testing.T) {
	f := NewFSM()
	r := f.Apply(&raft.Log{Index: 9, Type: raft.LogCommand, Data: []byte{200, '{', '}'}}).(applyResult)
	if !errors.Is(r.err, ErrUnknownEntry) {
		t.Fatalf("unknown tag: %v", r.err)
	}
	r = f.Apply(&raft.Log{Index: 10, Type: raft.LogCommand, Data: []byte{byte(cmdSubmitJob), '{'}}).(applyResult)
	if r.err == nil {
		t.Fatal("malformed body applied")
	}
}

type sink struct {
	bytes.Buffer
	cancelled bool
}

func (s *sink) ID() string    { return "test" }
func (s *sink) Cancel() error { s.cancelled = true; return nil }
func (s *sink) Close() error  { return nil }

func TestFSMSnapshotRestoreRoundTrip(t *testing.T) {
	f := NewFSM()
	apply(t, f, 1, cmdRegisterServer, Server{ID: "c1", RaftAddr: "r", GRPCAddr: "g", GossipAddr: "o"})
	apply(t, f, 2, cmdWorkerUp, Worker{Name: "w1", GRPCAddr: "a", Cores: 4, MemoryBytes: 1 << 30})
	apply(t, f, 3, cmdWorkerUp, Worker{Name: "w2", GRPCAddr: "b", Cores: 2})
	apply(t, f, 4, cmdWorkerDown, Worker{Name: "w2"})
	v, _ := apply(t, f, 5, cmdSubmitJob, submitJob{Name: "a", MaxIter: 4})
	apply(t, f, 6, cmdJobProgress, jobProgress{ID: v.(string), Progress: algorithms.Progress{Phase: "lloyd", Objective: 0.1 + 0.2}, Checkpoint: []byte("cp")})
	apply(t, f, 7, cmdSetPlacement, setPlacement{ID: v.(string), Partitions: 2, Placement: map[int]string{0: "w1", 1: "w1"}})

	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var s sink
	if err := snap.Persist(&s); err != nil {
		t.Fatal(err)
	}
	g := NewFSM()
	if err := g.Restore(io.NopCloser(&s)); err != nil {
		t.Fatal(err)
	}
	var a, b *State
	f.Read(func(st *State) { a = st })
	g.Read(func(st *State) { b = st })
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("restored state differs:\n%+v\n%+v", a, b)
	}
	if len(b.Workers) != 1 || b.Jobs[v.(string)].Progress.Objective != 0.1+0.2 {
		t.Fatalf("restored state wrong: %+v", b)
	}
	if err := g.Restore(io.NopCloser(bytes.NewReader([]byte("{not json")))); err == nil {
		t.Fatal("corrupt snapshot restored")
	}
}

// legacyKMeans is a k-means result as log entries and snapshots held it
// before the registry: without the algorithm's name.
const legacyKMeans = `{"centroids":[[1,2],[3,4]],"sizes":[5,6],"wcss":0.5,"iterations":3,"restart":1,"converged":true}`

// A log written before the registry replays: its finish entries carry a
// bare k-means result, read as a model of the default algorithm.
func TestFSMReadsLegacyFinishEntries(t *testing.T) {
	f := NewFSM()
	v, _ := apply(t, f, 1, cmdSubmitJob, submitJob{Name: "a"})
	id := v.(string)
	body := json.RawMessage(`{"id":"` + id + `","state":"succeeded","at":9,"result":` + legacyKMeans + `}`)
	if _, err := apply(t, f, 2, cmdFinishJob, body); err != nil {
		t.Fatal(err)
	}
	j, _ := f.Job(id)
	checkLegacyResult(t, j.Result)
}

// So does a snapshot taken before the registry.
func TestFSMRestoresLegacySnapshots(t *testing.T) {
	snap := `{"seq":1,"jobs":{"job-000001":{"id":"job-000001","state":"succeeded","result":` + legacyKMeans + `}},"order":["job-000001"]}`
	f := NewFSM()
	if err := f.Restore(io.NopCloser(strings.NewReader(snap))); err != nil {
		t.Fatal(err)
	}
	j, _ := f.Job("job-000001")
	checkLegacyResult(t, j.Result)
}

func checkLegacyResult(t *testing.T, r *Result) {
	t.Helper()
	def, err := algorithms.Lookup("")
	if err != nil {
		t.Fatal(err)
	}
	if r == nil || r.Algorithm != def.Name || r.Segments != 2 || !reflect.DeepEqual(r.Sizes, []int64{5, 6}) || r.Iterations != 3 || !r.Converged || r.Metrics["wcss"] != 0.5 {
		t.Fatalf("legacy result read as %+v", r)
	}
	m, err := r.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if d := m.Describe(); !reflect.DeepEqual(d.Centres, [][]float64{{1, 2}, {3, 4}}) || string(d.Details) != `{"restart":1}` {
		t.Fatalf("legacy model %+v", d)
	}
}
