package prepare

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cohort/cohort/partition"
)

func fit(t *testing.T, rows []row, cfg Config) *Encoder {
	t.Helper()
	if len(cfg.Columns) == 0 && cfg.Exclude == nil {
		cfg.Exclude = []string{"CustomerID"}
	}
	enc, err := FitEncoder(schema, Stats(table(rows)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func encode(t *testing.T, enc *Encoder, rows []row) ([]float64, []int, Counts) {
	t.Helper()
	out, kept, cnt, err := enc.Encode(table(rows), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out, kept, cnt
}

// By default every column but the id is used: numbers and times (in days)
// as they are, missing values filled with the median, text one-hot
// encoded; nothing is dropped, and every fill is counted.
func TestEncodeDefaults(t *testing.T) {
	rows := customers(1, 5000)
	enc := fit(t, rows, Config{})
	wantNames := []string{"Age", "Income", "Balance", "Signup", "Gender=F", "Gender=M", "Gender=unknown", "Gender=X"}
	// Gender's categories come most frequent first: F, M and X are drawn
	// once in seven each, "unknown" four times in seven.
	if !slices.Equal(enc.Names[:4], wantNames[:4]) || len(enc.Names) != 8 || enc.Names[4] != "Gender=unknown" {
		t.Fatalf("features %v", enc.Names)
	}
	out, kept, cnt := encode(t, enc, rows)
	if len(kept) != len(rows) || cnt.Dropped != 0 || len(out) != len(rows)*8 {
		t.Fatalf("kept %d of %d rows, dropped %d", len(kept), len(rows), cnt.Dropped)
	}
	stats := Stats(table(rows))
	for c := range 4 {
		if cnt.Imputed[c] != stats[c].Missing {
			t.Errorf("column %d: %d imputed, %d missing", c, cnt.Imputed[c], stats[c].Missing)
		}
	}
	median := stats[0].Sketch.Quantile(0.5)
	for i, r := range rows {
		f := out[i*8 : i*8+8]
		want := r.age
		if math.IsNaN(want) {
			want = median
		}
		if f[0] != want {
			t.Fatalf("row %d: age feature %v, want %v", i, f[0], want)
		}
		if r.signup != partition.MissingTime && f[3] != float64(r.signup)/86_400_000 {
			t.Fatalf("row %d: signup %v days, want %v", i, f[3], float64(r.signup)/86_400_000)
		}
		ones := 0
		for _, v := range f[4:] {
			if v == 1 {
				ones++
			} else if v != 0 {
				t.Fatalf("row %d: one-hot value %v", i, v)
			}
		}
		if ones != 1 {
			t.Fatalf("row %d: %d one-hot features set", i, ones)
		}
		if r.gender == "" && f[4] != 1 {
			t.Fatalf("row %d: missing gender not filled with the mode", i)
		}
	}
}

func TestEncodeRules(t *testing.T) {
	rows := customers(2, 5000)
	stats := Stats(table(rows))

	// drop: every row missing Income goes, counted against Income.
	enc := fit(t, rows, Config{Columns: []string{"Age", "Income"}, Missing: map[string]string{"Income": "drop", "default": "mean"}})
	out, kept, cnt := encode(t, enc, rows)
	if cnt.Dropped != stats[1].Missing || cnt.DropBy[1] != stats[1].Missing || len(kept) != len(rows)-int(stats[1].Missing) || len(out) != 2*len(kept) {
		t.Fatalf("dropped %d (by %v), kept %d; %d incomes missing", cnt.Dropped, cnt.DropBy, len(kept), stats[1].Missing)
	}
	for j, i := range kept {
		if math.IsNaN(rows[i].income) {
			t.Fatalf("row %d kept without an income", i)
		}
		if math.IsNaN(rows[i].age) && out[2*j] != stats[0].Mean {
			t.Fatalf("row %d: age filled with %v, want the mean %v", i, out[2*j], stats[0].Mean)
		}
	}

	// A median default leaves text its mode.
	enc = fit(t, rows, Config{Columns: []string{"Age", "Gender"}, Missing: map[string]string{"default": "median"}})
	if enc.Inputs[1].FillText != "unknown" || enc.Inputs[0].Fill != stats[0].Sketch.Quantile(0.5) {
		t.Fatalf("median default: %+v", enc.Inputs)
	}

	// constant fill, and clipping at quantiles: every value inside, and
	// exactly those outside counted.
	enc = fit(t, rows, Config{Columns: []string{"Balance"}, Missing: map[string]string{"Balance": "constant:-7.5"},
		Outliers: Outliers{Method: "clip", Quantiles: []float64{0.05, 0.95}}})
	in := enc.Inputs[0]
	out, _, cnt = encode(t, enc, rows)
	outside := int64(0)
	for i, r := range rows {
		v := r.balance
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = -7.5
		}
		if v < in.Lo || v > in.Hi {
			outside++
		}
		if want := min(max(v, in.Lo), in.Hi); out[i] != want {
			t.Fatalf("row %d: balance %v clipped to %v, want %v", i, v, out[i], want)
		}
	}
	if cnt.Outside[0] != outside || outside == 0 {
		t.Fatalf("%d outside counted, %d outside", cnt.Outside[0], outside)
	}
	if lo, hi := stats[2].Sketch.Quantile(0.05), stats[2].Sketch.Quantile(0.95); in.Lo != lo || in.Hi != hi {
		t.Fatalf("bounds [%v, %v], want the sketch's [%v, %v]", in.Lo, in.Hi, lo, hi)
	}

	// flag keeps values; z-scores bound at mean ± z·sd.
	enc = fit(t, rows, Config{Columns: []string{"Age"}, Outliers: Outliers{Method: "flag", Z: 1}})
	in = enc.Inputs[0]
	sd := math.Sqrt(stats[0].Variance())
	if in.Clip || math.Abs(in.Lo-(stats[0].Mean-sd)) > 1e-9 || math.Abs(in.Hi-(stats[0].Mean+sd)) > 1e-9 {
		t.Fatalf("flag at z=1: %+v, mean %v sd %v", in, stats[0].Mean, sd)
	}
	out, _, cnt = encode(t, enc, rows)
	if cnt.Outside[0] == 0 || slices.Max(out) < in.Hi {
		t.Fatalf("flagging counted %d and changed values (max %v)", cnt.Outside[0], slices.Max(out))
	}

	// log1p on the long-tailed money column.
	enc = fit(t, rows, Config{Columns: []string{"Income"}, Log1p: []string{"Income"}})
	out, _, _ = encode(t, enc, rows)
	for i, r := range rows {
		if !math.IsNaN(r.income) && out[i] != math.Log1p(r.income) {
			t.Fatalf("row %d: log1p income %v, want %v", i, out[i], math.Log1p(r.income))
		}
	}
}

// A spec's mistakes are errors that name the column and what to do.
func TestFitErrorsNameTheProblem(t *testing.T) {
	rows := customers(3, 2000)
	stats := Stats(table(rows))
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Columns: []string{"Age", "Salary"}}, `"Salary", which the data does not have`},
		{Config{Columns: []string{"Age"}, Missing: map[string]string{"Incme": "mean"}}, `prepare.missing names column "Incme"`},
		{Config{Columns: []string{"Age"}, Missing: map[string]string{"Age": "mode"}}, "mode is for text columns"},
		{Config{Columns: []string{"Age"}, Missing: map[string]string{"Age": "average"}}, `unknown rule "average"`},
		{Config{Columns: []string{"Age"}, Missing: map[string]string{"Age": "constant:abc"}}, `"abc" is not a finite number`},
		{Config{Columns: []string{"Gender"}, Missing: map[string]string{"Gender": "median"}}, "Gender is a text column"},
		{Config{Columns: []string{"Age"}, Encode: map[string]string{"Age": "onehot"}}, "only text columns are one-hot encoded"},
		{Config{Columns: []string{"Gender"}, Encode: map[string]string{"Gender": "ordinal"}}, `unknown encoding "ordinal"`},
		{Config{Columns: []string{"Balance"}, Log1p: []string{"Balance"}}, "log(1+x) needs x > −1"},
		{Config{Columns: []string{"Gender"}, Log1p: []string{"Gender"}}, "a text column"},
		{Config{Columns: []string{"Age", "Age"}}, "names \"Age\" twice"},
		{Config{Columns: []string{"Age"}, Outliers: Outliers{Method: "winsorise"}}, "method \"winsorise\" is unknown"},
		{Config{Columns: []string{"Age"}, Outliers: Outliers{Method: "clip", Quantiles: []float64{0.9, 0.1}}}, "0 ≤ low < high ≤ 1"},
		{Config{Columns: []string{"Age"}, Outliers: Outliers{Method: "clip", Z: -2}}, "positive number of standard deviations"},
		{Config{Columns: []string{"Age"}, TopN: -1}, "top_n must be at least 1"},
	} {
		_, err := FitEncoder(schema, stats, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want it to say %q", c.cfg, err, c.want)
		}
	}
	// An id-like text column has too many values to one-hot encode.
	many := customers(4, MaxCategories+2000)
	_, err := FitEncoder(schema, Stats(table(many)), Config{Columns: []string{"CustomerID"}})
	if err == nil || !strings.Contains(err.Error(), "too many to one-hot encode") {
		t.Errorf("one-hot of an id column: %v", err)
	}
}

