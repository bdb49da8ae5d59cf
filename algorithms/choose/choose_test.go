package choose

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/evaluate"
	_ "github.com/cohort/cohort/algorithms/kmeans"
	"github.com/cohort/cohort/partition"
)

const shared = "../../../shared/data/"

// mall is Mall Customers' annual income and spending score, unscaled.
func mall(t *testing.T) [][]float64 {
	t.Helper()
	f, err := os.Open(shared + "mall_customers/Mall_Customers.csv")
	if err != nil {
		t.Skipf("Mall Customers: %v", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]float64
	for _, r := range recs[1:] {
		a, _ := strconv.ParseFloat(r[3], 64)
		b, _ := strconv.ParseFloat(r[4], 64)
		rows = append(rows, []float64{a, b})
	}
	return rows
}

// s1 is Fränti and Virmajoki's s1: 5000 points in 15 Gaussian clusters.
func s1(t *testing.T) [][]float64 {
	t.Helper()
	f, err := os.Open(shared + "franti/s1.txt")
	if err != nil {
		t.Skipf("s1: %v", err)
	}
	defer f.Close()
	var rows [][]float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 2 {
			continue
		}
		a, _ := strconv.ParseFloat(fs[0], 64)
		b, _ := strconv.ParseFloat(fs[1], 64)
		rows = append(rows, []float64{a, b})
	}
	return rows
}

// sweepOf configures k-means as a spec's cluster section would.
func sweepOf(t *testing.T, section string) algorithms.Sweep {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(section), &n); err != nil {
		t.Fatal(err)
	}
	a, err := algorithms.Lookup("kmeans")
	if err != nil {
		t.Fatal(err)
	}
	p, err := algorithms.NewParams("cluster", n.Content[0], a.Params)
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Configure(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	sw, ok := c.(algorithms.Sweep)
	if !ok {
		t.Fatalf("%q configured %T, not a sweep", section, c)
	}
	return sw
}

func choose(t *testing.T, rows [][]float64, parts int, section, rule string) *Report {
	t.Helper()
	return chooseOn(t, rows, parts, 0, section, rule)
}

func chooseOn(t *testing.T, rows [][]float64, parts, par int, section, rule string) *Report {
	t.Helper()
	return chooseWith(t, rows, parts, par, section, rule, nil)
}

