package prepare

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cohort/cohort/partition"
)

// Config is a job spec's prepare section: which columns become features and
// how each is cleaned and encoded. Scaling and PCA are fitted afterwards,
// on the encoded features (see Scaling).
type Config struct {
	// Columns are the source columns to use, in order; empty means every
	// column but those in Exclude (the customer id, say).
	Columns []string `json:"columns,omitempty" yaml:"columns"`
	Exclude []string `json:"-" yaml:"-"`
	// Missing maps a column (or "default") to a rule: mean, median, mode,
	// drop (the row is dropped and counted), or constant:VALUE. A default
	// of mean or median gives text columns their mode, and one of mode
	// gives numbers their median.
	Missing map[string]string `json:"missing,omitempty" yaml:"missing"`
	// Outliers are clipped or flagged at quantiles or z-scores.
	Outliers Outliers `json:"outliers" yaml:"outliers"`
	// Encode maps a text column to "onehot"; text columns not named are
	// one-hot encoded too, and named non-text columns are an error.
	Encode map[string]string `json:"encode,omitempty" yaml:"encode"`
	// TopN is how many categories of a column get their own feature; the
	// rest share "other". Default 10.
	TopN int `json:"top_n,omitempty" yaml:"top_n"`
	// Log1p names skewed columns (money, counts) that take log(1+x) after
	// clipping; their values must not fall below −1 once clipped.
	Log1p []string `json:"log1p,omitempty" yaml:"log1p"`
	// MaxRejects is the share of rows that may fail to be read (a ragged
	// row, a number that is not one) before the job fails; nil means 1%.
	MaxRejects *float64 `json:"max_rejects,omitempty" yaml:"-"`
	// PCA, if set, projects the scaled features on their principal
	// components.
	PCA *PCA `json:"pca,omitempty" yaml:"-"`
}

// RejectsAllowed is the share of rows that may fail to be read (1% unless
// the spec says).
func (c Config) RejectsAllowed() float64 {
	if c.MaxRejects == nil {
		return 0.01
	}
	return *c.MaxRejects
}

// Outliers says what to do with extreme numbers.
type Outliers struct {
	// Method is clip (to the bounds), flag (count, keep the value), or
	// none. Default none.
	Method string `json:"method,omitempty" yaml:"method"`
	// Quantiles are the lower and upper bounds as quantiles (default 0.01
	// and 0.99), unless Z is set: then mean ± Z standard deviations.
	Quantiles []float64 `json:"quantiles,omitempty" yaml:"quantiles"`
	Z         float64   `json:"z,omitempty" yaml:"z"`
}

// Missing-value rules.
const (
	MissingMean   = "mean"
	MissingMedian = "median"
	MissingMode   = "mode"
	MissingDrop   = "drop"
	constantRule  = "constant:"
)

// Input is how one source column becomes features: the rules fitted from
// its statistics, kept with the model so that new customers are encoded
// the same way.
type Input struct {
	Column string               `json:"column"`
	Type   partition.ColumnType `json:"type"`
	// Drop: a row missing this column is dropped. Otherwise Fill (numbers,
	// times in days) or FillText (text) takes its place.
	Drop     bool    `json:"drop,omitempty"`
	Fill     float64 `json:"fill,omitempty"`
	FillText string  `json:"fill_text,omitempty"`
	// Outliers: values outside [Lo, Hi] are clipped (Clip) or only counted.
	Bounded bool    `json:"bounded,omitempty"`
	Clip    bool    `json:"clip,omitempty"`
	Lo      float64 `json:"lo,omitempty"`
	Hi      float64 `json:"hi,omitempty"`
	Log1p   bool    `json:"log1p,omitempty"`
	// Categories of a text column with their own feature, most frequent
	// first; Other says whether a feature for every other value follows.
	Categories []string `json:"categories,omitempty"`
	Other      bool     `json:"other,omitempty"`
}

// Features is the number of features the input makes.
func (in *Input) Features() int {
	if in.Type != partition.Text {
		return 1
	}
	n := len(in.Categories)
	if in.Other {
		n++
	}
	return n
}

