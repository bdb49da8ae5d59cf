package partition

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// ShuffleMark separates a job from the run in a shuffle's name
// (JOB/shuffle-RUN), which the coordinator gives it: dropping JOB drops
// every run's parts.
const ShuffleMark = "/shuffle-"

// ShuffleSpec is a dataset made by a shuffle: a scatter step over another
// dataset's partitions (its sources) sent each bucket's part straight to
// the node that holds the bucket, so no node ever held every row. Buckets
// are the partitions; their count is fixed by the data, never by the
// number of workers.
type ShuffleSpec struct {
	// ID names the shuffle on the nodes that received its parts.
	ID      string `json:"id"`
	Buckets int    `json:"buckets"`
	// Sources is the partition count of the scattered dataset: a bucket is
	// whole once it has a part from each, merged in source order.
	Sources int `json:"sources"`
	// Kind names what builds a bucket's table from its parts, and Params
	// are its parameters.
	Kind   string          `json:"kind"`
	Params json.RawMessage `json:"params,omitempty"`
	// Schema is the columns of a bucket's table.
	Schema []Field `json:"schema"`
	// Join, when set, adds a column of another shuffle's rows to each
	// bucket's table, after Schema's.
	Join *Join `json:"join,omitempty"`
}

// Validate reports the first problem with the spec.
func (s *ShuffleSpec) Validate() error {
	switch {
	case s.ID == "":
		return errors.New("shuffle: no id")
	case s.Buckets < 1:
		return fmt.Errorf("shuffle %s: %d buckets", s.ID, s.Buckets)
	case s.Sources < 1:
		return fmt.Errorf("shuffle %s: %d sources", s.ID, s.Sources)
	case len(s.Schema) == 0:
		return fmt.Errorf("shuffle %s: no columns", s.ID)
	case s.Join != nil:
		if err := s.Join.Validate(); err != nil {
			return fmt.Errorf("shuffle %s: %w", s.ID, err)
		}
	}
	return nil
}

// BucketReader builds bucket id of a shuffled dataset, with the named
// columns (nil: every one), from the parts this node received, and says
// how many rows of the source it folded away as duplicates of a customer.
// Only a node that took part in the shuffle has one.
type BucketReader func(ctx context.Context, s *ShuffleSpec, id int, columns []string) (*Table, int64, error)

// ErrNoBuckets is the error of loading a shuffled dataset where no
// shuffle's parts are held (a Source opened without a BucketReader).
var ErrNoBuckets = errors.New("a shuffled dataset is read only where its buckets were sent")

// bucketSource reads a shuffled dataset's buckets as raw tables or, with a
// Preparer, as their features.
type bucketSource struct {
	spec    *ShuffleSpec
	read    BucketReader
	columns []string // of raw tables; nil for every column
	prep    Preparer
	keep    bool // as fileSource's
}

func (s *bucketSource) NumPartitions() int { return s.spec.Buckets }

func (s *bucketSource) Dims() int {
	if s.prep != nil {
		return s.prep.Width()
	}
	return len(s.spec.Schema)
}

func (s *bucketSource) Rows() int64 {
	if s.prep != nil {
		return s.prep.Total()
	}
	return 0
}

func (s *bucketSource) Load(ctx context.Context, id int) (*Block, error) {
	if id < 0 || id >= s.spec.Buckets {
		return nil, fmt.Errorf("bucket %d out of range [0, %d)", id, s.spec.Buckets)
	}
	if s.read == nil {
		return nil, ErrNoBuckets
	}
	columns := s.columns
	if s.prep != nil {
		columns = s.prep.Columns()
		if s.keep {
			columns = union(columns, s.columns)
		}
	}
	t, dups, err := s.read(ctx, s.spec, id, columns)
	if err != nil {
		return nil, err
	}
	reread := func(ctx context.Context, columns []string) (*Table, error) {
		t, _, err := s.read(ctx, s.spec, id, columns)
		return t, err
	}
	if s.prep == nil {
		return &Block{ID: id, Rows: t.Rows, Table: t, Duplicates: dups, Reread: reread}, nil
	}
	b, err := Prepare(id, t, s.prep)
	if err != nil {
		return nil, fmt.Errorf("prepare bucket %d of %s: %w", id, s.spec.ID, err)
	}
	b.Reread = reread
	if s.keep {
		b.Table, b.Reread = t, fromMemory(t)
	}
	return b, nil
}