func chooseWith(t *testing.T, rows [][]float64, parts, par int, section, rule string, st *evaluate.StabilityConfig) *Report {
	t.Helper()
	cfg, err := NewConfig(sweepOf(t, section), "kmeans", rule, evaluate.Config{Seed: 1}, st)
	if err != nil {
		t.Fatal(err)
	}
	fit, err := cfg.New(int64(len(rows)), len(rows[0]))
	if err != nil {
		t.Fatal(err)
	}
	ex := &algorithms.LocalExecutor{Blocks: partition.BlocksOf(rows, parts), Parallelism: par}
	if err := algorithms.Drive(context.Background(), fit, ex, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := fit.(*Program).Report()
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestMallCustomersChooseFiveSegments(t *testing.T) {
	rows := mall(t)
	rep := choose(t, rows, 1, "{k: {min: 2, max: 10}, restarts: 4}", "")
	if rep.ChosenK != 5 || rep.Rule != Silhouette || len(rep.Candidates) != 9 {
		t.Fatalf("chose k=%d by %s of %d candidates, want 5 by silhouette of 9", rep.ChosenK, rep.Rule, len(rep.Candidates))
	}
	// scikit-learn's silhouette_score of k-means' five segments.
	if s := *rep.Silhouette; s < 0.5539 || s > 0.5540 {
		t.Errorf("silhouette at k=5 %.6f, want 0.55393", s)
	}
	if len(rep.PerSegment) != 5 || !rep.Candidates[3].Chosen || rep.Candidates[3].K != 5 {
		t.Errorf("the chosen report is not k=5's: %+v", rep.Candidates[3])
	}
	// The other rules, on the same fits: the elbow is at 5 as well,
	// Davies-Bouldin prefers 5 and Calinski-Harabasz keeps rising to 9.
	for rule, want := range map[string]int{Elbow: 5, DaviesBouldin: 5, CalinskiHarabasz: 9} {
		if got := choose(t, rows, 1, "{k: {min: 2, max: 10}, restarts: 4}", rule).ChosenK; got != want {
			t.Errorf("%s chose k=%d, want %d", rule, got, want)
		}
	}
}

// By stability, Tibshirani and Walther's rule (the most segments whose
// prediction strength is at least 0.8) chooses the same five segments of
// Mall's customers, and every candidate has its stability in the table.
func TestMallCustomersAreStableInFiveSegments(t *testing.T) {
	rows := mall(t)
	rep := chooseWith(t, rows, 2, 0, "{k: {min: 2, max: 10}, restarts: 4}", Stability, &evaluate.StabilityConfig{Resamples: 10, Fraction: 0.5, Seed: 3})
	var ps []string
	for _, c := range rep.Candidates {
		if c.Stability == nil || c.Stability.PredictionStrength == nil || c.Stability.AdjustedRand == nil {
			t.Fatalf("k=%d has no stability: %+v", c.K, c.Stability)
		}
		ps = append(ps, fmt.Sprintf("%d:%.3f/%.3f", c.K, *c.Stability.PredictionStrength, *c.Stability.AdjustedRand))
	}
	t.Logf("prediction strength/ARI by k: %s", strings.Join(ps, " "))
	if rep.ChosenK != 5 || rep.Rule != Stability {
		t.Fatalf("chose k=%d by %s, want 5 by stability", rep.ChosenK, rep.Rule)
	}
	if rep.Stability == nil || len(rep.Stability.Segments) != 5 || len(rep.Stability.Unstable) != 0 {
		t.Errorf("the chosen k's stability: %+v", rep.Stability)
	}
}

func TestFrantiS1ChoosesFifteen(t *testing.T) {
	rows := s1(t)
	rep := choose(t, rows, 4, "{k: {min: 2, max: 25}, restarts: 3}", "")
	if rep.ChosenK != 15 {
		var sil []string
		for _, c := range rep.Candidates {
			sil = append(sil, strconv.Itoa(c.K)+":"+strconv.FormatFloat(*c.Silhouette, 'f', 4, 64))
		}
		t.Fatalf("chose k=%d, want 15; silhouettes %s", rep.ChosenK, strings.Join(sil, " "))
	}
}

// A choice is the same however many partitions are mapped at once, and
// resumed from any checkpoint, to the bit.
func TestChoiceIsTheSameInParallelAndResumes(t *testing.T) {
	t.Run("scores", func(t *testing.T) { choiceIsTheSame(t, "", nil) })
	t.Run("stability", func(t *testing.T) { choiceIsTheSame(t, Stability, &evaluate.StabilityConfig{Resamples: 2, Seed: 8}) })
}

func choiceIsTheSame(t *testing.T, rule string, st *evaluate.StabilityConfig) {
	rows := mall(t)
	const section = "{k: [3, 5, 7]}"
	want := chooseWith(t, rows, 3, 1, section, rule, st)
	if got := chooseWith(t, rows, 3, 3, section, rule, st); !reflect.DeepEqual(got, want) {
		t.Errorf("3 partitions at once chose differently:\n%+v\n%+v", got, want)
	}
	cfg, err := NewConfig(sweepOf(t, section), "kmeans", rule, evaluate.Config{Seed: 1}, st)
	if err != nil {
		t.Fatal(err)
	}
	ex := &algorithms.LocalExecutor{Blocks: partition.BlocksOf(rows, 3)}
	fit, _ := cfg.New(int64(len(rows)), 2)
	var checkpoints [][]byte
	err = algorithms.Drive(context.Background(), fit, ex, func(_ algorithms.Progress, cp []byte) error {
		checkpoints = append(checkpoints, cp)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []int{1, len(checkpoints) / 3, len(checkpoints) / 2, len(checkpoints) - 2} {
		resumed, err := cfg.Resume(checkpoints[at])
		if err != nil {
			t.Fatal(err)
		}
		if err := algorithms.Drive(context.Background(), resumed, ex, nil); err != nil {
			t.Fatal(err)
		}
		got, err := resumed.(*Program).Report()
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		if string(a) != string(b) {
			t.Errorf("resumed from checkpoint %d of %d:\n%s\nwant\n%s", at, len(checkpoints), a, b)
		}
		m, _ := resumed.Model()
		if m.Describe().Segments != want.ChosenK {
			t.Errorf("resumed model has %d segments, want %d", m.Describe().Segments, want.ChosenK)
		}
	}
}

func TestKneeIsFurthestBelowTheChord(t *testing.T) {
	at, err := Knee([]int{1, 2, 3, 4, 5, 6}, []float64{100, 50, 20, 15, 12, 10})
	if err != nil || at != 2 {
		t.Errorf("knee at %d (%v), want index 2 (k=3)", at, err)
	}
	if _, err := Knee([]int{1, 2}, []float64{2, 1}); err == nil || !strings.Contains(err.Error(), "at least 3") {
		t.Errorf("two points: %v", err)
	}
	if _, err := Knee([]int{1, 2, 3}, []float64{4, 4, 4}); err == nil || !strings.Contains(err.Error(), "no elbow") {
		t.Errorf("flat WCSS: %v", err)
	}
}

func TestRulesNeedTheirMetric(t *testing.T) {
	one := 0.5
	reports := []*evaluate.Report{{Segments: 1, WCSS: 9}, {Segments: 2, WCSS: 4, Silhouette: &one}}
	if at, err := Choose(Silhouette, []int{1, 2}, reports); err != nil || at != 1 {
		t.Errorf("silhouette chose %d (%v), want the one with a silhouette", at, err)
	}
	if _, err := Choose(DaviesBouldin, []int{1, 2}, reports); err == nil || !strings.Contains(err.Error(), "no candidate has a Davies-Bouldin") {
		t.Errorf("no Davies-Bouldin anywhere: %v", err)
	}
	// Ties go to the smaller k.
	tie := []*evaluate.Report{{Silhouette: &one}, {Silhouette: &one}}
	if at, _ := Choose(Silhouette, []int{4, 6}, tie); at != 0 {
		t.Errorf("a tie went to index %d", at)
	}
}

func TestCheckRefusesKAboveTheRows(t *testing.T) {
	cfg, err := NewConfig(sweepOf(t, "{k: {min: 2, max: 12}}"), "kmeans", "", evaluate.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.New(10, 2); err == nil || !strings.Contains(err.Error(), "the largest k, 12, exceeds the number of rows (10)") {
		t.Errorf("k above the rows: %v", err)
	}
}