// Encoder turns rows of a table into feature rows: cleaned, clipped,
// log-transformed and one-hot encoded, not yet scaled.
type Encoder struct {
	Inputs []Input `json:"inputs"`
	// Names of the features, in order: a number column's name, or
	// "column=value" and "column=other" for one-hot features.
	Names []string `json:"names"`
}

const msPerDay = 86_400_000

// Select returns the fields cfg's columns name (every field but those in
// Exclude when it names none), in cfg's order: the columns a preparation
// reads, so a pass can read only those. Errors name a column the data does
// not have, or one named twice.
func Select(fields []partition.Field, cfg Config) ([]partition.Field, error) {
	var out []partition.Field
	if len(cfg.Columns) == 0 {
		for _, f := range fields {
			if !slices.Contains(cfg.Exclude, f.Name) {
				out = append(out, f)
			}
		}
	}
	for i, name := range cfg.Columns {
		j := slices.IndexFunc(fields, func(f partition.Field) bool { return f.Name == name })
		if j < 0 {
			return nil, fmt.Errorf("prepare.columns names column %q, which the data does not have (columns: %s)", name, strings.Join(partition.FieldNames(fields), ", "))
		}
		if slices.Contains(cfg.Columns[:i], name) {
			return nil, fmt.Errorf("prepare.columns names %q twice", name)
		}
		out = append(out, fields[j])
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("prepare: no columns to use")
	}
	return out, nil
}

// FitEncoder fits the encoding of cfg's columns of a table with schema
// fields from their merged statistics (one ColumnStats per field, as Stats
// returns). Errors name the column and the problem.
func FitEncoder(fields []partition.Field, stats []ColumnStats, cfg Config) (*Encoder, error) {
	if len(stats) != len(fields) {
		return nil, fmt.Errorf("prepare: %d column statistics for %d columns", len(stats), len(fields))
	}
	index := map[string]int{}
	for i, f := range fields {
		index[f.Name] = i
	}
	used, err := Select(fields, cfg)
	if err != nil {
		return nil, err
	}
	cols := partition.FieldNames(used)
	known := func(what string, names []string) error {
		for _, name := range names {
			if _, ok := index[name]; !ok && name != "default" {
				return fmt.Errorf("prepare.%s names column %q, which the data does not have (columns: %s)", what, name, strings.Join(partition.FieldNames(fields), ", "))
			}
		}
		return nil
	}
	if err := known("missing", mapKeys(cfg.Missing)); err != nil {
		return nil, err
	}
	if err := known("encode", mapKeys(cfg.Encode)); err != nil {
		return nil, err
	}
	if err := known("log1p", cfg.Log1p); err != nil {
		return nil, err
	}
	lo, hi, err := cfg.Outliers.bounds()
	if err != nil {
		return nil, err
	}
	topN := cfg.TopN
	if topN == 0 {
		topN = 10
	}
	if topN < 1 {
		return nil, fmt.Errorf("prepare.top_n must be at least 1, got %d", topN)
	}

	enc := &Encoder{}
	for _, name := range cols {
		f, s := fields[index[name]], stats[index[name]]
		in := Input{Column: name, Type: f.Type}
		rule := cfg.Missing[name]
		if rule == "" {
			// The default applies where it can: a median default leaves
			// text columns their mode, a mode default numbers their median.
			rule = cfg.Missing["default"]
			switch {
			case f.Type == partition.Text && (rule == MissingMean || rule == MissingMedian):
				rule = MissingMode
			case f.Type != partition.Text && rule == MissingMode:
				rule = MissingMedian
			}
		}
		if rule == "" {
			rule = MissingMedian
			if f.Type == partition.Text {
				rule = MissingMode
			}
		}
		if how, ok := cfg.Encode[name]; ok && (how != "onehot" || f.Type != partition.Text) {
			if how != "onehot" {
				return nil, fmt.Errorf("prepare.encode.%s: unknown encoding %q (use onehot)", name, how)
			}
			return nil, fmt.Errorf("prepare.encode.%s: only text columns are one-hot encoded; %s is %s", name, name, f.Type)
		}
		if f.Type == partition.Text {
			if slices.Contains(cfg.Log1p, name) {
				return nil, fmt.Errorf("prepare.log1p names %s, a text column", name)
			}
			if err := in.fitText(s, rule, topN); err != nil {
				return nil, err
			}
		} else {
			if err := in.fitNumber(s, rule, cfg.Outliers, lo, hi, slices.Contains(cfg.Log1p, name)); err != nil {
				return nil, err
			}
		}
		enc.Inputs = append(enc.Inputs, in)
		if in.Type == partition.Text {
			for _, c := range in.Categories {
				enc.Names = append(enc.Names, name+"="+c)
			}
			if in.Other {
				enc.Names = append(enc.Names, name+"=other")
			}
		} else {
			enc.Names = append(enc.Names, name)
		}
	}
	return enc, nil
}