// Top N keeps the most frequent categories and gathers the rest in
// "other"; an unseen category in new data goes there too.
func TestOneHotTopNAndOther(t *testing.T) {
	rows := customers(5, 3000)
	enc := fit(t, rows, Config{Columns: []string{"Gender"}, TopN: 2})
	if !slices.Equal(enc.Names, []string{"Gender=unknown", "Gender=F", "Gender=other"}) &&
		!slices.Equal(enc.Names, []string{"Gender=unknown", "Gender=M", "Gender=other"}) &&
		!slices.Equal(enc.Names, []string{"Gender=unknown", "Gender=X", "Gender=other"}) {
		t.Fatalf("features %v", enc.Names)
	}
	fresh := []row{{gender: "Z", age: 1, income: 1, balance: 1}}
	out, _, _ := encode(t, enc, fresh)
	if !slices.Equal(out, []float64{0, 0, 1}) {
		t.Fatalf("unseen category encoded as %v", out)
	}
}

// The encoder travels with the model: after a JSON round trip it encodes
// the same bits, and encoding a table in parts gives the whole's rows.
func TestEncoderRoundTripAndSplits(t *testing.T) {
	rows := customers(6, 4000)
	enc := fit(t, rows, Config{Missing: map[string]string{"Age": "drop"}, Outliers: Outliers{Method: "clip"}, Log1p: []string{"Income"}})
	data, err := json.Marshal(enc)
	if err != nil {
		t.Fatal(err)
	}
	var back Encoder
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	whole, kept, cnt := encode(t, enc, rows)
	again, _, _ := encode(t, &back, rows)
	if !slices.Equal(whole, again) {
		t.Fatal("encoder changed in a JSON round trip")
	}
	var parts []float64
	var total Counts
	for lo := 0; lo < len(rows); lo += 700 {
		out, _, c := encode(t, enc, rows[lo:min(lo+700, len(rows))])
		parts = append(parts, out...)
		total.Merge(c)
	}
	if !slices.Equal(whole, parts) || total.Rows != cnt.Rows || total.Dropped != cnt.Dropped || !slices.Equal(total.Imputed, cnt.Imputed) || !slices.Equal(total.Outside, cnt.Outside) {
		t.Fatalf("parts differ from the whole: %+v vs %+v", total, cnt)
	}
	if len(kept)*len(enc.Names) != len(whole) {
		t.Fatalf("%d kept rows for %d values", len(kept), len(whole))
	}
}

