package algorithms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cohort/cohort/algorithms/wire"
	"github.com/cohort/cohort/partition"
)

// Step kinds of subsets: a wrapped step is "subset/" and its inner kind,
// so a partial's kind (the step's) names the inner codec that decodes it.
const (
	subsetPrefix = "subset"
	kindCount    = subsetPrefix + "/count"
	kindRelease  = subsetPrefix + "/release"
)

func init() { RegisterSteps(subsetPrefix, subsetCodec{}) }

// subsetSalt keeps a subset's draw independent of the other draws a job
// makes from the same seed (k-means' samples, the silhouette's).
const subsetSalt = 0x3c6ef372fe94f82b

// Subset is a deterministic share of a dataset's rows: a row is in it when
// the hash of (Seed, partition ID, row position) falls below Fraction, or,
// with Complement, when it does not. A Subset and its Complementary
// therefore split the rows exactly, for a resample and the rows it left
// out, or a holdout and the rows fitted.
type Subset struct {
	Seed       uint64  `json:"seed"`
	Fraction   float64 `json:"fraction"`
	Complement bool    `json:"complement,omitempty"`
}

// Check refuses a fraction outside (0, 1): at 0 or 1 one side is empty.
func (s Subset) Check() error {
	if !(s.Fraction > 0 && s.Fraction < 1) { // NaN too
		return fmt.Errorf("subset fraction must be between 0 and 1, exclusive (got %v)", s.Fraction)
	}
	return nil
}

// Complementary is the rows s leaves out.
func (s Subset) Complementary() Subset {
	s.Complement = !s.Complement
	return s
}

// Rows lists b's rows in s, ascending: one splitmix64 step a row, as the
// other row draws take them.
func (s Subset) Rows(b *partition.Block) []int32 {
	h := partition.Mix64(s.Seed ^ subsetSalt)
	h = partition.Mix64(h ^ uint64(b.ID))
	want := s.Fraction
	if s.Complement {
		want = 1 - want
	}
	idx := make([]int32, 0, int(float64(b.Rows)*want*1.05)+16)
	for i := range b.Rows {
		if (partition.RowDraw(h, i) < s.Fraction) != s.Complement {
			idx = append(idx, int32(i))
		}
	}
	return idx
}

// Block is b's rows in s, as the wrapped steps see them (Block.Select):
// built afresh, for a caller outside the steps.
func (s Subset) Block(b *partition.Block) (*partition.Block, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	return b.Select(s.Rows(b)), nil
}

// subsetCache is what the subset's steps keep with a block between
// passes: the selection, hashed once, and the block of its rows with
// what the inner steps leave with it (k-means' distance bounds). Selecting
// and copying 105k × 16 rows every pass took 3 ms, 7 to 17 times the lazy
// Lloyd pass over them that it fed (BenchmarkSubsetLloyd), and losing the
// bounds with each pass's copy made every pass search every row, 10 ms;
// cached, a pass costs what it does over a dataset of those rows. The
// price is the subset's rows held beside the block's, in its form, until
// Release or another subset's steps take the block's scratch.
type subsetCache struct {
	sel   Subset
	rows  int     // the block's, to tell a cache of another block's shape
	idx   []int32 // the selection, until block is made of it
	block *partition.Block
}

// selection takes b's cached selection for s, or makes it; the caller
// puts it back with b.PutScratch. A cache of another subset (or another
// algorithm's scratch) is dropped: scratch is only an accelerator.
func (s Subset) selection(b *partition.Block) *subsetCache {
	c, ok := b.TakeScratch().(*subsetCache)
	if !ok || c.sel != s || c.rows != b.Rows {
		c = &subsetCache{sel: s, rows: b.Rows, idx: s.Rows(b)}
	}
	return c
}

// size is how many rows the selection holds.
func (c *subsetCache) size() int {
	if c.block != nil {
		return c.block.Rows
	}
	return len(c.idx)
}

// sub is the block of the selection's rows, made once.
func (c *subsetCache) sub(b *partition.Block) *partition.Block {
	if c.block == nil {
		c.block, c.idx = b.Select(c.idx), nil
	}
	return c.block
}

// Step wraps inner so that it maps only the rows of s. Its kind is
// "subset/" + inner's, its partial inner's own.
func (s Subset) Step(inner Step) *SubsetStep { return &SubsetStep{Subset: s, Inner: inner} }