func (o Outliers) bounds() (lo, hi float64, err error) {
	switch o.Method {
	case "", "none":
		return 0, 1, nil
	case "clip", "flag":
	default:
		return 0, 0, fmt.Errorf("prepare.outliers.method %q is unknown (use clip, flag or none)", o.Method)
	}
	if o.Z != 0 {
		if len(o.Quantiles) > 0 {
			return 0, 0, fmt.Errorf("prepare.outliers: give quantiles or z, not both")
		}
		if !(o.Z > 0) || math.IsInf(o.Z, 0) {
			return 0, 0, fmt.Errorf("prepare.outliers.z must be a positive number of standard deviations, got %v", o.Z)
		}
		return 0, 0, nil
	}
	if len(o.Quantiles) == 0 {
		return 0.01, 0.99, nil
	}
	if len(o.Quantiles) != 2 || !(0 <= o.Quantiles[0] && o.Quantiles[0] < o.Quantiles[1] && o.Quantiles[1] <= 1) {
		return 0, 0, fmt.Errorf("prepare.outliers.quantiles must be [low, high] with 0 ≤ low < high ≤ 1, got %v", o.Quantiles)
	}
	return o.Quantiles[0], o.Quantiles[1], nil
}

// fitNumber fits a number or time column; times are in days since the
// Unix epoch, so that fills, bounds and scales read in days.
func (in *Input) fitNumber(s ColumnStats, rule string, o Outliers, lo, hi float64, log1p bool) error {
	unit := 1.0
	if in.Type == partition.Time {
		unit = msPerDay
	}
	if s.Count == 0 {
		return fmt.Errorf("prepare: column %s has no values (all %d missing)", in.Column, s.Missing)
	}
	switch {
	case rule == MissingMean:
		in.Fill = s.Mean / unit
	case rule == MissingMedian:
		in.Fill = s.Sketch.Quantile(0.5) / unit
	case rule == MissingDrop:
		in.Drop = true
	case rule == MissingMode:
		return fmt.Errorf("prepare.missing.%s: mode is for text columns; %s is a %s column (use mean, median, drop or constant:VALUE)", in.Column, in.Column, in.Type)
	case strings.HasPrefix(rule, constantRule):
		v, err := strconv.ParseFloat(strings.TrimPrefix(rule, constantRule), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("prepare.missing.%s: %q is not a finite number", in.Column, strings.TrimPrefix(rule, constantRule))
		}
		in.Fill = v
	default:
		return fmt.Errorf("prepare.missing.%s: unknown rule %q (use mean, median, mode, drop or constant:VALUE)", in.Column, rule)
	}
	if o.Method == "clip" || o.Method == "flag" {
		in.Bounded, in.Clip = true, o.Method == "clip"
		if o.Z > 0 {
			sd := math.Sqrt(s.Variance())
			in.Lo, in.Hi = (s.Mean-o.Z*sd)/unit, (s.Mean+o.Z*sd)/unit
		} else {
			in.Lo, in.Hi = s.Sketch.Quantile(lo)/unit, s.Sketch.Quantile(hi)/unit
		}
	}
	if log1p {
		low := s.Min / unit
		if in.Clip {
			low = max(low, in.Lo)
		}
		if !in.Drop {
			low = min(low, in.Fill)
		}
		if low <= -1 {
			return fmt.Errorf("prepare.log1p: column %s goes down to %g, and log(1+x) needs x > −1 (clip it, or leave it out of log1p)", in.Column, low)
		}
		in.Log1p = true
	}
	return nil
}

