package jobspec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cohort/cohort/algorithms"
	_ "github.com/cohort/cohort/algorithms/builtin" // the registry's contents
	"github.com/cohort/cohort/algorithms/choose"
	"github.com/cohort/cohort/algorithms/evaluate"
	"github.com/cohort/cohort/algorithms/features"
	"github.com/cohort/cohort/algorithms/prepare"
	"github.com/cohort/cohort/partition"
)

// Spec is a whole job. Only data and cluster are required.
type Spec struct {
	Name         string        `yaml:"name"`
	Seed         *uint64       `yaml:"seed"`
	Data         Data          `yaml:"data"`
	Transactions *Transactions `yaml:"transactions"`
	Prepare      *Prepare      `yaml:"prepare"`
	Cluster      Cluster       `yaml:"cluster"`
	Evaluate     *Evaluate     `yaml:"evaluate"`
	Output       Output        `yaml:"output"`
}

// Evaluate asks for the segmentation to be scored (algorithms/evaluate):
// silhouette, simplified silhouette, WCSS, Calinski-Harabasz and
// Davies-Bouldin, overall and per segment.
type Evaluate struct {
	// Distance is the silhouette's: euclidean (the default) or manhattan.
	Distance   string      `yaml:"distance"`
	Silhouette *Silhouette `yaml:"silhouette"`
	// Stability refits on resamples: {resamples: 10, fraction: 0.8}.
	Stability *Stability `yaml:"stability"`
	// Holdout is the share of rows kept out of the fit and scored after,
	// beside the rows fitted.
	Holdout *float64 `yaml:"holdout"`
	// Labels scores a segmentation made elsewhere in place of fitting one
	// (`cohort evaluate --labels`).
	Labels *Labels `yaml:"labels"`

	config    evaluate.Config
	stability *evaluate.StabilityConfig
}

// Labels name a segmentation made elsewhere: Column of the data's own
// rows, or of another file at Path whose ID column names the customers
// (data.id's values).
type Labels struct {
	Path   string `yaml:"path"`
	Column string `yaml:"column"`
	ID     string `yaml:"id"`
}

// Stability says how many refits on how large a share of the rows.
type Stability struct {
	Resamples *int     `yaml:"resamples"`
	Fraction  *float64 `yaml:"fraction"`
}

// Silhouette says how many rows' silhouettes are measured.
type Silhouette struct {
	// Sample is a number of rows, measured past the exact limit (50,000
	// rows), or "all" for every row at any size.
	Sample yaml.Node `yaml:"sample"`
}

// Data names the dataset: files every node can read at Path, or a
// synthetic one.
type Data struct {
	Path       string   `yaml:"path"`
	ID         string   `yaml:"id"`
	CSV        CSV      `yaml:"csv"`
	MaxRejects *float64 `yaml:"max_rejects"`
	// Duplicates is what to do with rows that share an id: keep (each is
	// a customer), first, last, drop or merge (algorithms/prepare).
	Duplicates    string                   `yaml:"duplicates"`
	Synthetic     *partition.SyntheticSpec `yaml:"synthetic"`
	PartitionRows int                      `yaml:"partition_rows"`
}

// CSV says what sniffing a CSV file cannot: zero values mean "find out".
type CSV struct {
	Delimiter string            `yaml:"delimiter"`
	NoHeader  bool              `yaml:"no_header"`
	Null      []string          `yaml:"null"`
	Types     map[string]string `yaml:"types"`
}

// Transactions says the data is a transaction log, and which columns are
// its customer, time, order and value: the job segments one row per
// customer built from it (algorithms/features).
type Transactions struct {
	features.Columns `yaml:",inline"`
	// AsOf is the date recency and tenure are counted from (YYYY-MM-DD,
	// UTC); by default the day after the latest line.
	AsOf string `yaml:"as_of"`
}

// Prepare is the prepare section: how columns become features.
type Prepare struct {
	Columns  []string          `yaml:"columns"`
	Missing  map[string]string `yaml:"missing"`
	Outliers prepare.Outliers  `yaml:"outliers"`
	Encode   map[string]string `yaml:"encode"`
	TopN     int               `yaml:"top_n"`
	Log1p    []string          `yaml:"log1p"`
	Scale    string            `yaml:"scale"`
	PCA      yaml.Node         `yaml:"pca"`
}

