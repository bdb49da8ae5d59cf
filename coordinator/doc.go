// Package coordinator is the Raft-replicated control plane: the FSM that
// is the only truth about workers, datasets, placement and jobs, the
// client API every coordinator serves from it, and, on the leader alone,
// the driver that runs each job as a pipeline of stages on the workers.
// Partials and in-flight RPCs are soft state; whatever a new leader needs
// to carry a job on is in the log.
//
// # The FSM
//
// The state (State) holds the workers learnt from gossip, the
// coordinators, the datasets with their placement, the uploads, and the
// jobs: spec, state, progress, the algorithm's latest checkpoint, the
// stages that have ended with their outputs, and at the end the Result.
// A log entry is a tag byte and JSON; the tags are append-only and
// dispatched through one table (commands.go), so a log written by an
// older build replays the same on a newer one. Apply reads no clock: ids
// and times are in the entry. Snapshots are the state as JSON, taken
// once 1024 entries have passed (Raft checks every 30 s), because
// checkpoints are committed up to ten times a second.
//
// A Result is any algorithm's: its name, its model as the algorithm
// encodes it, and what every model says of itself (segments, sizes,
// iterations, metrics), so reads need not decode the model; Decode does,
// through the registry. A job ends with a cmdFinished entry. Logs and
// snapshots written before the registry are still read: cmdFinishJob
// entries and a snapshot's "result" hold a model of the default algorithm
// (k-means) without its name, and cmdJobFitted entries and a snapshot's
// "fitted" are read as the end of the prepare stage.
//
// # Leadership
//
// Only the leader writes and drives. On winning an election a node runs a
// barrier (every entry of earlier terms applied before the driver reads
// the FSM), registers itself, starts the driver, and reconciles the FSM's
// worker list with gossip's live members every 2 s (watchMembers turns
// join and leave events into entries as they come). Losing leadership
// cancels all of it together. Followers serve reads (get, list, watch,
// result, status) from their own FSM, which may lag by a heartbeat;
// writes to a follower fail with FailedPrecondition and an ErrorInfo
// {reason: NOT_LEADER, leader: ADDR}, which the client follows. A node
// started with a join address asks any coordinator (redirected to the
// leader) to add it as a voter, then joins the gossip pool.
//
// # The driver and its stages
//
// The driver (driver.go) runs the jobs that have not ended one at a time,
// oldest first: they share the workers' cores, so running them in turn
// finishes the first sooner. It waits for a first worker (Config.WorkerWait,
// 30 s by default), commits the job's start, and runs its stages
// (stages.go, in order: plan, integrate, prepare, cluster, evaluate, assign; each
// says whether the job has it). work.go is what each does on the workers:
//
//   - plan cuts data.path into pieces (partition.PlanFiles, sized by
//     partition.PieceBytesFor), checking a transaction log's columns.
//   - integrate, for a transaction log or data.duplicates, groups the
//     rows by customer id across the workers (see Shuffles).
//   - prepare loads the raw rows, the preparation's columns and the id, as
//     dataset JOB/raw (the pieces, or the shuffle's buckets), fits the
//     preparation over them with prepare.Program (failing past
//     data.max_rejects or on a spec that names what the data lacks),
//     writes every unreadable row to output.dir/rejects, and decides
//     whether the raw tables stay in memory (keepRaw, below).
//   - cluster loads the algorithm's dataset (dataset JOB: the synthetic
//     data or the prepared features), checks the configuration against
//     its size, and drives the registered algorithm's Fit from the start
//     or from the job's last committed checkpoint, committing checkpoints
//     as it goes (below). The model becomes the job's Result. A range of
//     k is configured as a choose.Config, whose Fit fits and scores every
//     candidate in turn over the same partitions and ends with the chosen
//     model; its report of the candidates is committed with the stage's
//     output and becomes the job's Evaluation.
//   - evaluate, when the spec has an evaluate section and k is not
//     chosen (choosing has scored the model already), drives
//     evaluate.Program over the same partitions: the model's segments
//     scored (silhouette, Calinski-Harabasz, Davies-Bouldin, WCSS), the
//     report committed as the stage's output and the job's Evaluation.
//   - assign runs results.AssignStep over the same partitions: each kept
//     row's segment and score go to part files under output.dir, written
//     by the workers, and each segment's statistics of the columns the
//     preparation used are merged into profiles (algorithms/profile).
//
// A stage's end is committed (cmdStageDone) with its output (the plan,
// the shuffle's buckets and where they are, the pipeline, the Result, the
// profiles), its wall time, the bytes it read from the data's source (as
// the workers report them for loads and for steps that read) and a note.
// A new leader restores every committed stage from its output and runs
// the rest: a leader lost between prepare and cluster is succeeded by one
// that runs only cluster and assign. The failpoints StageStart and
// StageDone mark both ends of a stage that runs. The job's end
// (cmdFinished) records the Result, the pipeline, the profiles, what
// became of a transaction log's lines, the stages and the finer phases
// (read, load, the algorithm's own phases…).
//
// # The raw data is read once
//
// After fitting, keepRaw compares what the workers said the raw tables
// take, plus the features to come (rows × padded width × 4 bytes, plus
// ids), with half of the workers' advertised memory; the rest is for the
// algorithm, the steps' buffers and the collector. If they fit, the raw
// tables stay: the algorithm's dataset names them (partition.Spec.From),
// each worker prepares its blocks from the tables it holds and keeps the
// tables with the blocks (a partition placed elsewhere meanwhile is read
// from the source), and the assignments and profiles are made from them
// in memory; the cluster and assign stages read nothing. If they do not
// fit together but each alone does (files only), the raw tables are
// consumed (partition.Spec.Consume): each worker makes its blocks from
// the tables it holds and lets each go as its block is made, so memory
// holds about the larger of the two, and only the assign stage reads the
// source again. Otherwise JOB/raw is dropped and the later stages read
// the source again, which their bytes read show. The prepare stage's
// note says which, and why; its output says so too, for a new leader.
//
// # Checkpoints
//
// The cluster stage commits the program's checkpoint with its progress
// (cmdJobProgress) after a step when Config.CheckpointEvery (100 ms by
// default) has passed since the last commit, when the phase or restart
// changes, and after the last step. Committing every step cost about 1 ms
// of CPU each (Bolt write with fdatasync, the FSM's apply, a push to every
// watcher), a fifth of a 1M-row iteration; a new leader repeats at most
// 100 ms of deterministic work, so the result is the same. The commit
// overlaps the next steps: one is in flight at a time, awaited before the
// next starts, so commits stay in order and a failed one stops the job
// soon after. Watchers therefore see progress up to ten times a second;
// Config.OnStep sees every step in process (the benchmarks time
// iterations with it).
//
// # Placement and failure
//
// A cluster executor runs a stage's steps over one dataset. Before each
// step it places the partitions by rendezvous hashing over the live
// workers; when the placement changes it tells each worker to hold
// exactly its partitions (LoadPartitions, exclusive) and commits the
// placement (cmdSetPlacement). A worker that fails a step or a load
// (Unavailable, DeadlineExceeded, Aborted), or that gossip declares gone
// while the step runs (the step's RPC to it is cancelled then, rather
// than waiting for TCP), is excluded from that dataset for the rest of
// the run, and its partitions are placed on the others and rebuilt there
// from their source. A worker that lost its partitions (it restarted)
// answers FailedPrecondition and is loaded again, at most three times a
// step. Partitions are deterministic and partials merge in partition-id
// order, so none of this changes a bit of the result.
//
// A run's datasets are dropped on the workers when the job ends, however
// it ends, unless the leader is stopping or lost leadership: its
// successor may still use them (the raw tables it restores the
// preparation over, a shuffle's buckets). The run that ends the job drops
// the job's name last, and a worker dropping JOB drops every JOB/...
// dataset and shuffle run with it, an earlier leader's too, as the FSM
// forgets their placements; clustertest's AwaitReleased checks that a
// job leaves nothing on any worker.
//
// # Shuffles
//
// A transaction log must become one row per customer, and a customer's
// lines lie in any piece of any file; so must the rows of one id under a
// data.duplicates rule. Neither may pass through one node. Both are a
// shuffle (shuffle.go), the integrate stage:
//
//  1. The pieces are a stream dataset (JOB/files, only the columns
//     needed): a worker reads each piece when the step maps it and lets it
//     go after, so a log far larger than memory shuffles in the memory of
//     its parts.
//  2. The buckets are one per piece, at least 16 and at most 1024, so the
//     count depends on the data, never on the workers; their holders are
//     the rendezvous placement of that many partitions over the live
//     workers.
//  3. A scatter step (features.AggregateStep, or prepare.DedupStep) runs
//     with the holders' addresses; each worker cuts each piece's output by
//     partition.Bucket(id) and hands every bucket's part, empty ones too,
//     to its holder (PushParts), worker to worker. The coordinator gets
//     only each piece's partial: line counts and the Tally of unreadable
//     rows, merged in piece order, checked against data.max_rejects and
//     written to the rejects files.
//  4. The buckets (partition.ShuffleSpec) are pinned to the holders the
//     shuffle chose, so a worker that joins later gets none of them, and
//     are loaded like any dataset: a holder builds a bucket from its
//     inbox by the builder registered for the shuffle's kind, merging the
//     parts in source piece order, so sums and row order do not depend on
//     placement. From there the preparation, the algorithm and the
//     assignments run as for pieces of files.
//
// A Program's own Regroup step is the same mechanism (the executor's
// Shuffle): its buckets are dataset JOB/regroup-N, pinned, and dropped
// with the job. algorithms.LocalExecutor is the in-process twin; the
// tests hold the cluster to it bit for bit on 1 and 3 workers.
//
// Failure. A holder that cannot be reached during the scatter makes the
// worker that ran the step answer with an ErrorInfo {reason:
// SHUFFLE_PEER_UNREACHABLE, peer}: the coordinator excludes the peer and
// runs the scatter again (a part sent again replaces the first; at most 4
// tries; a peer that answers with an error is not blamed). A bucket lives
// only in its holder's inbox, so a new leader restoring the integrate
// stage trusts the buckets to be where they were put; when a holder is
// gone (errShuffleLost, from the pinned placement) or restarted (loading
// answers DataLoss), the driver forgets the stages from integrate on
// (cmdStagesReset) and runs them again, up to 4 times, with the cluster
// stage resuming from its last checkpoint: reading, shuffling and
// preparing are deterministic, so the job ends with the same bits. Each
// run of a shuffle has a name of its own (JOB/shuffle-NONCE) and a worker
// refuses parts of a shuffle it dropped, so a late part of an earlier run
// can neither land in a later one nor bring a dropped one back. Dropping
// the job's dataset (JOB) drops every run of its shuffle, an earlier
// leader's too.
//
// # Uploads
//
// When the nodes cannot see the client's disk, the client streams
// data.path to the leader (UploadFile, 1 MiB chunks; a follower answers
// NOT_LEADER). Package upload names the file by its content,
// upload://SHA256/NAME, and stores it under the data directory's uploads
// folder (a temporary one without a data directory), refusing a file past
// Config.MaxUploadBytes (16 GiB by default). The leader records it
// (cmdAddUpload) and every other coordinator copies it from the others
// (FetchUpload), so any of them can lead a job over it. The plan is made
// from the leader's copy and the pieces keep the URI as their file name;
// a worker fetches its own copy from a coordinator gossip knows, once,
// and refuses it unless its hash is the one the URI names.
package coordinator
