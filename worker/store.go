package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/prepare"
	"github.com/cohort/cohort/partition"
)

// ErrNotLoaded means a step named data this worker does not hold, for
// example after it restarted; the coordinator answers by loading it again.
var ErrNotLoaded = errors.New("not loaded on this worker")

type dataset struct {
	src    partition.Source
	spec   []byte // the spec it was opened with, as JSON
	blocks map[int]*partition.Block
	// stream datasets hold no blocks: held are the partitions placed here,
	// each read by the step that needs it (partition.Spec.Stream).
	stream bool
	held   map[int]bool
}

// Store holds partitions in memory, by dataset.
type Store struct {
	mu       sync.Mutex
	datasets map[string]*dataset
	parallel int
	// inbox holds the shuffles' parts for the buckets this worker holds,
	// which shuffled datasets are built from.
	inbox *Inbox
	// files resolves an uploaded file to a local copy; nil: none can be.
	files partition.FileResolver
	// dense keeps prepared blocks dense (Config.DenseBlocks).
	dense bool
	// built counts the blocks built from their source, since the store
	// began: what says a job read its data once however many fits it ran.
	built atomic.Int64
}

// NewStore returns an empty store that loads with up to parallel goroutines.
func NewStore(parallel int) *Store {
	return &Store{datasets: map[string]*dataset{}, parallel: max(parallel, 1), inbox: newInbox()}
}

// Load makes the store hold the given partitions, building missing ones from
// the source, and returns what building them read from the source. With
// exclusive, partitions not listed are released: that is how a
// re-placement moves partitions off this worker.
func (s *Store) Load(ctx context.Context, name string, spec partition.Spec, ids []int, exclusive bool) (int64, error) {
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return 0, fmt.Errorf("dataset %s: %w", name, err)
	}
	s.mu.Lock()
	ds, ok := s.datasets[name]
	if ok && !bytes.Equal(ds.spec, specJSON) {
		// The same name with another spec (a new leader's run of a
		// regroup, a shuffle run again): what is held is another
		// dataset's, and goes.
		delete(s.datasets, name)
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		src, err := partition.Open(spec, partition.Env{Prepare: prepare.Open, Buckets: s.bucket, Files: s.files, Held: s.held, Take: s.take, Dense: s.dense})
		if err != nil {
			return 0, fmt.Errorf("open dataset %s: %w", name, err)
		}
		ds = &dataset{src: src, spec: specJSON, blocks: map[int]*partition.Block{}, stream: spec.Stream, held: map[int]bool{}}
		s.mu.Lock()
		if cur, ok := s.datasets[name]; ok {
			ds = cur
		} else {
			s.datasets[name] = ds
		}
		s.mu.Unlock()
	}
	want := map[int]bool{}
	var missing []int
	s.mu.Lock()
	for _, id := range ids {
		if id < 0 || id >= ds.src.NumPartitions() {
			s.mu.Unlock()
			return 0, fmt.Errorf("dataset %s has %d partitions, asked for %d", name, ds.src.NumPartitions(), id)
		}
		want[id] = true
		if _, ok := ds.blocks[id]; !ok {
			missing = append(missing, id)
		}
	}
	if exclusive {
		for id := range ds.blocks {
			if !want[id] {
				delete(ds.blocks, id)
			}
		}
		for id := range ds.held {
			if !want[id] {
				delete(ds.held, id)
			}
		}
	}
	if ds.stream {
		for id := range want {
			ds.held[id] = true
		}
		s.mu.Unlock()
		return 0, nil
	}
	s.mu.Unlock()

	var read atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.parallel)
	for _, id := range missing {
		g.Go(func() error {
			b, err := ds.src.Load(gctx, id)
			if err != nil {
				return fmt.Errorf("load partition %d of %s: %w", id, name, err)
			}
			read.Add(b.BytesRead)
			s.built.Add(1)
			s.mu.Lock()
			ds.blocks[id] = b
			s.mu.Unlock()
			return nil
		})
	}
	err = g.Wait()
	return read.Load(), err
}

// held is a partition this store holds in memory, or nil: what a
// dataset made from another (partition.Spec.From) is prepared from.
func (s *Store) held(name string, id int) *partition.Block {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ds, ok := s.datasets[name]; ok {
		return ds.blocks[id]
	}
	return nil
}

// take is held, and the store lets the partition go: the dataset made
// from it consumes it (partition.Spec.Consume).
func (s *Store) take(name string, id int) *partition.Block {
	s.mu.Lock()
	defer s.mu.Unlock()
	ds, ok := s.datasets[name]
	if !ok {
		return nil
	}
	b := ds.blocks[id]
	delete(ds.blocks, id)
	return b
}

// Streamed says whether the named dataset is read by each step that maps
// it (partition.Spec.Stream) rather than held.
func (s *Store) Streamed(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ds, ok := s.datasets[name]
	return ok && ds.stream
}