// SubsetStep is a step run over a Subset of every partition's rows: its
// Map gives Inner a block of those rows with the partition's ID, so
// partials merge in partition order as over any dataset, and returns
// Inner's partial, which the inner kind's codec decodes.
type SubsetStep struct {
	Subset
	Inner Step
}

// subsetParams is a SubsetStep on the wire: the inner step's parameters
// inside the subset's.
type subsetParams struct {
	Subset
	Params []byte `json:"params"`
}

// Kind implements Step.
func (s *SubsetStep) Kind() string { return subsetPrefix + "/" + s.Inner.Kind() }

// MarshalBinary implements Step.
func (s *SubsetStep) MarshalBinary() ([]byte, error) {
	inner, err := s.Inner.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("subset of %s: %w", s.Inner.Kind(), err)
	}
	return json.Marshal(subsetParams{Subset: s.Subset, Params: inner})
}

// Map implements Step.
func (s *SubsetStep) Map(b *partition.Block) (Partial, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	if _, ok := s.Inner.(Scatter); ok {
		// A shuffle's buckets are other partitions, whose rows the
		// selection's positions do not name.
		return nil, fmt.Errorf("subset of %s: a subset cannot shuffle rows", s.Inner.Kind())
	}
	c := s.selection(b)
	p, err := s.Inner.Map(c.sub(b))
	b.PutScratch(c)
	if err != nil {
		return nil, fmt.Errorf("subset of %s: %w", s.Inner.Kind(), err)
	}
	return p, nil
}

// Count is the step that counts the rows of s: what a fit over the
// subset is started with (Config.New), since an algorithm's checks and
// sample sizes depend on the exact count, which the expected one,
// Fraction × rows, is not. Its partial is a *RowCount. It also leaves the
// selection cached with each block for the fit's steps.
func (s Subset) Count() Step { return &countStep{Subset: s} }

type countStep struct{ Subset }

func (s *countStep) Kind() string                   { return kindCount }
func (s *countStep) MarshalBinary() ([]byte, error) { return json.Marshal(s.Subset) }

func (s *countStep) Map(b *partition.Block) (Partial, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	c := s.selection(b)
	n := c.size()
	b.PutScratch(c)
	return &RowCount{Rows: int64(n)}, nil
}

// Release is the step that lets go of the rows any subset's steps keep
// with each block, once a job is done with the subset; other scratch is
// left alone. Its partial is a *RowCount of the rows let go.
func Release() Step { return releaseStep{} }

type releaseStep struct{}

func (releaseStep) Kind() string                   { return kindRelease }
func (releaseStep) MarshalBinary() ([]byte, error) { return nil, nil }

func (releaseStep) Map(b *partition.Block) (Partial, error) {
	held := b.TakeScratch()
	c, ok := held.(*subsetCache)
	if !ok {
		if held != nil {
			b.PutScratch(held)
		}
		return &RowCount{}, nil
	}
	return &RowCount{Rows: int64(c.size())}, nil
}

// RowCount is the partial of a Subset's Count.
type RowCount struct{ Rows int64 }

// Merge implements Partial.
func (p *RowCount) Merge(next Partial) error {
	n, ok := next.(*RowCount)
	if !ok {
		return fmt.Errorf("merge %T into a row count", next)
	}
	p.Rows += n.Rows
	return nil
}

// MarshalBinary implements Partial.
func (p *RowCount) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	w.I64(p.Rows)
	return w.B, nil
}

// CountRows runs s's Count over ex's partitions.
func (s Subset) CountRows(ctx context.Context, ex Executor) (int64, error) {
	if err := s.Check(); err != nil {
		return 0, err
	}
	p, err := ex.Run(ctx, s.Count())
	if err != nil {
		return 0, fmt.Errorf("count the subset's rows: %w", err)
	}
	n, ok := p.(*RowCount)
	if !ok {
		return 0, fmt.Errorf("count the subset's rows: a %T partial", p)
	}
	return n.Rows, nil
}