// Cluster chooses the algorithm; the rest of the section is the
// algorithm's parameters, which it reads itself (algorithms.Params).
type Cluster struct {
	Algorithm string
	node      *yaml.Node
	config    algorithms.Config
}

// UnmarshalYAML keeps the section for the algorithm and reads its name.
func (c *Cluster) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("job spec line %d: cluster must be a mapping (algorithm and its parameters)", n.Line)
	}
	c.node = n
	if v := mapValue(n, "algorithm"); v != nil {
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("job spec line %d: cluster.algorithm must be a name", v.Line)
		}
		c.Algorithm = v.Value
	}
	return nil
}

// Output is where results are written: the summary, centroids and
// pipeline by the client, and, for a job over files, every customer's
// segment by the workers (Dir/assignments), so for those Dir must be a
// path the workers can write, as data.path is one they can read.
type Output struct {
	Dir    string `yaml:"dir"`
	Format string `yaml:"format"` // assignments as parquet (default) or csv
}

// Parse decodes and validates a spec. Unknown fields are errors naming their line.
func Parse(text []byte) (*Spec, error) {
	if len(bytes.TrimSpace(text)) == 0 {
		return nil, errors.New("job spec is empty")
	}
	var spec Spec
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("job spec: %w", err)
	}
	if err := spec.validate(); err != nil {
		return nil, err
	}
	return &spec, nil
}

// WithDataPath is the spec text with data.path set to path (the URI of an
// uploaded file), everything else as written.
func WithDataPath(text []byte, path string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, fmt.Errorf("job spec: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("job spec: not a mapping")
	}
	data := mapValue(doc.Content[0], "data")
	if data == nil || data.Kind != yaml.MappingNode {
		return nil, errors.New("job spec: no data section")
	}
	p := mapValue(data, "path")
	if p == nil {
		return nil, errors.New("job spec: no data.path to replace")
	}
	p.Kind, p.Tag, p.Value, p.Style = yaml.ScalarNode, "!!str", path, 0
	return yaml.Marshal(&doc)
}

// mapValue is the value of key in a mapping node, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// WithLabels is spec text that scores the labels in column of the file at
// path (the data's own rows when path is the data's or empty), joined by
// the file's id column (data.id's name when empty), in place of fitting:
// what `cohort evaluate --labels` submits. The result is parsed, so a
// bad combination fails here, naming the problem.
func WithLabels(text []byte, path, column, id string) (*Spec, []byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, nil, fmt.Errorf("job spec: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, errors.New("job spec: not a mapping")
	}
	root := doc.Content[0]
	ev := mapValue(root, "evaluate")
	if ev == nil || ev.Kind != yaml.MappingNode {
		ev = &yaml.Node{Kind: yaml.MappingNode}
		setKey(root, "evaluate", ev)
	}
	labels := &yaml.Node{Kind: yaml.MappingNode}
	for _, kv := range [][2]string{{"path", path}, {"column", column}, {"id", id}} {
		if kv[1] != "" {
			setKey(labels, kv[0], &yaml.Node{Kind: yaml.ScalarNode, Value: kv[1], Style: yaml.DoubleQuotedStyle})
		}
	}
	setKey(ev, "labels", labels)
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, nil, err
	}
	s, err := Parse(out)
	if err != nil {
		return nil, nil, err
	}
	return s, out, nil
}

// setKey sets key to v in mapping m, replacing a value it had.
func setKey(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
}

// Load reads and parses a spec file.
func Load(path string) (*Spec, []byte, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read job spec: %w", err)
	}
	s, err := Parse(text)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, text, nil
}

func (s *Spec) validate() error {
	if s.Data.Path != "" {
		if err := s.validateFiles(); err != nil {
			return err
		}
	} else if err := s.validateSynthetic(); err != nil {
		return err
	}
	if err := s.configureEvaluation(); err != nil {
		return err
	}
	if err := s.configure(); err != nil {
		return err
	}
	if s.Data.Path != "" {
		return nil // the rows and features are known once the data is read
	}
	return s.Cluster.config.Check(s.Data.Synthetic.Rows, s.Data.Synthetic.Dims)
}

