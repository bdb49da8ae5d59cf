package algorithms_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/cohort/cohort/algorithms"
	_ "github.com/cohort/cohort/algorithms/kmeans" // registers kmeans
	"github.com/cohort/cohort/partition"
)

// wireExecutor maps every block as a worker does and merges as the
// coordinator does: the step and each partial through the registry's
// codecs, by the step's kind.
type wireExecutor struct {
	t      testing.TB
	blocks []*partition.Block
}

func (e *wireExecutor) Run(ctx context.Context, step algorithms.Step) (algorithms.Partial, error) {
	codec := algorithms.Registered()
	params, err := step.MarshalBinary()
	if err != nil {
		return nil, err
	}
	var parts []algorithms.Partial
	for _, b := range e.blocks {
		s, err := codec.DecodeStep(step.Kind(), params)
		if err != nil {
			return nil, fmt.Errorf("decode %s: %w", step.Kind(), err)
		}
		p, err := s.Map(b)
		if err != nil {
			return nil, err
		}
		data, err := p.MarshalBinary()
		if err != nil {
			return nil, err
		}
		if p, err = codec.DecodePartial(step.Kind(), data); err != nil {
			return nil, fmt.Errorf("decode the %s partial: %w", step.Kind(), err)
		}
		parts = append(parts, p)
	}
	return algorithms.MergeInOrder(parts)
}

// blobBlocks are parts blocks of rows around k centres in dims.
func blobBlocks(parts, rows, k, dims int, seed uint64) []*partition.Block {
	rng := rand.New(rand.NewPCG(seed, 9))
	centres := make([][]float64, k)
	for c := range centres {
		centres[c] = make([]float64, dims)
		for j := range centres[c] {
			centres[c][j] = 20 * (rng.Float64() - 0.5)
		}
	}
	var out []*partition.Block
	for p := range parts {
		b := partition.NewBlock(p, rows, dims)
		for i := range rows {
			c := centres[rng.IntN(k)]
			for j := range dims {
				b.Data[i*b.Stride+j] = float32(c[j] + 2*rng.NormFloat64())
			}
			b.IDs[i] = int64(p*rows + i)
		}
		out = append(out, b)
	}
	return out
}

// kmeansConfig is a k-means cluster section configured as a job does.
func kmeansConfig(t testing.TB, section string, seed uint64) algorithms.Config {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(section), &doc); err != nil {
		t.Fatal(err)
	}
	a, err := algorithms.Lookup("kmeans")
	if err != nil {
		t.Fatal(err)
	}
	p, err := algorithms.NewParams("cluster", doc.Content[0], a.Params, "algorithm")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := a.Configure(p, seed)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// encoded is a finished fit's model, encoded: equal bytes, equal bits.