// Start counts the rows of s over ex, checks cfg against them and starts
// fitting it on them: the fit every step of which runs over the subset.
// It returns the count, which a checkpoint of the fit does not hold.
func (s Subset) Start(ctx context.Context, ex Executor, cfg Config, dims int) (Fit, int64, error) {
	rows, err := s.CountRows(ctx, ex)
	if err != nil {
		return nil, 0, err
	}
	if err := cfg.Check(rows, dims); err != nil {
		return nil, rows, fmt.Errorf("the subset's %d rows: %w", rows, err)
	}
	f, err := cfg.New(rows, dims)
	if err != nil {
		return nil, rows, fmt.Errorf("start the fit on the subset's %d rows: %w", rows, err)
	}
	return s.Fit(f), rows, nil
}

// Resume continues a fit over s from the checkpoint of the fit Start (or
// Fit) made: the checkpoint is the inner fit's own, so the subset must be
// the one it ran over.
func (s Subset) Resume(cfg Config, checkpoint []byte) (Fit, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	f, err := cfg.Resume(checkpoint)
	if err != nil {
		return nil, fmt.Errorf("resume the fit on the subset: %w", err)
	}
	return s.Fit(f), nil
}

// Program runs p over the rows of s: each step it proposes wrapped
// (Step), its partials, checkpoints and progress its own.
func (s Subset) Program(p Program) Program { return &subsetProgram{s: s, p: p} }

// Fit is Program for a Fit, which keeps its Model. f must have been
// started with the subset's row count (Count).
func (s Subset) Fit(f Fit) Fit { return &subsetFit{subsetProgram{s: s, p: f}, f} }

type subsetProgram struct {
	s Subset
	p Program
}

func (p *subsetProgram) Next() (Step, bool, error) {
	if err := p.s.Check(); err != nil {
		return nil, false, err
	}
	step, done, err := p.p.Next()
	if err != nil || done {
		return step, done, err
	}
	if _, ok := step.(Scatter); ok {
		return nil, false, fmt.Errorf("subset of %s: a subset cannot shuffle rows", step.Kind())
	}
	return p.s.Step(step), false, nil
}

func (p *subsetProgram) Update(merged Partial) error { return p.p.Update(merged) }
func (p *subsetProgram) Checkpoint() ([]byte, error) { return p.p.Checkpoint() }
func (p *subsetProgram) Progress() Progress          { return p.p.Progress() }

type subsetFit struct {
	subsetProgram
	f Fit
}

func (p *subsetFit) Model() (Model, error) { return p.f.Model() }

// subsetCodec decodes subset steps, their inner steps and partials by the
// registry's codecs.
type subsetCodec struct{}

func (subsetCodec) DecodeStep(kind string, params []byte) (Step, error) {
	inner, ok := strings.CutPrefix(kind, subsetPrefix+"/")
	if !ok {
		return nil, fmt.Errorf("unknown subset step %q", kind)
	}
	if kind == kindRelease {
		return releaseStep{}, nil
	}
	if kind == kindCount {
		s := &countStep{}
		if err := json.Unmarshal(params, &s.Subset); err != nil {
			return nil, fmt.Errorf("%s step: %w", kind, err)
		}
		return s, s.Check()
	}
	var p subsetParams
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, fmt.Errorf("%s step: %w", kind, err)
	}
	if err := p.Check(); err != nil {
		return nil, fmt.Errorf("%s step: %w", kind, err)
	}
	s, err := Registered().DecodeStep(inner, p.Params)
	if err != nil {
		return nil, fmt.Errorf("%s step: %w", kind, err)
	}
	return p.Subset.Step(s), nil
}

func (subsetCodec) DecodePartial(kind string, data []byte) (Partial, error) {
	inner, ok := strings.CutPrefix(kind, subsetPrefix+"/")
	switch {
	case !ok:
		return nil, fmt.Errorf("unknown subset partial %q", kind)
	case kind == kindCount || kind == kindRelease:
		r := &wire.Reader{B: data}
		p := &RowCount{Rows: r.I64()}
		if err := r.Done(kind + " partial"); err != nil {
			return nil, err
		}
		if p.Rows < 0 {
			return nil, errors.New(kind + " partial: a negative count")
		}
		return p, nil
	}
	p, err := Registered().DecodePartial(inner, data)
	if err != nil {
		return nil, fmt.Errorf("%s partial: %w", kind, err)
	}
	return p, nil
}

