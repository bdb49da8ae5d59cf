package partition

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// DefaultPartitionRows is the smallest partition a spec without
// partition_rows gets: 128 Ki rows of 16 float32 dims is 8 MiB, big enough
// that per-partition overhead (an RPC entry, a partial, setting up a pass)
// is noise and small enough that a 2-core worker still gets several
// partitions of a million rows to balance across cores.
const DefaultPartitionRows = 1 << 17

// Larger datasets get larger partitions (PartitionRowsFor): about
// targetPartitions of them, up to maxPartitionBytes each. At 100M rows a
// step over 763 partitions of 8 MiB spent a quarter of its time on the
// per-partition overhead and the coordinator's share of 763 partials; over
// 128 partitions it runs within 1.1× of reading the data (bench/RESULTS.md).
const (
	targetPartitions  = 128
	maxPartitionBytes = 64 << 20
)

// PartitionRowsFor is the default partition size for rows of dims values:
// at least DefaultPartitionRows (fewer for rows wider than 16 dims, so a
// partition stays near 8 MiB, but never under 1024 rows).
func PartitionRowsFor(rows int64, dims int) int {
	rowBytes := int64(4 * PadDims(max(dims, 1)))
	floor := min(DefaultPartitionRows, max(1024, (8<<20)/rowBytes))
	byCount := (rows + targetPartitions - 1) / targetPartitions
	return int(max(min(byCount, maxPartitionBytes/rowBytes), floor))
}

// MaxDims bounds a dataset's width; beyond it a typo (rows and dims swapped)
// would allocate absurd centroid tables before any data is read.
const MaxDims = 1 << 16

// Spec names a dataset: which source and how it is cut. It travels in job
// specs (YAML), the Raft log and LoadPartitions requests (JSON).
type Spec struct {
	Synthetic     *SyntheticSpec `json:"synthetic,omitempty" yaml:"synthetic"`
	PartitionRows int            `json:"partition_rows,omitempty" yaml:"partition_rows"`
	// Files is a file dataset planned into pieces (PlanFiles), one a
	// partition. Without Prepare its blocks hold the raw tables; with it,
	// the features a fitted preparation makes of them.
	Files   *FileSet        `json:"files,omitempty" yaml:"-"`
	Prepare json.RawMessage `json:"prepare,omitempty" yaml:"-"`
	// Columns are the columns raw blocks (of files or a shuffle) hold
	// (nil: every one): a pass reads only what it needs.
	Columns []string `json:"columns,omitempty" yaml:"-"`
	// Shuffle is a dataset of buckets a shuffle sent to the workers that
	// hold them; like Files, raw tables, or features with Prepare.
	Shuffle *ShuffleSpec `json:"shuffle,omitempty" yaml:"-"`
	// Stream says a worker reads each partition when a step needs it and
	// lets it go after, instead of holding it: for a pass or two over data
	// far larger than memory, such as a transaction log being shuffled.
	Stream bool `json:"stream,omitempty" yaml:"-"`
	// From names the raw dataset (same partitions, Columns loaded) a
	// prepared dataset is made of: a node that holds a partition of it
	// prepares the block from that table in memory instead of reading the
	// source again (Env.Held), and keeps the table with the block (a block
	// it has to read from the source too), so the raw data is read once.
	// Without From, Reread reads the source again.
	From string `json:"from,omitempty" yaml:"-"`
	// Consume (with From, for files) lets each raw table go once its
	// block is made (Env.Take): raw rows and features need not fit in
	// memory together, only each of them alone. The blocks then hold no
	// table, and Reread reads the source again, as without From.
	Consume bool `json:"consume,omitempty" yaml:"-"`
}

// SyntheticSpec describes a generated dataset. Only "blobs" exists: a
// Gaussian mixture with known centres.
type SyntheticSpec struct {
	Kind     string  `json:"kind" yaml:"kind"`
	Rows     int64   `json:"rows" yaml:"rows"`
	Dims     int     `json:"dims" yaml:"dims"`
	Clusters int     `json:"clusters" yaml:"clusters"`
	Spread   float64 `json:"spread" yaml:"spread"`
	Seed     uint64  `json:"seed" yaml:"seed"`
	// Box is the half-width of the cube the centres are drawn from (default 10,
	// as scikit-learn's make_blobs), so spread alone sets how separated blobs are.
	Box float64 `json:"box,omitempty" yaml:"box"`
}

// partitionRows returns the partition size the spec asks for, or the
// default for its size.
func (s Spec) partitionRows() int {
	if s.PartitionRows > 0 {
		return s.PartitionRows
	}
	if s.Synthetic != nil {
		return PartitionRowsFor(s.Synthetic.Rows, s.Synthetic.Dims)
	}
	return DefaultPartitionRows
}