// Partitions returns a way to get each named partition, which must have
// been loaded: a block held in memory, or, for a stream dataset, one read
// when called, for the caller alone to drop when done.
func (s *Store) Partitions(name string, ids []int) ([]func(context.Context) (*partition.Block, error), error) {
	s.mu.Lock()
	ds, ok := s.datasets[name]
	stream := ok && ds.stream
	if stream {
		for _, id := range ids {
			if !ds.held[id] {
				s.mu.Unlock()
				return nil, fmt.Errorf("partition %d of %s: %w", id, name, ErrNotLoaded)
			}
		}
	}
	s.mu.Unlock()
	out := make([]func(context.Context) (*partition.Block, error), len(ids))
	if stream {
		for i, id := range ids {
			out[i] = func(ctx context.Context) (*partition.Block, error) {
				b, err := ds.src.Load(ctx, id)
				if err != nil {
					return nil, fmt.Errorf("load partition %d of %s: %w", id, name, err)
				}
				return b, nil
			}
		}
		return out, nil
	}
	blocks, err := s.Blocks(name, ids)
	if err != nil {
		return nil, err
	}
	for i, b := range blocks {
		out[i] = func(context.Context) (*partition.Block, error) { return b, nil }
	}
	return out, nil
}

// Blocks returns the named partitions, which must have been loaded and be
// held in memory.
func (s *Store) Blocks(name string, ids []int) ([]*partition.Block, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ds, ok := s.datasets[name]
	if !ok {
		return nil, fmt.Errorf("dataset %q: %w", name, ErrNotLoaded)
	}
	if ds.stream {
		return nil, fmt.Errorf("dataset %q is read by each step, not held", name)
	}
	out := make([]*partition.Block, len(ids))
	for i, id := range ids {
		b, ok := ds.blocks[id]
		if !ok {
			return nil, fmt.Errorf("partition %d of %s: %w", id, name, ErrNotLoaded)
		}
		out[i] = b
	}
	return out, nil
}

// bucket builds a bucket of a shuffled dataset from the parts received.
func (s *Store) bucket(ctx context.Context, sh *partition.ShuffleSpec, id int, columns []string) (*partition.Table, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	parts, err := s.inbox.Parts(sh.ID, id, sh.Sources)
	if err != nil {
		return nil, 0, err
	}
	j := sh.Join
	if j == nil || columns != nil && !slices.Contains(columns, j.Column) {
		t, dups, err := algorithms.BuildBucket(sh, parts, columns)
		if err != nil {
			return nil, 0, fmt.Errorf("bucket %d of %s: %w", id, sh.ID, err)
		}
		return t, dups, nil
	}
	// The joined column is wanted: the bucket is built whole, for its ids,
	// and the joined shuffle's bucket of the same number is on this worker
	// too (it was placed alike).
	joined, err := s.inbox.Parts(j.ID, id, j.Sources)
	if err != nil {
		return nil, 0, err
	}
	t, dups, err := algorithms.BuildBucket(sh, parts, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("bucket %d of %s: %w", id, sh.ID, err)
	}
	if err := j.Apply(t, joined); err != nil {
		return nil, 0, fmt.Errorf("bucket %d of %s: join %s: %w", id, sh.ID, j.Column, err)
	}
	if columns != nil {
		if t, err = t.Project(columns); err != nil {
			return nil, 0, fmt.Errorf("bucket %d of %s: %w", id, sh.ID, err)
		}
	}
	return t, dups, nil
}

// Drop releases a dataset, or a shuffle's parts, by name. Dropping a
// job's dataset (JOB, a name without "/") also drops its other datasets
// (JOB/raw, JOB/regroup-N) and every run of its shuffle (JOB/shuffle-*):
// an earlier leader's, which it left for its successor, are named by no
// later one.
func (s *Store) Drop(name string) {
	s.mu.Lock()
	delete(s.datasets, name)
	if !strings.Contains(name, "/") {
		for other := range s.datasets {
			if strings.HasPrefix(other, name+"/") {
				delete(s.datasets, other)
			}
		}
	}
	s.mu.Unlock()
	if strings.Contains(name, partition.ShuffleMark) {
		s.inbox.Drop(name)
		return
	}
	s.inbox.DropPrefix(name + partition.ShuffleMark)
}

// Built is how many partition blocks the store has built from their
// source since it began; a block it already held does not count again.
func (s *Store) Built() int64 { return s.built.Load() }

// ShuffleParts reports the shuffle parts the store's inbox holds.
func (s *Store) ShuffleParts() (parts int, bytes int64) { return s.inbox.Stats() }

// Stats reports what the store holds.
func (s *Store) Stats() (datasets, partitions int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ds := range s.datasets {
		datasets++
		partitions += len(ds.held)
		for _, b := range ds.blocks {
			partitions++
			bytes += b.Bytes()
		}
	}
	return datasets, partitions, bytes
}