// Config is cfg fitted on the rows of s: its Fit's first step counts them
// (Count), and the fit it then starts is cfg's, every step over s. Unlike
// Start it needs no executor of its own, so a job can fit it, checkpoint
// and resume it as any Config.
func (s Subset) Config(cfg Config) Config { return &subsetConfig{s: s, cfg: cfg} }

// Inner is the fit a Subset's Config runs once it has counted its rows
// (nil before): for a caller that wants more of it than a Fit says.
func Inner(f Fit) Fit {
	if c, ok := f.(*countedFit); ok {
		if c.inner == nil {
			return nil
		}
		return c.inner.f
	}
	return f
}

type subsetConfig struct {
	s   Subset
	cfg Config
}

// Check refuses what cfg refuses of all the rows: the subset's exact
// count is known only once counted, and is checked then.
func (c *subsetConfig) Check(rows int64, dims int) error {
	if err := c.s.Check(); err != nil {
		return err
	}
	return c.cfg.Check(rows, dims)
}

func (c *subsetConfig) MaxIter() int { return c.cfg.MaxIter() }

func (c *subsetConfig) New(rows int64, dims int) (Fit, error) {
	if err := c.Check(rows, dims); err != nil {
		return nil, err
	}
	return &countedFit{c: c, dims: dims}, nil
}

// countedCheckpoint is a countedFit's: the count, and the inner fit's own
// checkpoint once it has started.
type countedCheckpoint struct {
	Dims int             `json:"dims"`
	Rows int64           `json:"rows"`
	Fit  json.RawMessage `json:"fit,omitempty"`
}

func (c *subsetConfig) Resume(checkpoint []byte) (Fit, error) {
	var cp countedCheckpoint
	if err := json.Unmarshal(checkpoint, &cp); err != nil {
		return nil, fmt.Errorf("subset fit checkpoint: %w", err)
	}
	f := &countedFit{c: c, dims: cp.Dims, rows: cp.Rows}
	if cp.Fit == nil {
		return f, nil
	}
	inner, err := c.s.Resume(c.cfg, cp.Fit)
	if err != nil {
		return nil, err
	}
	f.inner = inner.(*subsetFit)
	return f, nil
}

// countedFit counts the subset's rows, then runs the fit on them.
type countedFit struct {
	c     *subsetConfig
	dims  int
	rows  int64
	inner *subsetFit // nil until counted
	// counting: the count step is in flight.
	counting bool
}

func (f *countedFit) Next() (Step, bool, error) {
	if f.inner == nil {
		if err := f.c.s.Check(); err != nil {
			return nil, false, err
		}
		f.counting = true
		return f.c.s.Count(), false, nil
	}
	return f.inner.Next()
}

func (f *countedFit) Update(merged Partial) error {
	if !f.counting {
		if f.inner == nil {
			return errors.New("subset fit: an update before its rows were counted")
		}
		return f.inner.Update(merged)
	}
	f.counting = false
	n, ok := merged.(*RowCount)
	if !ok {
		return fmt.Errorf("subset fit: a %T partial where its row count was due", merged)
	}
	f.rows = n.Rows
	if err := f.c.cfg.Check(n.Rows, f.dims); err != nil {
		return fmt.Errorf("the subset (%d rows): %w", n.Rows, err)
	}
	inner, err := f.c.cfg.New(n.Rows, f.dims)
	if err != nil {
		return fmt.Errorf("start the fit on the subset's %d rows: %w", n.Rows, err)
	}
	f.inner = f.c.s.Fit(inner).(*subsetFit)
	return nil
}

func (f *countedFit) Checkpoint() ([]byte, error) {
	cp := countedCheckpoint{Dims: f.dims, Rows: f.rows}
	if f.inner != nil {
		b, err := f.inner.Checkpoint()
		if err != nil {
			return nil, err
		}
		cp.Fit = b
	}
	return json.Marshal(cp)
}

func (f *countedFit) Progress() Progress {
	if f.inner == nil {
		return Progress{Phase: "count"}
	}
	return f.inner.Progress()
}

func (f *countedFit) Model() (Model, error) {
	if f.inner == nil {
		return nil, errors.New("the subset's fit has not started")
	}
	return f.inner.Model()
}

// Rows is the count of the subset's rows (0 before it is counted).
func (f *countedFit) Rows() int64 { return f.rows }
