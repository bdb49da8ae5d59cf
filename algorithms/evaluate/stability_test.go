package evaluate

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/kmeans"
	"github.com/cohort/cohort/partition"
)

// fullFit fits cfg on every row of ex.
func fullFit(t *testing.T, cfg algorithms.Config, ex algorithms.Executor, rows int64, dims int) algorithms.Model {
	t.Helper()
	f, err := cfg.New(rows, dims)
	if err != nil {
		t.Fatal(err)
	}
	if err := algorithms.Drive(context.Background(), f, ex, nil); err != nil {
		t.Fatal(err)
	}
	m, err := f.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func stabilityOf(t *testing.T, sc StabilityConfig, cfg algorithms.Config, m algorithms.Model, ex algorithms.Executor, rows int64, dims int) *StabilityReport {
	t.Helper()
	p, err := NewStability(sc, cfg, kmeans.Name, m, rows, dims)
	if err != nil {
		t.Fatal(err)
	}
	if err := algorithms.Drive(context.Background(), p, ex, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := p.Report()
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// The program is the composition TestStabilityOfTheBlobs spells out,
// resample by resample: its one resample's ARI, Jaccard and prediction
// strength are those of the steps run by hand over the same folds.
func TestStabilityIsTheResamplesComposed(t *testing.T) {
	ctx := context.Background()
	_, _, rows := agreementModels(t)
	ex := &algorithms.LocalExecutor{Blocks: partition.BlocksOf(rows, 3), Parallelism: 2}
	cfg := kmConfig{kmeans.Config{K: 6, Seed: 3, Restarts: 3}.WithDefaults()}
	full := fullFit(t, cfg, ex, 3000, 4)
	sc := StabilityConfig{Resamples: 1, Seed: 11}.WithDefaults()
	rep := stabilityOf(t, sc, cfg, full, ex, 3000, 4)

	fold := sc.resample(0)
	fitOn := func(s algorithms.Subset) *algorithms.ModelRef {
		f, _, err := s.Start(ctx, ex, cfg, 4)
		if err != nil {
			t.Fatal(err)
		}
		if err := algorithms.Drive(ctx, f, ex, nil); err != nil {
			t.Fatal(err)
		}
		m, _ := f.Model()
		ref, _ := algorithms.NewModelRef(kmeans.Name, m)
		return ref
	}
	table := func(s algorithms.Subset, a, b *algorithms.ModelRef) *Contingency {
		step, _ := NewContingencyStep(a, b, 4)
		p, err := ex.Run(ctx, s.Step(step))
		if err != nil {
			t.Fatal(err)
		}
		tab, _ := AsContingency(p)
		return tab
	}
	fullRef, _ := algorithms.NewModelRef(kmeans.Name, full)
	train, test := fitOn(fold), fitOn(fold.Complementary())
	agree := table(fold, fullRef, train)
	if ari := agree.AdjustedRand(); *rep.AdjustedRand.Mean != *ari.Value || rep.AdjustedRand.Of != 1 {
		t.Errorf("ARI %v, by hand %v", *rep.AdjustedRand.Mean, *ari.Value)
	}
	for _, m := range agree.Jaccard() {
		if got := rep.Segments[m.Segment].Jaccard; *got.Mean != *m.Jaccard.Value {
			t.Errorf("segment %d: Jaccard %v, by hand %v", m.Segment, *got.Mean, *m.Jaccard.Value)
		}
	}
	ps := table(fold.Complementary(), test, train).PredictionStrength()
	if *rep.PredictionStrength.Mean != *ps.Strength.Value {
		t.Errorf("prediction strength %v, by hand %v", *rep.PredictionStrength.Mean, *ps.Strength.Value)
	}
	if *ps.Strength.Value < 0.8 || len(rep.Unstable) != 0 || *rep.AdjustedRand.Mean < 0.9 {
		t.Errorf("well separated blobs found unstable: %+v", rep)
	}
}

// Over the six blobs, six segments are stable and twelve are not: the
// prediction strength of k-means told to split blobs in two falls below
// Tibshirani and Walther's 0.8, and the split segments are flagged.
func TestTooManySegmentsAreUnstable(t *testing.T) {
	_, _, rows := agreementModels(t)
	ex := &algorithms.LocalExecutor{Blocks: partition.BlocksOf(rows, 3), Parallelism: 2}
	sc := StabilityConfig{Resamples: 5, Fraction: 0.5, Seed: 4}
	for _, c := range []struct {
		k        int
		unstable bool
	}{{6, false}, {12, true}} {
		cfg := kmConfig{kmeans.Config{K: c.k, Seed: 3, Restarts: 2}.WithDefaults()}
		rep := stabilityOf(t, sc, cfg, fullFit(t, cfg, ex, 3000, 4), ex, 3000, 4)
		ps := *rep.PredictionStrength.Mean
		if got := len(rep.Unstable) > 0; got != c.unstable || c.unstable != (ps < UnstableBelow) {
			t.Errorf("k=%d: prediction strength %.3f, unstable segments %v", c.k, ps, rep.Unstable)
		}
		if rep.Resamples != 5 || rep.PredictionStrength.Of != 5 || len(rep.Segments) != c.k {
			t.Errorf("k=%d: report of %d resamples, %d strengths, %d segments", c.k, rep.Resamples, rep.PredictionStrength.Of, len(rep.Segments))
		}
		t.Logf("k=%d: ARI %.3f, prediction strength %.3f, unstable %v", c.k, *rep.AdjustedRand.Mean, ps, rep.Unstable)
	}
}

// The measure is the same bits on one core or several, and resumed from
// the checkpoint after any step, on a fresh copy of the blocks (whose
// cached folds a new worker would not have).
func TestStabilityResumesToTheSameBits(t *testing.T) {
	ctx := context.Background()
	_, _, rows := agreementModels(t)
	cfg := kmConfig{kmeans.Config{K: 6, Seed: 5, Restarts: 1}.WithDefaults()}
	sc := StabilityConfig{Resamples: 2, Fraction: 0.7, Seed: 1}
	ex := &algorithms.LocalExecutor{Blocks: partition.BlocksOf(rows, 3), Parallelism: 1}
	full := fullFit(t, cfg, ex, 3000, 4)
	want := stabilityOf(t, sc, cfg, full, ex, 3000, 4)
	if got := stabilityOf(t, sc, cfg, full, &algorithms.LocalExecutor{Blocks: partition.BlocksOf(rows, 3), Parallelism: 3}, 3000, 4); !reflect.DeepEqual(got, want) {
		t.Fatal("three cores measured another stability")
	}
	p, err := NewStability(sc, cfg, kmeans.Name, full, 3000, 4)
	if err != nil {
		t.Fatal(err)
	}
	var cps [][]byte
	steps := 0
	for {
		step, done, err := p.Next()
		if err != nil {
			t.Fatal(err)
		}
		if done {
			break
		}
		part, err := ex.Run(ctx, step)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Update(part); err != nil {
			t.Fatal(err)
		}
		if steps++; steps%7 == 1 {
			cp, err := p.Checkpoint()
			if err != nil {
				t.Fatal(err)
			}
			cps = append(cps, cp)
		}
	}
	for i, cp := range cps {
		r, err := ResumeStability(cfg, cp)
		if err != nil {
			t.Fatal(err)
		}
		fresh := &algorithms.LocalExecutor{Blocks: partition.BlocksOf(rows, 3), Parallelism: 2}
		if err := algorithms.Drive(ctx, r, fresh, nil); err != nil {
			t.Fatalf("checkpoint %d: %v", i, err)
		}
		got, err := r.Report()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			a, _ := json.Marshal(got)
			b, _ := json.Marshal(want)
			t.Fatalf("resumed from checkpoint %d of %d:\n%s\nwant\n%s", i, len(cps), a, b)
		}
	}
	if len(cps) < 3 {
		t.Fatalf("only %d checkpoints", len(cps))
	}
}

// Bad settings and a fold too small for the fit are errors that say
// which, never a panic.
func TestStabilityBadInput(t *testing.T) {
	for _, c := range []struct {
		sc   StabilityConfig
		want string
	}{
		{StabilityConfig{Resamples: -1}, "resamples must be between 1 and 100"},
		{StabilityConfig{Resamples: 101}, "resamples must be between 1 and 100"},
		{StabilityConfig{Fraction: 1}, "fraction must be between 0 and 1"},
		{StabilityConfig{Fraction: -0.2}, "fraction must be between 0 and 1"},
	} {
		if err := c.sc.WithDefaults().Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.sc, err, c.want)
		}
	}
	rows := make([][]float64, 40)
	for i := range rows {
		rows[i] = []float64{float64(i % 7), float64(i % 5)}
	}
	ex := &algorithms.LocalExecutor{Blocks: partition.BlocksOf(rows, 2)}
	cfg := kmConfig{kmeans.Config{K: 10, Seed: 1, Restarts: 1}.WithDefaults()}
	full := fullFit(t, cfg, ex, 40, 2)
	p, err := NewStability(StabilityConfig{Resamples: 2, Fraction: 0.9}, cfg, kmeans.Name, full, 40, 2)
	if err != nil {
		t.Fatal(err)
	}
	err = algorithms.Drive(context.Background(), p, ex, nil)
	if err == nil || !strings.Contains(err.Error(), "stability, resample 1 of 2: test fold: the subset (") || !strings.Contains(err.Error(), "rows") {
		t.Fatalf("a test fold smaller than k: %v", err)
	}
	t.Log(err)
}