// Validate reports the first problem with the spec, naming the field.
func (s Spec) Validate() error {
	if s.PartitionRows < 0 {
		return fmt.Errorf("data.partition_rows must be positive (got %d)", s.PartitionRows)
	}
	if s.Consume && (s.From == "" || s.Files == nil || len(s.Prepare) == 0) {
		return errors.New("data: only prepared files made from a held raw dataset consume it")
	}
	if s.Shuffle != nil {
		if s.Synthetic != nil || s.Files != nil {
			return errors.New("data: a shuffled dataset has no other source")
		}
		return s.Shuffle.Validate()
	}
	if s.Files != nil {
		if s.Synthetic != nil {
			return errors.New("data: give data.path or data.synthetic, not both")
		}
		if len(s.Files.Pieces) == 0 {
			return errors.New("data: the file dataset has no pieces")
		}
		return nil
	}
	if s.Synthetic == nil {
		return errors.New("data: no source given; set data.path or data.synthetic")
	}
	return s.Synthetic.Validate()
}

// Validate reports the first problem with a synthetic spec, naming the field.
func (s *SyntheticSpec) Validate() error {
	switch {
	case s.Kind != "blobs":
		return fmt.Errorf("data.synthetic.kind %q is unknown; the only kind is \"blobs\"", s.Kind)
	case s.Rows < 1:
		return fmt.Errorf("data.synthetic.rows must be at least 1 (got %d)", s.Rows)
	case s.Dims < 1:
		return fmt.Errorf("data.synthetic.dims must be at least 1 (got %d)", s.Dims)
	case s.Dims > MaxDims:
		return fmt.Errorf("data.synthetic.dims %d exceeds the limit of %d", s.Dims, MaxDims)
	case s.Clusters < 1:
		return fmt.Errorf("data.synthetic.clusters must be at least 1 (got %d)", s.Clusters)
	case int64(s.Clusters) > s.Rows:
		return fmt.Errorf("data.synthetic.clusters (%d) exceeds rows (%d)", s.Clusters, s.Rows)
	case !(s.Spread > 0) || math.IsInf(s.Spread, 0):
		return fmt.Errorf("data.synthetic.spread must be a positive number (got %v)", s.Spread)
	case s.Box < 0 || math.IsInf(s.Box, 0) || math.IsNaN(s.Box):
		return fmt.Errorf("data.synthetic.box must be a non-negative number (got %v)", s.Box)
	}
	return nil
}

// Env is what opening a dataset may need besides its spec: a way to
// decode a fitted preparation into a Preparer (which this package cannot
// name without importing it), and, on a node that took part in a shuffle,
// the reader of the buckets it received. Either may be nil when the spec
// needs neither.
type Env struct {
	Prepare Opener
	Buckets BucketReader
	// Files turns a file name that is not a path on this node (an
	// upload://) into a local copy's path.
	Files FileResolver
	// Held is the partition id of a dataset this node holds, or nil.
	Held func(dataset string, id int) *Block
	// Take is Held that also lets the node's hold of the partition go.
	Take func(dataset string, id int) *Block
	// Dense keeps prepared blocks dense rather than packed (Block.Packed):
	// the form packing is checked against.
	Dense bool
}

// FileResolver is the local path of a file a dataset names by URI.
type FileResolver func(ctx context.Context, name string) (string, error)

// Open validates the spec and returns its source.
func Open(s Spec, env Env) (Source, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var prep Preparer
	if len(s.Prepare) > 0 {
		if env.Prepare == nil {
			return nil, errors.New("data: a prepared dataset, and no way to open its preparation")
		}
		p, err := env.Prepare(s.Prepare)
		if err != nil {
			return nil, fmt.Errorf("data: open the preparation: %w", err)
		}
		prep = p
		if env.Dense {
			prep = densePreparer{p}
		}
	}
	var src Source
	switch {
	case s.Shuffle != nil:
		src = &bucketSource{spec: s.Shuffle, read: env.Buckets, columns: s.Columns, prep: prep, keep: s.From != ""}
	case s.Files != nil:
		src = &fileSource{files: s.Files, columns: s.Columns, prep: prep, resolve: env.Files, keep: s.From != "" && !s.Consume}
	case prep != nil:
		return nil, errors.New("data: only data from files or a shuffle is prepared")
	default:
		return NewBlobs(*s.Synthetic, s.partitionRows())
	}
	if s.From != "" && prep != nil && env.Held != nil {
		held := env.Held
		if s.Consume {
			if held = env.Take; held == nil {
				return nil, errors.New("data: a dataset that consumes its raw tables, and no way to take them")
			}
		}
		return &heldSource{Source: src, from: s.From, held: held, prep: prep, consume: s.Consume}, nil
	}
	return src, nil
}

// Split cuts rows into fixed-size partitions: partition id covers rows
// [id*size, id*size+n). Only the last partition may be short.
type Split struct {
	Rows int64
	Size int
}

// NumPartitions is the number of partitions.
func (s Split) NumPartitions() int { return int((s.Rows + int64(s.Size) - 1) / int64(s.Size)) }

// Range returns the first row and row count of partition id.
func (s Split) Range(id int) (start int64, n int, err error) {
	if id < 0 || id >= s.NumPartitions() {
		return 0, 0, fmt.Errorf("partition %d out of range [0, %d)", id, s.NumPartitions())
	}
	start = int64(id) * int64(s.Size)
	return start, int(min(int64(s.Size), s.Rows-start)), nil
}