// configure finds the registered algorithm the cluster section names and
// has it read its parameters.
func (s *Spec) configure() error {
	c := &s.Cluster
	if l, ok := s.Labels(); ok {
		// The labels are the segmentation: any cluster section is not fitted.
		c.Algorithm, c.config = evaluate.GivenModel, evaluate.GivenConfig{Column: l.Column}
		return nil
	}
	if c.node == nil {
		return fmt.Errorf("cluster is required: name an algorithm (%s) and its parameters", strings.Join(algorithms.Names(), ", "))
	}
	a, err := algorithms.Lookup(c.Algorithm)
	if err != nil {
		line := c.node.Line
		if v := mapValue(c.node, "algorithm"); v != nil {
			line = v.Line
		}
		return fmt.Errorf("job spec line %d: cluster.algorithm: %w", line, err)
	}
	c.Algorithm = a.Name
	p, err := algorithms.NewParams("cluster", c.node, a.Params, "algorithm", "choose")
	if err != nil {
		return err
	}
	if c.config, err = a.Configure(p, s.JobSeed()); err != nil {
		return err
	}
	rule := mapValue(c.node, "choose")
	sw, ok := c.config.(algorithms.Sweep)
	switch {
	case !ok && rule != nil:
		return fmt.Errorf("job spec line %d: cluster.choose picks one of several k: give k a range ({min: 2, max: 10}) or a list", rule.Line)
	case !ok:
		return nil
	case rule != nil && rule.Kind != yaml.ScalarNode:
		return fmt.Errorf("job spec line %d: cluster.choose must be a rule (%s)", rule.Line, strings.Join(choose.Rules, ", "))
	}
	ev, _ := s.EvaluateConfig()
	if s.Evaluate == nil {
		ev = evaluate.Config{Seed: s.JobSeed()}
	}
	name := ""
	if rule != nil {
		name = rule.Value
	}
	cc, err := choose.NewConfig(sw, a.Name, name, ev, s.StabilityConfig())
	if err != nil {
		line := c.node.Line
		if rule != nil {
			line = rule.Line
		}
		return fmt.Errorf("job spec line %d: cluster.choose: %w", line, err)
	}
	c.config = cc
	return nil
}

// Chooses says whether the cluster section asks for k to be chosen from
// several; the evaluation is then the choice's.
func (s *Spec) Chooses() bool {
	_, ok := s.Cluster.config.(*choose.Config)
	return ok
}

func (s *Spec) validateSynthetic() error {
	if s.Prepare != nil {
		return errors.New("prepare applies to data read from files: give data.path")
	}
	if s.Transactions != nil {
		return errors.New("transactions applies to a log read from files: give data.path")
	}
	if s.Data.Synthetic == nil {
		return errors.New("data: give data.path (a .csv, .csv.gz, .parquet or .arrow file or folder) or data.synthetic (kind, rows, dims, clusters, spread)")
	}
	if s.Data.Synthetic.Kind == "" {
		s.Data.Synthetic.Kind = "blobs"
	}
	if s.Data.Synthetic.Spread == 0 {
		s.Data.Synthetic.Spread = 1
	}
	if s.Data.Synthetic.Seed == 0 {
		s.Data.Synthetic.Seed = s.JobSeed()
	}
	return s.Dataset().Validate()
}

