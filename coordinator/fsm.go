package coordinator

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/hashicorp/raft"
)

// FSM is the Raft state machine. Apply is deterministic: everything it needs
// (ids, timestamps) is in the log entry, never read from the clock.
type FSM struct {
	mu      sync.RWMutex
	state   *State
	changed chan struct{} // closed and replaced on every change
}

// NewFSM returns an empty state machine.
func NewFSM() *FSM {
	return &FSM{state: newState(), changed: make(chan struct{})}
}

// applyResult is what Apply hands back to raft.ApplyFuture.Response.
type applyResult struct {
	value any
	err   error
}

// Apply implements raft.FSM.
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand || len(l.Data) == 0 {
		return applyResult{}
	}
	fn, ok := commands[CommandType(l.Data[0])]
	if !ok {
		return applyResult{err: fmt.Errorf("entry %d tag %d: %w", l.Index, l.Data[0], ErrUnknownEntry)}
	}
	f.mu.Lock()
	v, err := fn(f.state, l.Data[1:])
	f.notifyLocked()
	f.mu.Unlock()
	return applyResult{value: v, err: err}
}

func (f *FSM) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// Changed returns a channel closed at the next change of state.
func (f *FSM) Changed() <-chan struct{} {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.changed
}

// Read runs fn with the state locked for reading; fn must not keep pointers.
func (f *FSM) Read(fn func(*State)) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fn(f.state)
}

// Job returns a copy of one job.
func (f *FSM) Job(id string) (Job, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	j, ok := f.state.Jobs[id]
	if !ok {
		return Job{}, false
	}
	return *j, true
}

// Snapshot implements raft.FSM; the state is small (no data, only metadata
// and checkpoints), so a JSON copy taken under the lock is cheap.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	b, err := json.Marshal(f.state)
	if err != nil {
		return nil, fmt.Errorf("snapshot state: %w", err)
	}
	return snapshot(b), nil
}

// Restore implements raft.FSM.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	s := newState()
	if err := json.NewDecoder(rc).Decode(s); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	f.mu.Lock()
	f.state = s
	f.notifyLocked()
	f.mu.Unlock()
	return nil
}

type snapshot []byte

func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	return sink.Close()
}

func (snapshot) Release() {}
