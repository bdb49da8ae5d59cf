package jobspec

import (
	"slices"
	"strings"
	"testing"

	"github.com/cohort/cohort/algorithms/choose"
	"github.com/cohort/cohort/algorithms/evaluate"
	"github.com/cohort/cohort/algorithms/kmeans"
)

const good = `
name: t
seed: 9
data:
  synthetic: {rows: 1000, dims: 4, clusters: 3}
  partition_rows: 100
cluster:
  algorithm: k-means
  k: 3
  tol: 0
`

func TestParseAppliesDefaults(t *testing.T) {
	s, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	syn := s.Data.Synthetic
	if syn.Kind != "blobs" || syn.Spread != 1 || syn.Seed != 9 || s.Cluster.Algorithm != "kmeans" {
		t.Fatalf("defaults not applied: %+v %+v", syn, s.Cluster)
	}
	if cfg := s.Config(); cfg == nil || cfg.MaxIter() != 100 {
		t.Fatalf("config %+v: want the registered algorithm's, with its default max_iter", cfg)
	}
	if ds := s.Dataset(); ds.PartitionRows != 100 || ds.Synthetic != syn {
		t.Fatalf("dataset %+v", ds)
	}
}

func TestInitSampleTakesRowsOrAll(t *testing.T) {
	for value, want := range map[string]int64{"": kmeans.DefaultInitSample, "init_sample: all": kmeans.AllRows, "init_sample: 5000": 5000} {
		s, err := Parse([]byte("data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: 2\n  " + value + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		if cfg, ok := kmeans.Settings(s.Config()); !ok || cfg.InitSample != want {
			t.Fatalf("%q: init sample %d, want %d", value, cfg.InitSample, want)
		}
	}
}

func TestEvaluateSectionTakesASampleOrAll(t *testing.T) {
	base := "data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster: {k: 2}\n"
	if s, err := Parse([]byte(base)); err != nil {
		t.Fatal(err)
	} else if _, ok := s.EvaluateConfig(); ok {
		t.Fatal("a spec without evaluate asks for an evaluation")
	}
	for text, want := range map[string]evaluate.Config{
		"evaluate: {}\n": {Distance: evaluate.Euclidean, Exact: evaluate.DefaultExact, Sample: evaluate.DefaultSample},
		"evaluate:\n  distance: manhattan\n  silhouette: {sample: 800}\n": {Distance: evaluate.Manhattan, Exact: evaluate.DefaultExact, Sample: 800},
		"evaluate:\n  silhouette: {sample: all}\n":                        {Distance: evaluate.Euclidean, Exact: evaluate.AllRows, Sample: evaluate.DefaultSample},
	} {
		s, err := Parse([]byte("seed: 4\n" + base + text))
		if err != nil {
			t.Fatal(err)
		}
		cfg, ok := s.EvaluateConfig()
		want.Seed, want.Batch = 4, cfg.Batch
		if !ok || cfg != want {
			t.Fatalf("%q: %+v, want %+v", text, cfg, want)
		}
	}
}

func TestParseErrorsNameTheProblem(t *testing.T) {
	cases := map[string]string{
		"":        "empty",
		"data: [": "job spec",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: 2\n  colour: red\n":                              "line 5: cluster.colour is not a parameter of this algorithm (it takes: k, max_iter, tol, restarts",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: 0\n":                                             "line 4: cluster.k: must be at least 1",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: 11\n":                                            "line 4: cluster.k: 11 exceeds the number of rows (10)",
		"data:\n  synthetic: {rows: 10, dims: 0, clusters: 2}\ncluster:\n  k: 2\n":                                             "dims must be at least 1",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: two\n":                                           "line 4: cluster.k: must be a whole number",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: {min: 8, max: 3}\n":                              "line 4: cluster.k: min (8) exceeds max (3)",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: {min: 2, max: 12}\n":                             "line 4: cluster.k: the largest k, 12, exceeds the number of rows (10)",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: {min: 2}\n":                                      "line 4: cluster.k: a range needs both min and max",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: {min: 2, max: 5, step: 2}\n":                     "cluster.k.step is unknown",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: [2, 3, 2]\n":                                     "lists 2 twice",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: []\n":                                            "cluster.k: is an empty list",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: [2, x]\n":                                        "cluster.k[1]: must be a whole number",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: {min: 1, max: 500}\n":                            "at most 100",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: 3\n  choose: elbow\n":                            "line 5: cluster.choose picks one of several k",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: [2, 3]\n  choose: elbow\n":                       "line 5: cluster.choose: the elbow needs at least 3 values of k",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: [2, 3]\n  choose: gap\n":                         `line 5: cluster.choose: rule "gap" is unknown; use silhouette, elbow`,
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\n":                                                               "cluster is required: name an algorithm (kmeans",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  max_iter: 5\n":                                      "line 4: cluster.k: is required",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: 2\n  tol: -1\n":                                  "line 5: cluster.tol: must be a finite number",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: 2\n  init_sample: some\n":                        "line 5: cluster.init_sample: must be a number of rows or all",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: 4\n  init_sample: 3\n":                           "line 5: cluster.init_sample: must be at least k (4)",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: 4\n  init_sample: 0\n":                           "line 5: cluster.init_sample: must be a number of rows ≥ 1",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster: {k: 2}\nevaluate:\n  silhouette: {sample: lots}\n":     "line 5: evaluate.silhouette.sample must be a number of rows or all",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster: {k: 2}\nevaluate:\n  silhouette: {sample: 0}\n":        "line 5: evaluate.silhouette.sample must be a number of rows ≥ 1",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster: {k: 2}\nevaluate: {distance: cosine}\n":                `evaluate: distance "cosine" is unknown; use euclidean or manhattan`,
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster: {k: 2}\nevaluate: {colour: red}\n":                     "line 4: field colour not found",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster: {k: 2}\nevaluate: {stability: {resamples: 0}}\n":       "evaluate.stability.resamples must be at least 1 (got 0)",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster: {k: 2}\nevaluate: {stability: {resamples: 500}}\n":     "evaluate.stability: resamples must be between 1 and 100 (got 500)",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster: {k: 2}\nevaluate: {stability: {fraction: 1}}\n":        "evaluate.stability: fraction must be between 0 and 1, exclusive",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster: {k: 2}\nevaluate: {stability: {fraction: 0}}\n":        "evaluate.stability.fraction must be between 0 and 1, exclusive",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster: {k: 2}\nevaluate: {stability: {folds: 3}}\n":           "field folds not found",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster: {k: 2}\nevaluate: {holdout: 1.5}\n":                    "evaluate.holdout must be the share of rows kept out of the fit, between 0 and 1 exclusive, such as 0.2 (got 1.5)",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster: {k: 2}\nevaluate: {holdout: 0}\n":                      "evaluate.holdout must be the share",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster: {k: 2}\nevaluate: {holdout: a fifth}\n":                "line 4",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: 2\n  choose: stability\n":                        "line 5: cluster.choose picks one of several k",
		"data:\n  path: x.csv\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  k: 2\n":                              "not both",
		"data:\n  path: x.csv\n  max_rejects: 2\ncluster:\n  k: 2\n":                                                           "data.max_rejects is a share",
		"data:\n  path: x.csv\n  csv: {delimiter: ';;'}\ncluster:\n  k: 2\n":                                                   "one character",
		"data:\n  path: x.csv\nprepare:\n  pca: {components: 2.5}\ncluster:\n  k: 2\n":                                         "line 4: prepare.pca.components must be a whole number",
		"data:\n  path: x.csv\nprepare:\n  pca: {share: 0.9}\ncluster:\n  k: 2\n":                                              "line 4: prepare.pca",
		"data:\n  path: x.csv\nprepare:\n  scale: zscore\ncluster:\n  k: 2\n":                                                  `prepare.scale "zscore" is unknown`,
		"data:\n  path: x.csv\nprepare:\n  colour: red\ncluster:\n  k: 2\n":                                                    "line 4",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\nprepare: {scale: none}\ncluster:\n  k: 2\n":                     "prepare applies to data read from files",
		"data:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster:\n  algorithm: magic\n":                                 `line 4: cluster.algorithm: unknown algorithm "magic" (registered: kmeans`,
		"transactions: {customer: id}\ndata:\n  synthetic: {rows: 10, dims: 2, clusters: 2}\ncluster: {k: 2}\n":                "transactions applies to a log read from files",
		"data: {path: x.csv}\ntransactions: {customer: c, time: t}\ncluster: {k: 2}\n":                                         "transactions.order: name the column",
		"data: {path: x.csv}\ntransactions: {customer: c, time: t, order: o, quantity: q}\ncluster: {k: 2}\n":                  "name an amount column, or quantity and price",
		"data: {path: x.csv}\ntransactions: {customer: c, time: t, order: o, amount: a, price: p}\ncluster: {k: 2}\n":          "not both",
		"data: {path: x.csv}\ntransactions: {customer: c, time: t, order: o, amount: a, as_of: 10/12/2011}\ncluster: {k: 2}\n": "transactions.as_of",
		"data: {path: x.csv, id: ID}\ntransactions: {customer: c, time: t, order: o, amount: a}\ncluster: {k: 2}\n":            "data.id \"ID\": with transactions",
		"data: {path: x.csv}\ntransactions: {customer: c, time: t, order: o, amount: a, colour: red}\ncluster: {k: 2}\n":       "colour",
		"cluster:\n  k: 2\n": "data.synthetic",
	}
	for text, want := range cases {
		_, err := Parse([]byte(text))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("spec %q: error %v, want it to mention %q", text, err, want)
		}
	}
}

func TestParseFileSpec(t *testing.T) {
	s, err := Parse([]byte(`
data:
  path: customers.csv
  id: CustomerID
  csv: {delimiter: ";", types: {Income: number}}
  max_rejects: 0.05
prepare:
  columns: [Age, Income, Gender]
  missing: {default: median, Gender: mode}
  outliers: {method: clip, quantiles: [0.01, 0.99]}
  encode: {Gender: onehot}
  log1p: [Income]
  scale: robust
  pca: {components: 0.95}
cluster:
  k: 4
`))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Files() || s.CSVHints().Delimiter != ";" || s.CSVHints().Types["Income"] != "number" {
		t.Fatalf("data %+v", s.Data)
	}
	cfg, scale := s.PrepareConfig()
	if scale != "robust" || len(cfg.Columns) != 3 || cfg.Missing["Gender"] != "mode" || cfg.Outliers.Quantiles[1] != 0.99 ||
		cfg.Log1p[0] != "Income" || *cfg.MaxRejects != 0.05 || cfg.Exclude[0] != "CustomerID" || cfg.PCA.Variance != 0.95 {
		t.Fatalf("prepare config %+v, scale %q", cfg, scale)
	}
}

func TestParseTransactionsSpec(t *testing.T) {
	s, err := Parse([]byte(`
data:
  path: retail.csv.gz
transactions:
  customer: CustomerID
  time: InvoiceDate
  order: InvoiceNo
  quantity: Quantity
  price: UnitPrice
  cancel_prefix: X
  as_of: 2011-12-10
cluster:
  k: 4
`))
	if err != nil {
		t.Fatal(err)
	}
	tx := s.Transactions
	if tx.Customer != "CustomerID" || tx.Quantity != "Quantity" || tx.Price != "UnitPrice" || tx.CancelPrefix != "X" {
		t.Fatalf("transactions %+v", tx)
	}
	if ms, err := tx.AsOfMillis(); err != nil || ms != 1323475200000 {
		t.Fatalf("as_of %d, %v", ms, err)
	}
	// The customers' id is the customer column: left out of the features.
	if cfg, _ := s.PrepareConfig(); s.Data.ID != "CustomerID" || cfg.Exclude[0] != "CustomerID" {
		t.Fatalf("data.id %q, exclude %v", s.Data.ID, cfg.Exclude)
	}
}

// Stability and a holdout: the spec's seed draws both, the cluster stage
// fits only the rows not held out, and choosing k by stability refits
// each candidate with the defaults unless told otherwise.
func TestStabilityAndHoldout(t *testing.T) {
	s, err := Parse([]byte("seed: 5\ndata:\n  synthetic: {rows: 100, dims: 2, clusters: 2}\ncluster: {k: 3}\nevaluate:\n  stability: {resamples: 4}\n  holdout: 0.2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if st := s.StabilityConfig(); st == nil || *st != (evaluate.StabilityConfig{Resamples: 4, Fraction: evaluate.DefaultFraction, Seed: 5}) {
		t.Errorf("stability %+v", st)
	}
	h, ok := s.Holdout()
	if !ok || h != evaluate.Holdout(5, 0.2) || h.Complement {
		t.Errorf("holdout %+v", h)
	}
	if s.Config() == s.Refit() {
		t.Error("with a holdout, the cluster stage fits every row")
	}
	s, err = Parse([]byte("data:\n  synthetic: {rows: 100, dims: 2, clusters: 2}\ncluster: {k: [2, 3], choose: stability}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := s.Config().(*choose.Config)
	if c.Rule != choose.Stability || c.Stability == nil || c.Stability.Resamples != evaluate.DefaultResamples {
		t.Errorf("choosing by stability: %+v", c.Stability)
	}
	if _, ok := s.Holdout(); ok || s.Config() != s.Refit() {
		t.Error("a holdout without asking for one")
	}
}

func TestARangeOfKChooses(t *testing.T) {
	s, err := Parse([]byte("data:\n  synthetic: {rows: 100, dims: 2, clusters: 2}\ncluster:\n  k: {min: 2, max: 6}\n  choose: davies_bouldin\nevaluate: {distance: manhattan}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, ok := s.Config().(*choose.Config)
	if !ok || !s.Chooses() {
		t.Fatalf("config %T, want a choice of k", s.Config())
	}
	var ks []int
	for _, cand := range c.Sweep.Candidates() {
		ks = append(ks, cand.K)
	}
	if !slices.Equal(ks, []int{2, 3, 4, 5, 6}) || c.Rule != choose.DaviesBouldin || c.Evaluate.Distance != evaluate.Manhattan {
		t.Errorf("candidates %v, rule %s, distance %s", ks, c.Rule, c.Evaluate.Distance)
	}
	s, err = Parse([]byte("data:\n  synthetic: {rows: 100, dims: 2, clusters: 2}\ncluster:\n  k: [9, 3, 5]\n"))
	if err != nil {
		t.Fatal(err)
	}
	c = s.Config().(*choose.Config)
	if got := c.Sweep.Candidates(); len(got) != 3 || got[0].K != 3 || got[2].K != 9 || c.Rule != choose.Silhouette {
		t.Errorf("a list gave %v, rule %s", got, c.Rule)
	}
}

// WithLabels adds the labels to a spec's evaluate section, keeping the
// rest of it, and needs no cluster section: the labels are the
// segmentation.
func TestWithLabels(t *testing.T) {
	text := []byte("name: x\ndata: {path: d.csv, id: ID}\nevaluate: {distance: manhattan, labels: {column: old}}\n")
	s, out, err := WithLabels(text, "l.csv", "seg", "customer")
	if err != nil {
		t.Fatal(err)
	}
	l, ok := s.Labels()
	if !ok || l != (Labels{Path: "l.csv", Column: "seg", ID: "customer"}) || !s.JoinsLabels() || !s.Shuffles() || s.Cluster.Algorithm != evaluate.GivenModel {
		t.Fatalf("labels %+v, joins %v, algorithm %s", l, s.JoinsLabels(), s.Cluster.Algorithm)
	}
	if cfg, _ := s.EvaluateConfig(); cfg.Distance != evaluate.Manhattan || strings.Contains(string(out), "old") {
		t.Errorf("the rest of evaluate lost, or the old labels kept:\n%s", out)
	}
	s, _, err = WithLabels([]byte("data: {path: d.csv}\nprepare: {columns: [a, b]}\n"), "", "seg", "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg, _ := s.PrepareConfig(); s.JoinsLabels() || s.Shuffles() || !slices.Contains(cfg.Exclude, "seg") {
		t.Errorf("the data's own column: joins %v, excluded %v", s.JoinsLabels(), cfg.Exclude)
	}
	if _, _, err := WithLabels([]byte("data: {path: d.csv}\n"), "l.csv", "seg", ""); err == nil || !strings.Contains(err.Error(), "give data.id") {
		t.Errorf("a join without data.id: %v", err)
	}
}