// validateFiles checks the data section of a spec over files as far as it
// can without reading them; the columns it names are checked against the
// data when the job runs.
func (s *Spec) validateFiles() error {
	if s.Data.Synthetic != nil {
		return errors.New("data: give data.path or data.synthetic, not both")
	}
	switch s.Output.Format {
	case "", "parquet", "csv":
	default:
		return fmt.Errorf("output.format %q is unknown (use parquet or csv)", s.Output.Format)
	}
	if s.Data.PartitionRows != 0 {
		return errors.New("data.partition_rows applies to synthetic data; files are cut into pieces of about 64 MiB")
	}
	if r := s.Data.MaxRejects; r != nil && !(*r >= 0 && *r <= 1) {
		return fmt.Errorf("data.max_rejects is a share of the rows, 0 to 1; got %v", *r)
	}
	if len([]rune(s.Data.CSV.Delimiter)) > 1 {
		return fmt.Errorf("data.csv.delimiter must be one character, got %q", s.Data.CSV.Delimiter)
	}
	if s.Transactions != nil {
		if err := s.validateTransactions(); err != nil {
			return err
		}
	}
	if d := s.Data.Duplicates; d != "" {
		switch {
		case !slices.Contains(prepare.DupRules, d):
			return fmt.Errorf("data.duplicates %q is unknown (use %s)", d, strings.Join(prepare.DupRules, ", "))
		case s.Transactions != nil:
			return errors.New("data.duplicates: a transaction log has one row per customer already; leave it out")
		case s.Data.ID == "" && d != prepare.DupKeep:
			return errors.New("data.duplicates: name the customer id column (data.id)")
		}
	}
	if s.Prepare != nil && s.Prepare.PCA.Kind != 0 {
		if _, err := s.pca(); err != nil {
			return err
		}
	}
	if s.Prepare != nil {
		switch s.Prepare.Scale {
		case "", prepare.ScaleStandard, prepare.ScaleMinMax, prepare.ScaleRobust, prepare.ScaleNone:
		default:
			return fmt.Errorf("prepare.scale %q is unknown (use standard, minmax, robust or none)", s.Prepare.Scale)
		}
	}
	return nil
}

// validateTransactions checks the transactions section; the columns it
// names are checked against the data when the job runs. The customers'
// id is the customer column, so data.id may only repeat it.
func (s *Spec) validateTransactions() error {
	t := s.Transactions
	for _, f := range []struct{ name, value string }{{"customer", t.Customer}, {"time", t.Time}, {"order", t.Order}} {
		if f.value == "" {
			return fmt.Errorf("transactions.%s: name the column", f.name)
		}
	}
	if t.Amount == "" && (t.Quantity == "" || t.Price == "") {
		return errors.New("transactions: name an amount column, or quantity and price columns")
	}
	if t.Amount != "" && (t.Quantity != "" || t.Price != "") {
		return errors.New("transactions: name an amount column or quantity and price columns, not both")
	}
	if t.AsOf != "" {
		if _, err := t.AsOfMillis(); err != nil {
			return err
		}
	}
	switch s.Data.ID {
	case "":
		s.Data.ID = t.Customer
	case t.Customer:
	default:
		return fmt.Errorf("data.id %q: with transactions, the customers' id is transactions.customer (%q)", s.Data.ID, t.Customer)
	}
	return nil
}

// AsOfMillis is as_of as Unix milliseconds; 0 when unset.
func (t *Transactions) AsOfMillis() (int64, error) {
	if t.AsOf == "" {
		return 0, nil
	}
	d, err := time.Parse("2006-01-02", t.AsOf)
	if err != nil {
		return 0, fmt.Errorf("transactions.as_of %q is not a date like 2011-12-10", t.AsOf)
	}
	return d.UnixMilli(), nil
}

// pca reads prepare.pca: {components: N} for N components, or a share of
// the variance below 1 to keep.
func (s *Spec) pca() (*prepare.PCA, error) {
	n := &s.Prepare.PCA
	var v struct {
		Components float64 `yaml:"components"`
	}
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("job spec line %d: prepare.pca: %v", n.Line, err)
	}
	switch c := v.Components; {
	case c >= 1 && c == math.Trunc(c):
		return &prepare.PCA{Components: int(c)}, nil
	case c > 0 && c < 1:
		return &prepare.PCA{Variance: c}, nil
	}
	return nil, fmt.Errorf("job spec line %d: prepare.pca.components must be a whole number of components or a share of the variance between 0 and 1, got %v", n.Line, v.Components)
}

// Files says whether the job reads files (data.path).
func (s *Spec) Files() bool { return s.Data.Path != "" }

// Shuffles says whether the job groups its rows by customer across the
// workers: a transaction log, a rule for duplicate ids, or labels in a
// file of their own to join by id.
func (s *Spec) Shuffles() bool {
	return s.Transactions != nil || s.Data.Duplicates != "" && s.Data.Duplicates != prepare.DupKeep || s.JoinsLabels()
}

