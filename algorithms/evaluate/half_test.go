package evaluate

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/kmeans"
	"github.com/cohort/cohort/partition"
)

// meddling runs steps on blocks in this process, and lets a test change
// the distances steps (their number from 0) or the blocks before they run.
type meddling struct {
	algorithms.LocalExecutor
	steps  int
	before func(n int, s *distancesStep, blocks []*partition.Block)
	twice  int // the distances step run twice, the first partial dropped; −1 none
}

func (e *meddling) Run(ctx context.Context, step algorithms.Step) (algorithms.Partial, error) {
	s, ok := step.(*distancesStep)
	if !ok {
		return e.LocalExecutor.Run(ctx, step)
	}
	n := e.steps
	e.steps++
	if e.before != nil {
		e.before(n, s, e.Blocks)
	}
	if n == e.twice {
		if _, err := e.LocalExecutor.Run(ctx, step); err != nil {
			return nil, err
		}
	}
	return e.LocalExecutor.Run(ctx, step)
}

func halvedReport(t *testing.T, cfg Config, blocks []*partition.Block, ex *meddling) (*Report, error) {
	t.Helper()
	m := modelOf(t, references(t)["blobs"])
	var rows int64
	for _, b := range blocks {
		rows += int64(b.Rows)
	}
	p, err := New(cfg, kmeans.Name, m, rows, blocks[0].Dims)
	if err != nil {
		t.Fatal(err)
	}
	ex.Blocks = blocks
	if err := algorithms.Drive(context.Background(), p, ex, nil); err != nil {
		return nil, err
	}
	return p.Report()
}

// Measuring each pair once, over batches that do not divide the rows or
// the partitions, gives what measuring both ways does (to the rounding of
// the sums' other order), with the same bits for any parallelism.
func TestHalvedSilhouetteIsBothWays(t *testing.T) {
	blocks := partition.BlocksOf(readRows(t, "testdata/blobs.csv", false, 0, 1, 2, 3), 5)
	for _, distance := range []string{Euclidean, Manhattan} {
		cfg := Config{Batch: 97, Distance: distance}
		half, err := halvedReport(t, cfg, blocks, &meddling{twice: -1, LocalExecutor: algorithms.LocalExecutor{Parallelism: 1}})
		if err != nil {
			t.Fatal(err)
		}
		halves := 0
		both, err := halvedReport(t, cfg, blocks, &meddling{twice: -1, before: func(_ int, s *distancesStep, _ []*partition.Block) {
			if s.Half != nil {
				halves++
			}
			s.Half = nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		if halves != (3000+96)/97 {
			t.Fatalf("%s: %d of the distances steps were halved, want all", distance, halves)
		}
		close := func(what string, a, b *float64) {
			if a == nil || b == nil || math.Abs(*a-*b) > 1e-13*math.Abs(*b) {
				t.Fatalf("%s %s: halved %v, both ways %v", distance, what, a, b)
			}
		}
		close("silhouette", half.Silhouette, both.Silhouette)
		for c := range half.PerSegment {
			close("segment silhouette", half.PerSegment[c].Silhouette, both.PerSegment[c].Silhouette)
		}
		again, err := halvedReport(t, cfg, blocks, &meddling{twice: -1, LocalExecutor: algorithms.LocalExecutor{Parallelism: 3}})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again, half) {
			t.Fatalf("%s: the halved report changed with the parallelism", distance)
		}
	}
}

// A partition that loses what it kept (its block loaded again without it,
// or a step run twice over it) makes the distances start again, to the
// undisturbed bits; one that keeps losing it fails the evaluation rather
// than give sums with pairs missing.
func TestLostKeptSumsStartTheDistancesAgain(t *testing.T) {
	rows := readRows(t, "testdata/blobs.csv", false, 0, 1, 2, 3)
	cfg := Config{Batch: 500}
	want, err := halvedReport(t, cfg, partition.BlocksOf(rows, 4), &meddling{twice: -1})
	if err != nil {
		t.Fatal(err)
	}
	reloaded, err := halvedReport(t, cfg, partition.BlocksOf(rows, 4), &meddling{twice: -1, before: func(n int, _ *distancesStep, blocks []*partition.Block) {
		if n == 3 {
			blocks[2].TakeScratch()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(reloaded, want) {
		t.Fatal("a partition loaded again changed the report")
	}
	twice, err := halvedReport(t, cfg, partition.BlocksOf(rows, 4), &meddling{twice: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(twice, want) {
		t.Fatal("a step run twice changed the report")
	}
	_, err = halvedReport(t, cfg, partition.BlocksOf(rows, 4), &meddling{twice: -1, before: func(_ int, s *distancesStep, blocks []*partition.Block) {
		if s.Half.Lo == 2000 {
			blocks[3].TakeScratch()
		}
	}})
	if err == nil || !strings.Contains(err.Error(), "lost their kept distance sums") {
		t.Fatalf("losing the kept sums every time: %v, want an error saying so", err)
	}
}