func TestEncodeRefusesDataThatDoesNotFit(t *testing.T) {
	rows := customers(7, 500)
	enc := fit(t, rows, Config{Columns: []string{"Age", "Gender"}})
	other := partition.NewTable([]partition.Field{{Name: "Age", Type: partition.Text}, {Name: "Gender", Type: partition.Text}})
	if _, _, _, err := enc.Encode(other, nil, nil); err == nil || !strings.Contains(err.Error(), "column Age is text, the model expects number") {
		t.Errorf("type mismatch: %v", err)
	}
	other = partition.NewTable([]partition.Field{{Name: "Age", Type: partition.Number}})
	if _, _, _, err := enc.Encode(other, nil, nil); err == nil || !strings.Contains(err.Error(), "column Gender is missing") {
		t.Errorf("missing column: %v", err)
	}
}

func TestScaling(t *testing.T) {
	rows := customers(8, 4000)
	enc := fit(t, rows, Config{Columns: []string{"Age", "Income", "Gender"}})
	out, _, _ := encode(t, enc, rows)
	w := len(enc.Names)
	// A constant feature must scale to 0, not NaN.
	for i := 0; i < len(out); i += w {
		out[i+w-1] = 3
	}
	stats := FeatureStats(out, w)
	for _, method := range []string{"standard", "minmax", "robust", "none"} {
		s, err := FitScaling(method, stats)
		if err != nil {
			t.Fatal(err)
		}
		scaled := slices.Clone(out)
		for i := 0; i < len(scaled); i += w {
			s.Apply(scaled[i : i+w])
		}
		after := FeatureStats(scaled, w)
		for j := range w {
			a := after[j]
			switch {
			case j == w-1 && method != "none" && (a.Min != 0 || a.Max != 0):
				t.Errorf("%s: constant feature scaled to [%v, %v]", method, a.Min, a.Max)
			case j == w-1:
			case method == "standard" && (math.Abs(a.Mean) > 1e-9 || math.Abs(a.Variance()-1) > 1e-9):
				t.Errorf("standard feature %d: mean %v variance %v", j, a.Mean, a.Variance())
			case method == "minmax" && (math.Abs(a.Min) > 1e-12 || math.Abs(a.Max-1) > 1e-12):
				t.Errorf("minmax feature %d: [%v, %v]", j, a.Min, a.Max)
			case method == "robust" && math.Abs(a.Sketch.Quantile(0.5)) > 0.02*(a.Max-a.Min):
				t.Errorf("robust feature %d: median %v", j, a.Sketch.Quantile(0.5))
			}
		}
		for i := 0; i < len(scaled); i += w {
			s.Invert(scaled[i : i+w])
		}
		for i, v := range scaled {
			if math.Abs(v-out[i]) > 1e-9*max(1, math.Abs(out[i])) {
				t.Fatalf("%s: invert(apply(%v)) = %v", method, out[i], v)
			}
		}
	}
	if _, err := FitScaling("zscore", stats); err == nil || !strings.Contains(err.Error(), `"zscore" is unknown`) {
		t.Errorf("unknown method: %v", err)
	}
}