// CSVHints are the data.csv section for partition.PlanFiles.
// A transaction log's time, quantity, price and amount columns are
// expected to have the type their role needs, so that one bad value among
// the lines sniffed does not make a column text.
func (s *Spec) CSVHints() partition.CSVHints {
	c := s.Data.CSV
	h := partition.CSVHints{Delimiter: c.Delimiter, NoHeader: c.NoHeader, Null: c.Null, Types: c.Types}
	if t := s.Transactions; t != nil {
		h.Expect = map[string]string{}
		for col, typ := range map[string]string{t.Time: "time", t.Quantity: "number", t.Price: "number", t.Amount: "number"} {
			if col != "" {
				h.Expect[col] = typ
			}
		}
	}
	return h
}

// PrepareConfig is the prepare section as prepare.NewProgram takes it, with
// the id column left out of the features, and the scaling method.
func (s *Spec) PrepareConfig() (prepare.Config, string) {
	p := s.Prepare
	if p == nil {
		p = &Prepare{}
	}
	cfg := prepare.Config{Columns: p.Columns, Missing: p.Missing, Outliers: p.Outliers, Encode: p.Encode, TopN: p.TopN,
		Log1p: p.Log1p, MaxRejects: s.Data.MaxRejects}
	if s.Data.ID != "" {
		cfg.Exclude = []string{s.Data.ID}
	}
	if l, ok := s.Labels(); ok && !s.JoinsLabels() {
		cfg.Exclude = append(cfg.Exclude, l.Column) // the labels are not a feature
	}
	if p.PCA.Kind != 0 {
		cfg.PCA, _ = s.pca() // checked by Parse
	}
	return cfg, p.Scale
}

// JobSeed is the seed every random choice derives from; 1 when unset so that
// a spec without a seed is still reproducible.
func (s *Spec) JobSeed() uint64 {
	if s.Seed == nil {
		return 1
	}
	return *s.Seed
}

// Dataset is the partitioned source a synthetic job reads; a job over
// files plans its pieces when it runs (partition.PlanFiles).
func (s *Spec) Dataset() partition.Spec {
	return partition.Spec{Synthetic: s.Data.Synthetic, PartitionRows: s.Data.PartitionRows}
}

// Config is what the cluster stage fits: the configured algorithm the
// cluster section names (or the choice of k among its candidates), on
// every row but the holdout's.
func (s *Spec) Config() algorithms.Config {
	if h, ok := s.Holdout(); ok {
		return h.Complementary().Config(s.Cluster.config)
	}
	return s.Cluster.config
}

// Refit is the configured algorithm alone, for a stability measure to
// refit on resamples of the rows it was fitted on.
func (s *Spec) Refit() algorithms.Config { return s.Cluster.config }

// Labels is the segmentation made elsewhere the spec scores, if any.
func (s *Spec) Labels() (Labels, bool) {
	if s.Evaluate == nil || s.Evaluate.Labels == nil {
		return Labels{}, false
	}
	return *s.Evaluate.Labels, true
}

// JoinsLabels says whether the labels are in a file of their own, joined
// onto the data by customer id.
func (s *Spec) JoinsLabels() bool {
	l, ok := s.Labels()
	return ok && l.Path != "" && l.Path != s.Data.Path
}

// StabilityConfig is the stability measure the evaluate section asks
// for; nil for none.
func (s *Spec) StabilityConfig() *evaluate.StabilityConfig {
	if s.Evaluate == nil {
		return nil
	}
	return s.Evaluate.stability
}

// Holdout is the share of rows kept out of the fit, when the evaluate
// section asks for one.
func (s *Spec) Holdout() (algorithms.Subset, bool) {
	if s.Evaluate == nil || s.Evaluate.Holdout == nil {
		return algorithms.Subset{}, false
	}
	return evaluate.Holdout(s.JobSeed(), *s.Evaluate.Holdout), true
}

// EvaluateConfig is the evaluation the spec asks for; false when it asks
// for none.
func (s *Spec) EvaluateConfig() (evaluate.Config, bool) {
	if s.Evaluate == nil {
		return evaluate.Config{}, false
	}
	return s.Evaluate.config, true
}

