// Package coordinator is the Raft-replicated control plane. Its FSM is the
// only truth about workers, datasets, partition placement and jobs (spec,
// state, progress and the latest checkpoint, committed every 100ms or so
// and after the last step);
// partials and in-flight RPCs are soft state. Every coordinator serves the
// client API from its own FSM; only the leader accepts writes and drives
// jobs, resuming each running job from its last committed checkpoint when
// leadership moves.
package coordinator