func (in *Input) fitText(s ColumnStats, rule string, topN int) error {
	if s.Many {
		return fmt.Errorf("prepare: text column %s has more than %d distinct values, too many to one-hot encode; leave it out of prepare.columns (is it an id?)", in.Column, MaxCategories)
	}
	if s.Count == 0 {
		return fmt.Errorf("prepare: column %s has no values (all %d missing)", in.Column, s.Missing)
	}
	top := s.Top(len(s.Categories))
	switch {
	case rule == MissingMode:
		in.FillText = top[0].Value
	case rule == MissingDrop:
		in.Drop = true
	case strings.HasPrefix(rule, constantRule):
		in.FillText = strings.TrimPrefix(rule, constantRule)
	default:
		return fmt.Errorf("prepare.missing.%s: %s is a text column; use mode, drop or constant:VALUE, not %q", in.Column, in.Column, rule)
	}
	for _, c := range top[:min(topN, len(top))] {
		in.Categories = append(in.Categories, c.Value)
	}
	in.Other = len(top) > topN
	if !in.Drop && !in.Other && !slices.Contains(in.Categories, in.FillText) {
		in.Other = true // a constant fill that is not a category of its own
	}
	return nil
}

// Counts are what encoding did to a table's rows, per input column.
type Counts struct {
	Rows    int64   `json:"rows"`    // rows in
	Dropped int64   `json:"dropped"` // rows dropped for a missing value
	Imputed []int64 `json:"imputed"` // values filled in, per input
	Outside []int64 `json:"outside"` // values outside the bounds (clipped or flagged), per input
	DropBy  []int64 `json:"drop_by"` // rows dropped, per input whose value was missing first
}

// Merge adds o's counts to c's.
func (c *Counts) Merge(o Counts) {
	c.Rows += o.Rows
	c.Dropped += o.Dropped
	c.Imputed = addCounts(c.Imputed, o.Imputed)
	c.Outside = addCounts(c.Outside, o.Outside)
	c.DropBy = addCounts(c.DropBy, o.DropBy)
}

func addCounts(a, b []int64) []int64 {
	if len(a) < len(b) {
		a = append(a, make([]int64, len(b)-len(a))...)
	}
	for i, v := range b {
		a[i] += v
	}
	return a
}

// Encode appends the feature rows of t (len(e.Names) values each) to out
// and the indices of the rows kept to kept, and counts what it did. The
// table must have every input column, with its type.
func (e *Encoder) Encode(t *partition.Table, out []float64, kept []int) ([]float64, []int, Counts, error) {
	b, err := e.Bind(t)
	if err != nil {
		return out, kept, Counts{}, err
	}
	out, kept, cnt := b.Rows(0, t.Rows, out, kept)
	return out, kept, cnt, nil
}

// Bound is an Encoder bound to one table: its columns found and its text
// dictionaries mapped to features once, so that rows can be encoded a
// range at a time at no further cost.
type Bound struct {
	e        *Encoder
	cols     []*partition.Column
	codeOf   [][]int // per input: dictionary code → feature offset, −1 for other
	fillCode []int
}

// Bind checks that t has every input column, with its type, and maps its
// text dictionaries to features.
func (e *Encoder) Bind(t *partition.Table) (*Bound, error) {
	b := &Bound{e: e, cols: make([]*partition.Column, len(e.Inputs)), codeOf: make([][]int, len(e.Inputs)), fillCode: make([]int, len(e.Inputs))}
	for i := range e.Inputs {
		in := &e.Inputs[i]
		c := t.Column(in.Column)
		if c == nil {
			return nil, fmt.Errorf("encode: column %s is missing from the data", in.Column)
		}
		if c.Type != in.Type {
			return nil, fmt.Errorf("encode: column %s is %s, the model expects %s", in.Column, c.Type, in.Type)
		}
		b.cols[i] = c
		if in.Type == partition.Text {
			b.codeOf[i] = make([]int, len(c.Dict))
			for code, v := range c.Dict {
				b.codeOf[i][code] = slices.Index(in.Categories, v)
			}
			b.fillCode[i] = slices.Index(in.Categories, in.FillText)
		}
	}
	return b, nil
}

