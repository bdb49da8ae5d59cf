// Package failpoint holds named places in the coordinator and the worker
// where a test (or a chaos benchmark) can make something happen: return
// an error, kill a node, wait. A node is given a *Set in its Config; a nil
// Set, which production nodes have, is never armed and costs a nil check.
//
// The names are this package's constants, so that a test arms exactly the
// places the code hits; an Event says where it was hit.
package failpoint

import "sync"

// The places a node hits.
const (
	// StageStart: the leader's driver is about to run a stage of a job
	// (Event.Job, Event.Stage). A stage restored from the log is not run
	// and does not hit it.
	StageStart = "stage/start"
	// StageDone: a stage's output is committed to the Raft log.
	StageDone = "stage/done"
	// BeforeApply: a coordinator is about to propose a log entry
	// (Event.Command names its type).
	BeforeApply = "raft/before-apply"
	// BeforeMap and AfterMap: a worker is about to map a step over a
	// partition, or has (Event.Step, Event.Dataset, Event.Partition).
	BeforeMap = "step/before-map"
	AfterMap  = "step/after-map"
	// MidShuffle: a worker has sent the parts of one source partition of
	// a scatter step to their holders (Event.Shuffle, Event.Partition).
	MidShuffle = "shuffle/mid"
)

// Event is where a failpoint was hit.
type Event struct {
	Node      string
	Job       string
	Stage     string
	Command   string
	Step      string
	Dataset   string
	Shuffle   string
	Partition int
}

// Action runs when an armed failpoint is hit; an error it returns is
// returned by the code that hit it, as if that code had failed there.
type Action func(Event) error

// Set holds the armed failpoints of one or more nodes.
type Set struct {
	mu    sync.Mutex
	armed map[string]Action
	hits  map[string]int
}

// Arm makes name run a when hit, replacing what was armed there.
func (s *Set) Arm(name string, a Action) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.armed == nil {
		s.armed = map[string]Action{}
	}
	s.armed[name] = a
}

// Disarm makes name do nothing again.
func (s *Set) Disarm(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.armed, name)
}

// Hits is how often name was hit while armed.
func (s *Set) Hits(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[name]
}

// Hit runs what is armed at name, if anything. Safe on a nil Set.
func (s *Set) Hit(name string, ev Event) error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	a := s.armed[name]
	if a != nil {
		if s.hits == nil {
			s.hits = map[string]int{}
		}
		s.hits[name]++
	}
	s.mu.Unlock()
	if a == nil {
		return nil
	}
	return a(ev)
}