func encoded(t testing.TB, f algorithms.Fit) []byte {
	t.Helper()
	m, err := f.Model()
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// fitAll fits cfg on every row of blocks.
func fitAll(t testing.TB, cfg algorithms.Config, blocks []*partition.Block) []byte {
	t.Helper()
	var rows int64
	for _, b := range blocks {
		rows += int64(b.Rows)
	}
	f, err := cfg.New(rows, blocks[0].Dims)
	if err != nil {
		t.Fatal(err)
	}
	if err := algorithms.Drive(context.Background(), f, &algorithms.LocalExecutor{Blocks: blocks, Parallelism: 2}, nil); err != nil {
		t.Fatal(err)
	}
	return encoded(t, f)
}

// copies are blocks with the same rows and no scratch: another worker's.
func copies(blocks []*partition.Block) []*partition.Block {
	out := make([]*partition.Block, len(blocks))
	for i, b := range blocks {
		all := make([]int32, b.Rows)
		for r := range all {
			all[r] = int32(r)
		}
		out[i] = b.Select(all)
	}
	return out
}

// A k-means fit over a subset, its steps and partials through the
// registry's codecs, has the bits of the same fit over a dataset of only
// the subset's rows, on one partition and on several, for a resample and
// its complement; with an initialisation sample (whose share follows the
// row count) and without; and the two sides split the rows exactly.
func TestSubsetFitIsTheFitOfTheSelectedRows(t *testing.T) {
	ctx := context.Background()
	for _, parts := range []int{1, 4} {
		blocks := blobBlocks(parts, 3000/parts, 5, 3, uint64(parts))
		for _, section := range []string{"k: 5\nmax_iter: 30\nrestarts: 2\n", "k: 5\ninit_sample: 600\ntol: 0\nmax_iter: 12\n"} {
			cfg := kmeansConfig(t, section, 11)
			resample := algorithms.Subset{Seed: 7, Fraction: 0.8}
			var seen int64
			for _, s := range []algorithms.Subset{resample, resample.Complementary()} {
				var only []*partition.Block
				for _, b := range blocks {
					sb, err := s.Block(b)
					if err != nil {
						t.Fatal(err)
					}
					only = append(only, sb)
				}
				want := fitAll(t, cfg, only)
				ex := &wireExecutor{t: t, blocks: blocks}
				f, rows, err := s.Start(ctx, ex, cfg, 3)
				if err != nil {
					t.Fatal(err)
				}
				if err := algorithms.Drive(ctx, f, ex, nil); err != nil {
					t.Fatal(err)
				}
				if got := encoded(t, f); !bytes.Equal(got, want) {
					t.Fatalf("%d partitions, %+v, %q: the subset's fit\n%s\nthe selected rows' fit\n%s", parts, s, section, got, want)
				}
				// The same fit as a Config, which counts its rows itself.
				c, err := s.Config(cfg).New(3000, 3)
				if err != nil {
					t.Fatal(err)
				}
				if err := algorithms.Drive(ctx, c, ex, nil); err != nil {
					t.Fatal(err)
				}
				if got := encoded(t, c); !bytes.Equal(got, want) {
					t.Fatalf("%d partitions, %+v, %q: the subset's Config fitted\n%s\nthe selected rows' fit\n%s", parts, s, section, got, want)
				}
				if inner := algorithms.Inner(c); inner == nil || inner == c {
					t.Fatal("Inner of a counted fit is not its fit")
				}
				seen += rows
			}
			if seen != 3000 {
				t.Fatalf("%d partitions: a subset and its complement hold %d of 3000 rows", parts, seen)
			}
		}
	}
}

// Resuming a subset's fit from its checkpoint after any step finishes as
// the uninterrupted fit, on the blocks that ran it (their caches warm)
// and on fresh copies of them (a new worker's).
func TestSubsetFitResumesFromAnyCheckpoint(t *testing.T) {
	ctx := context.Background()
	blocks := blobBlocks(3, 800, 4, 3, 5)
	cfg := kmeansConfig(t, "k: 4\nmax_iter: 10\nrestarts: 2\n", 3)
	s := algorithms.Subset{Seed: 2, Fraction: 0.3, Complement: true}
	ex := &algorithms.LocalExecutor{Blocks: blocks, Parallelism: 2}
	f, _, err := s.Start(ctx, ex, cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	var cps [][]byte
	if err := algorithms.Drive(ctx, f, ex, func(_ algorithms.Progress, cp []byte) error {
		cps = append(cps, cp)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := encoded(t, f)
	if len(cps) < 8 {
		t.Fatalf("only %d steps", len(cps))
	}
	// The same as a Config, from its own checkpoints, the count's among them.
	var counted [][]byte
	c, err := s.Config(cfg).New(2400, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := algorithms.Drive(ctx, c, ex, func(_ algorithms.Progress, cp []byte) error {
		counted = append(counted, cp)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := encoded(t, c); !bytes.Equal(got, want) {
		t.Fatalf("the subset's Config fitted %s, want %s", got, want)
	}
	for i, cp := range counted {
		r, err := s.Config(cfg).Resume(cp)
		if err != nil {
			t.Fatal(err)
		}
		if err := algorithms.Drive(ctx, r, &algorithms.LocalExecutor{Blocks: copies(blocks), Parallelism: 3}, nil); err != nil {
			t.Fatal(err)
		}
		if got := encoded(t, r); !bytes.Equal(got, want) {
			t.Fatalf("the Config resumed after step %d of %d: %s, want %s", i, len(counted), got, want)
		}
	}
	for i, cp := range cps {
		for _, on := range [][]*partition.Block{blocks, copies(blocks)} {
			r, err := s.Resume(cfg, cp)
			if err != nil {
				t.Fatal(err)
			}
			if err := algorithms.Drive(ctx, r, &algorithms.LocalExecutor{Blocks: on, Parallelism: 3}, nil); err != nil {
				t.Fatal(err)
			}
			if got := encoded(t, r); !bytes.Equal(got, want) {
				t.Fatalf("resumed after step %d of %d: %s, want %s", i, len(cps), got, want)
			}
		}
	}
}

// Every k-means step, wrapped, crosses the wire and back to the same
// step, and its partial to the same partial.
func TestSubsetStepsRoundTripThroughTheRegistry(t *testing.T) {
	blocks := blobBlocks(2, 500, 3, 2, 8)
	cfg := kmeansConfig(t, "k: 3\nmax_iter: 5\n", 1)
	s := algorithms.Subset{Seed: 4, Fraction: 0.5}
	codec := algorithms.Registered()
	f, _, err := s.Start(context.Background(), &algorithms.LocalExecutor{Blocks: blocks}, cfg, 2)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for {
		step, done, err := f.Next()
		if err != nil {
			t.Fatal(err)
		}
		if done {
			break
		}
		kinds[step.Kind()] = true
		params, err := step.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		back, err := codec.DecodeStep(step.Kind(), params)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := back.MarshalBinary()
		if back.Kind() != step.Kind() || !bytes.Equal(again, params) {
			t.Fatalf("%s: decoded as %s, %s, from %s", step.Kind(), back.Kind(), again, params)
		}
		var parts []algorithms.Partial
		for _, b := range blocks {
			p, err := back.Map(b)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := p.MarshalBinary()
			q, err := codec.DecodePartial(step.Kind(), data)
			if err != nil {
				t.Fatal(err)
			}
			if data2, _ := q.MarshalBinary(); !bytes.Equal(data, data2) {
				t.Fatalf("%s partial changed on the wire", step.Kind())
			}
			parts = append(parts, q)
		}
		merged, err := algorithms.MergeInOrder(parts)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Update(merged); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"subset/kmeans/pick", "subset/kmeans/lloyd"} {
		if !kinds[k] {
			t.Errorf("no %s step among %v", k, kinds)
		}
	}
}

// lloydStep is cfg's first Lloyd step over rows × dims.
func lloydStep(b *testing.B, cfg algorithms.Config, blocks []*partition.Block) algorithms.Step {
	var rows int64
	for _, blk := range blocks {
		rows += int64(blk.Rows)
	}
	f, err := cfg.New(rows, blocks[0].Dims)
	if err != nil {
		b.Fatal(err)
	}
	ex := &algorithms.LocalExecutor{Blocks: blocks}
	for {
		step, _, err := f.Next()
		if err != nil {
			b.Fatal(err)
		}
		if step.Kind() == "kmeans/lloyd" {
			return step
		}
		p, err := ex.Run(context.Background(), step)
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Update(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSubsetLloyd is the cost of a Lloyd pass over a resample of
// 0.8 of a 128k × 16 block: on a block of only those rows (the floor);
// through SubsetStep, the block of the selected rows and its distance
// bounds cached with the block; with the rows copied every pass, the
// bounds carried over (what caching only the selection would cost); and
// with nothing kept (every pass selects again and, its bounds lost with
// the last pass's copy, searches every row). The same centroids every
// pass: the lazy passes skip every row, so a copy's share is the largest
// it can be.
func BenchmarkSubsetLloyd(b *testing.B) {
	blocks := blobBlocks(1, 1<<17, 8, 16, 1)
	cfg := kmeansConfig(b, "k: 8\n", 1)
	s := algorithms.Subset{Seed: 1, Fraction: 0.8}
	only, _ := s.Block(blocks[0])
	b.Run("selected-rows", func(b *testing.B) {
		step := lloydStep(b, cfg, []*partition.Block{only})
		for b.Loop() {
			if _, err := step.Map(only); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("subset-cached", func(b *testing.B) {
		step := s.Step(lloydStep(b, cfg, []*partition.Block{only}))
		for b.Loop() {
			if _, err := step.Map(blocks[0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("copied-each-pass", func(b *testing.B) {
		step := lloydStep(b, cfg, []*partition.Block{only})
		var held any
		for b.Loop() {
			sub, err := s.Block(blocks[0])
			if err != nil {
				b.Fatal(err)
			}
			if held != nil {
				sub.PutScratch(held)
			}
			if _, err := step.Map(sub); err != nil {
				b.Fatal(err)
			}
			held = sub.TakeScratch()
		}
	})
	b.Run("subset-uncached", func(b *testing.B) {
		step := s.Step(lloydStep(b, cfg, []*partition.Block{only}))
		for b.Loop() {
			blocks[0].TakeScratch()
			if _, err := step.Map(blocks[0]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