// configureEvaluation reads the evaluate section, naming the line of a
// bad value.
func (s *Spec) configureEvaluation() error {
	e := s.Evaluate
	if e == nil {
		return nil
	}
	cfg := evaluate.Config{Distance: e.Distance, Seed: s.JobSeed()}
	if e.Silhouette != nil {
		switch n := e.Silhouette.Sample; {
		case n.Kind == 0:
		case n.Kind == yaml.ScalarNode && n.Value == "all":
			cfg.Exact = evaluate.AllRows
		case n.Kind == yaml.ScalarNode && n.Tag == "!!int":
			if err := n.Decode(&cfg.Sample); err != nil || cfg.Sample < 1 {
				return fmt.Errorf("job spec line %d: evaluate.silhouette.sample must be a number of rows ≥ 1, or all (got %s)", n.Line, n.Value)
			}
		default:
			return fmt.Errorf("job spec line %d: evaluate.silhouette.sample must be a number of rows or all (got %q)", n.Line, n.Value)
		}
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("job spec: evaluate: %w", err)
	}
	e.config = cfg
	if st := e.Stability; st != nil {
		sc := evaluate.StabilityConfig{Seed: s.JobSeed()}
		if st.Resamples != nil {
			if *st.Resamples < 1 {
				return fmt.Errorf("job spec: evaluate.stability.resamples must be at least 1 (got %d)", *st.Resamples)
			}
			sc.Resamples = *st.Resamples
		}
		if st.Fraction != nil {
			if !(*st.Fraction > 0) {
				return fmt.Errorf("job spec: evaluate.stability.fraction must be between 0 and 1, exclusive: the share of rows each refit is trained on (got %v)", *st.Fraction)
			}
			sc.Fraction = *st.Fraction
		}
		sc = sc.WithDefaults()
		if err := sc.Validate(); err != nil {
			return fmt.Errorf("job spec: evaluate.stability: %w", err)
		}
		e.stability = &sc
	}
	if h := e.Holdout; h != nil && !(*h > 0 && *h < 1) {
		return fmt.Errorf("job spec: evaluate.holdout must be the share of rows kept out of the fit, between 0 and 1 exclusive, such as 0.2 (got %v)", *h)
	}
	return s.checkLabels()
}

// checkLabels refuses labels the job cannot score.
func (s *Spec) checkLabels() error {
	l, ok := s.Labels()
	if !ok {
		return nil
	}
	e := s.Evaluate
	switch {
	case l.Column == "":
		return errors.New("job spec: evaluate.labels.column: name the column that holds the labels")
	case s.Data.Path == "":
		return errors.New("job spec: evaluate.labels scores a segmentation of data read from files (data.path), not synthetic data")
	case e.Stability != nil || e.Holdout != nil:
		return errors.New("job spec: evaluate.labels scores a segmentation made elsewhere, which cannot be refitted: stability and holdout do not apply")
	case !s.JoinsLabels() && l.ID != "":
		return errors.New("job spec: evaluate.labels.id names the customer column of a labels file of its own (evaluate.labels.path)")
	case !s.JoinsLabels() && s.Transactions != nil:
		return errors.New("job spec: the customers of a transaction log are built from it: give their labels in a file of their own (evaluate.labels.path), by customer id")
	case !s.JoinsLabels() && l.Column == s.Data.ID:
		return fmt.Errorf("job spec: evaluate.labels.column %q is data.id: the labels must be a column of their own", l.Column)
	case s.Prepare != nil && slices.Contains(s.Prepare.Columns, l.Column) && !s.JoinsLabels():
		return fmt.Errorf("job spec: prepare.columns includes %q, the labels: they would be a feature of the segmentation they score", l.Column)
	case s.JoinsLabels() && s.Data.ID == "":
		return errors.New("job spec: evaluate.labels in a file of their own are joined by customer id: give data.id")
	}
	return nil
}

// Codec decodes the steps and partials of every registered algorithm and
// stage. Coordinators and workers must be built with the same ones.
func Codec() algorithms.Codec { return algorithms.Registered() }
