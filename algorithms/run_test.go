package algorithms

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cohort/cohort/partition"
)

// orderPartial records the partition ids merged into it, in merge order.
type orderPartial struct{ ids []int }

func (p *orderPartial) Merge(next Partial) error {
	p.ids = append(p.ids, next.(*orderPartial).ids...)
	return nil
}
func (p *orderPartial) MarshalBinary() ([]byte, error) { return nil, nil }

// idStep maps a block to its id, counting concurrent Maps.
type idStep struct {
	running, peak atomic.Int32
	fail          int
}

func (s *idStep) Kind() string                   { return "test/id" }
func (s *idStep) MarshalBinary() ([]byte, error) { return nil, nil }
func (s *idStep) Map(b *partition.Block) (Partial, error) {
	n := s.running.Add(1)
	defer s.running.Add(-1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	if b.ID == s.fail {
		return nil, errors.New("boom")
	}
	return &orderPartial{ids: []int{b.ID}}, nil
}

func blocks(n int) []*partition.Block {
	out := make([]*partition.Block, n)
	for i := range out {
		out[i] = partition.NewBlock(i, 1, 1)
	}
	return out
}

func TestLocalExecutorMergesInPartitionOrderWithinItsParallelism(t *testing.T) {
	step := &idStep{fail: -1}
	ex := &LocalExecutor{Blocks: blocks(20), Parallelism: 3}
	got, err := ex.Run(context.Background(), step)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range got.(*orderPartial).ids {
		if id != i {
			t.Fatalf("merge order %v", got.(*orderPartial).ids)
		}
	}
	if p := step.peak.Load(); p > 3 {
		t.Fatalf("%d Maps ran at once with parallelism 3", p)
	}
}

func TestLocalExecutorReportsTheFailingPartition(t *testing.T) {
	_, err := (&LocalExecutor{Blocks: blocks(5)}).Run(context.Background(), &idStep{fail: 3})
	if err == nil || !strings.Contains(err.Error(), "partition 3") {
		t.Fatalf("error %v does not name partition 3", err)
	}
}

func TestLocalExecutorStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&LocalExecutor{Blocks: blocks(5)}).Run(ctx, &idStep{fail: -1}); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestMergeInOrderRefusesGaps(t *testing.T) {
	if _, err := MergeInOrder(nil); err == nil {
		t.Fatal("merged nothing")
	}
	if _, err := MergeInOrder([]Partial{&orderPartial{}, nil}); err == nil || !strings.Contains(err.Error(), "partial 1") {
		t.Fatalf("error %v", err)
	}
}

type nopCodec struct{ name string }

func (c nopCodec) DecodeStep(kind string, _ []byte) (Step, error) { return &idStep{}, nil }
func (c nopCodec) DecodePartial(kind string, _ []byte) (Partial, error) {
	return &orderPartial{}, nil
}

func TestCodecsDispatchByPrefix(t *testing.T) {
	c := Codecs{"kmeans": nopCodec{}}
	if _, err := c.DecodeStep("kmeans/lloyd", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DecodePartial("dbscan/grid", nil); err == nil || !strings.Contains(err.Error(), "dbscan/grid") {
		t.Fatalf("error %v does not name the kind", err)
	}
}

// countdown finishes after n steps and can fail its checkpoint consumer.
type countdown struct{ n, updates int }

func (c *countdown) Next() (Step, bool, error) { return &idStep{fail: -1}, c.updates == c.n, nil }
func (c *countdown) Update(Partial) error      { c.updates++; return nil }
func (c *countdown) Checkpoint() ([]byte, error) {
	return []byte{byte(c.updates)}, nil
}
func (c *countdown) Progress() Progress { return Progress{Iteration: c.updates} }

func TestDriveCheckpointsEveryStepAndStopsOnError(t *testing.T) {
	var seen []byte
	err := Drive(context.Background(), &countdown{n: 4}, &LocalExecutor{Blocks: blocks(2)}, func(p Progress, cp []byte) error {
		seen = append(seen, cp...)
		return nil
	})
	if err != nil || string(seen) != "\x01\x02\x03\x04" {
		t.Fatalf("err %v, checkpoints %v", err, seen)
	}
	stop := errors.New("lost leadership")
	err = Drive(context.Background(), &countdown{n: 4}, &LocalExecutor{Blocks: blocks(2)}, func(p Progress, cp []byte) error {
		if p.Iteration == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("error %v", err)
	}
}

func TestMergeInOrderFoldsLeftIntoTheFirstPartial(t *testing.T) {
	parts := make([]Partial, 6)
	for i := range parts {
		parts[i] = &orderPartial{ids: []int{i}}
	}
	got, err := MergeInOrder(parts)
	if err != nil {
		t.Fatal(err)
	}
	if got != parts[0] || !slices.Equal(got.(*orderPartial).ids, []int{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("merged %v", got.(*orderPartial).ids)
	}
}

// cancelStep cancels the run from inside its first Map.
type cancelStep struct {
	cancel context.CancelFunc
	maps   atomic.Int32
}

func (s *cancelStep) Kind() string                   { return "test/cancel" }
func (s *cancelStep) MarshalBinary() ([]byte, error) { return nil, nil }
func (s *cancelStep) Map(b *partition.Block) (Partial, error) {
	s.maps.Add(1)
	s.cancel()
	return &orderPartial{ids: []int{b.ID}}, nil
}

func TestLocalExecutorStartsNoMapAfterCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	step := &cancelStep{cancel: cancel}
	_, err := (&LocalExecutor{Blocks: blocks(10), Parallelism: 1}).Run(ctx, step)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if n := step.maps.Load(); n != 1 {
		t.Fatalf("%d Maps ran after the first cancelled the run", n)
	}
}

func TestDriveStopsBetweenStepsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	prog := &countdown{n: 10}
	err := Drive(ctx, prog, &LocalExecutor{Blocks: blocks(2)}, func(p Progress, _ []byte) error {
		if p.Iteration == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || prog.updates != 3 {
		t.Fatalf("error %v after %d updates, want context.Canceled after 3", err, prog.updates)
	}
}