// Rows appends the feature rows of rows [lo, hi) of the bound table to out
// and the indices (in the table) of the rows kept to kept, and counts what
// it did.
func (b *Bound) Rows(lo, hi int, out []float64, kept []int) ([]float64, []int, Counts) {
	return b.rows(lo, hi, out, kept, nil)
}

// rows is Rows; with hot, only the number inputs' features are written
// (one a number input, in order), and each text input's one-hot feature
// is counted in hot[input][feature] instead: all that the statistics of a
// one-hot feature, a 0/1 column, need. hot then has an entry for every
// input, those of text inputs Features() long.
func (b *Bound) rows(lo, hi int, out []float64, kept []int, hot [][]int64) ([]float64, []int, Counts) {
	e := b.e
	n := len(e.Inputs)
	cnt := Counts{Rows: int64(hi - lo), Imputed: make([]int64, n), Outside: make([]int64, n), DropBy: make([]int64, n)}
	width := len(e.Names)
	if hot != nil {
		width = e.numbers()
	}
	// Room for every row at once: grown row by row, the slice was copied
	// again at each doubling, onto fresh pages each time.
	out = slices.Grow(out, (hi-lo)*width)
	kept = slices.Grow(kept, hi-lo)
rows:
	for r := lo; r < hi; r++ {
		// A row is dropped before any of it is written.
		for i := range e.Inputs {
			if e.Inputs[i].Drop && missingAt(b.cols[i], r) {
				cnt.Dropped++
				cnt.DropBy[i]++
				continue rows
			}
		}
		base := len(out)
		out = append(out, make([]float64, width)...)
		f := out[base:]
		at := 0
		for i := range e.Inputs {
			in, c := &e.Inputs[i], b.cols[i]
			if in.Type == partition.Text {
				idx := b.fillCode[i]
				if code := c.Codes[r]; code >= 0 {
					idx = b.codeOf[i][code]
				} else {
					cnt.Imputed[i]++
				}
				if idx < 0 {
					if !in.Other {
						// A value the fit never saw, and no feature for
						// the others: none of the input's features is hot
						// (its 1 went into the next input's first one).
						at += in.Features()
						continue
					}
					idx = len(in.Categories)
				}
				if hot != nil {
					hot[i][idx]++
					continue
				}
				f[at+idx] = 1
				at += in.Features()
				continue
			}
			v, ok := numberAt(c, r)
			if !ok {
				v = in.Fill
				cnt.Imputed[i]++
			}
			if in.Bounded && (v < in.Lo || v > in.Hi) {
				cnt.Outside[i]++
				if in.Clip {
					v = min(max(v, in.Lo), in.Hi)
				}
			}
			if in.Log1p {
				v = math.Log1p(v)
			}
			f[at] = v
			at++
		}
		kept = append(kept, r)
	}
	return out, kept, cnt
}

// numbers is how many inputs are not text: the features Numbers writes.
func (e *Encoder) numbers() int {
	n := 0
	for i := range e.Inputs {
		if e.Inputs[i].Type != partition.Text {
			n++
		}
	}
	return n
}

func missingAt(c *partition.Column, r int) bool {
	if c.Type == partition.Text {
		return c.Codes[r] < 0
	}
	_, ok := numberAt(c, r)
	return !ok
}

// numberAt is a number column's value, or a time column's in days; false
// when missing (NaN and ±Inf count as missing, as in Stats).
func numberAt(c *partition.Column, r int) (float64, bool) {
	if c.Type == partition.Time {
		ms := c.Times[r]
		return float64(ms) / msPerDay, ms != partition.MissingTime
	}
	v := c.Num[r]
	return v, !math.IsNaN(v) && !math.IsInf(v, 0)
}

func mapKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
