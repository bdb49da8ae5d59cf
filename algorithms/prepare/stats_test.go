package prepare

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cohort/cohort/partition"
)

// row is one customer as the tests generate it; a missing cell is NaN,
// MissingTime or an empty text.
type row struct {
	age, income, balance float64
	signup               int64
	gender, id           string
}

var schema = []partition.Field{
	{Name: "Age", Type: partition.Number},
	{Name: "Income", Type: partition.Number},
	{Name: "Balance", Type: partition.Number},
	{Name: "Signup", Type: partition.Time},
	{Name: "Gender", Type: partition.Text},
	{Name: "CustomerID", Type: partition.Text},
}

// customers draws n rows with about 3% of each column missing, and a few
// infinite balances (Parquet can hold them).
func customers(seed uint64, n int) []row {
	r := rand.New(rand.NewPCG(seed, 0xc0407))
	genders := []string{"F", "M", "X", "unknown"}
	t0 := int64(1_577_836_800_000) // 2020-01-01 in Unix ms
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{
			age:     math.Round(18 + 60*r.Float64()),
			income:  math.Exp(10 + 0.8*r.NormFloat64()),
			balance: -500 + 300*r.NormFloat64(),
			signup:  t0 + r.Int64N(3*365*86_400_000),
			gender:  genders[min(r.IntN(7), 3)],
			id:      fmt.Sprintf("C%07d", r.IntN(10*n)),
		}
		if r.IntN(33) == 0 {
			rows[i].age = math.NaN()
		}
		if r.IntN(33) == 0 {
			rows[i].income = math.NaN()
		}
		if r.IntN(33) == 0 {
			rows[i].signup = partition.MissingTime
		}
		if r.IntN(33) == 0 {
			rows[i].gender = ""
		}
		switch r.IntN(500) {
		case 0:
			rows[i].balance = math.Inf(1)
		case 1:
			rows[i].balance = math.Inf(-1)
		case 2:
			rows[i].balance = 0
		}
	}
	return rows
}

// table builds a partition.Table of rows as the readers would.
func table(rows []row) *partition.Table {
	t := partition.NewTable(schema)
	for _, r := range rows {
		t.Columns[0].Num = append(t.Columns[0].Num, r.age)
		t.Columns[1].Num = append(t.Columns[1].Num, r.income)
		t.Columns[2].Num = append(t.Columns[2].Num, r.balance)
		t.Columns[3].Times = append(t.Columns[3].Times, r.signup)
		t.AppendText(4, r.gender, r.gender == "")
		t.AppendText(5, r.id, false)
		t.Rows++
	}
	return t
}

// present returns column c's finite values as float64, and how many cells
// were missing.
func present(rows []row, c int) (vs []float64, missing int64) {
	for _, r := range rows {
		v := [...]float64{r.age, r.income, r.balance, float64(r.signup)}[c]
		if c == 3 && r.signup == partition.MissingTime || math.IsNaN(v) || math.IsInf(v, 0) {
			missing++
			continue
		}
		vs = append(vs, v)
	}
	return vs, missing
}

// twoPass is the mean and population variance by compensated sums, a
// reference independent of Welford's update and Chan's merge.
func twoPass(vs []float64) (mean, variance float64) {
	mean = neumaier(vs, func(v float64) float64 { return v }) / float64(len(vs))
	variance = neumaier(vs, func(v float64) float64 { return (v - mean) * (v - mean) }) / float64(len(vs))
	return mean, variance
}

func neumaier(vs []float64, f func(float64) float64) float64 {
	var sum, c float64
	for _, v := range vs {
		x := f(v)
		t := sum + x
		if math.Abs(sum) >= math.Abs(x) {
			c += (sum - t) + x
		} else {
			c += (x - t) + sum
		}
		sum = t
	}
	return sum + c
}

func relErr(got, want float64) float64 {
	if got == want {
		return 0
	}
	return math.Abs(got-want) / math.Abs(want)
}

func TestStatsMatchTwoPass(t *testing.T) {
	rows := customers(1, 30_000)
	stats := Stats(table(rows))
	if len(stats) != len(schema) {
		t.Fatalf("%d column stats for %d columns", len(stats), len(schema))
	}
	for c := range 4 {
		s := &stats[c]
		vs, missing := present(rows, c)
		mean, variance := twoPass(vs)
		name := schema[c].Name
		if s.Count != int64(len(vs)) || s.Missing != missing {
			t.Errorf("%s: Count %d, Missing %d; want %d, %d", name, s.Count, s.Missing, len(vs), missing)
		}
		if e := relErr(s.Mean, mean); e > 1e-12 {
			t.Errorf("%s: Mean %v, two-pass %v: relative error %.3g", name, s.Mean, mean, e)
		}
		if e := relErr(s.Variance(), variance); e > 1e-12 {
			t.Errorf("%s: Variance %v, two-pass %v: relative error %.3g", name, s.Variance(), variance, e)
		}
		if s.Min != slices.Min(vs) || s.Max != slices.Max(vs) {
			t.Errorf("%s: Min, Max %v, %v; want %v, %v", name, s.Min, s.Max, slices.Min(vs), slices.Max(vs))
		}
		if s.Sketch.Count() != s.Count || s.Sketch.Quantile(0) != s.Min || s.Sketch.Quantile(1) != s.Max {
			t.Errorf("%s: sketch of %d values from %v to %v", name, s.Sketch.Count(), s.Sketch.Quantile(0), s.Sketch.Quantile(1))
		}
		if c < 3 { // Times are checked for exact extremes only; see ColumnStats.
			sorted := slices.Sorted(slices.Values(vs))
			for _, q := range []float64{0.01, 0.25, 0.5, 0.75, 0.99} {
				got, want := s.Sketch.Quantile(q), exactQuantile(sorted, q)
				if e := relErr(got, want); e > Alpha*(1+1e-9) {
					t.Errorf("%s: Quantile(%v) = %v, exact %v", name, q, got, want)
				}
			}
		}
		if s.Categories != nil || s.Many {
			t.Errorf("%s: categories %v, Many %v on a number column", name, len(s.Categories), s.Many)
		}
	}

	g := &stats[4]
	want := map[string]int64{}
	var missing int64
	for _, r := range rows {
		if r.gender == "" {
			missing++
		} else {
			want[r.gender]++
		}
	}
	if !maps.Equal(g.Categories, want) || g.Many || g.Missing != missing || g.Count != int64(len(rows))-missing {
		t.Errorf("Gender: %v Many %v Count %d Missing %d; want %v, %d missing", g.Categories, g.Many, g.Count, g.Missing, want, missing)
	}
	if g.Sketch.Count() != 0 {
		t.Errorf("Gender: a text column's sketch holds %d values", g.Sketch.Count())
	}
}

func TestStatsMissing(t *testing.T) {
	tb := partition.NewTable(schema[:5])
	nan, inf := math.NaN(), math.Inf(1)
	tb.Columns[0].Num = []float64{nan, nan, nan} // all missing
	tb.Columns[1].Num = []float64{inf, -inf, 2}  // infinities are missing
	tb.Columns[2].Num = []float64{-1, nan, -3}   // negatives only
	tb.Columns[3].Times = []int64{partition.MissingTime, 5, partition.MissingTime}
	tb.AppendText(4, "", true)
	tb.AppendText(4, "a", false)
	tb.AppendText(4, "", true)
	tb.Rows = 3
	st := Stats(tb)
	for i, w := range []struct{ count, missing int64 }{{0, 3}, {1, 2}, {2, 1}, {1, 2}, {1, 2}} {
		if st[i].Count != w.count || st[i].Missing != w.missing {
			t.Errorf("%s: Count %d, Missing %d; want %d, %d", schema[i].Name, st[i].Count, st[i].Missing, w.count, w.missing)
		}
	}
	if q := st[0].Sketch.Quantile(0.5); !math.IsNaN(q) || st[0].Variance() != 0 {
		t.Errorf("all missing: median %v, variance %v; want NaN, 0", q, st[0].Variance())
	}
	if st[1].Mean != 2 || st[1].Min != 2 || st[1].Max != 2 {
		t.Errorf("infinities: Mean %v Min %v Max %v; want 2", st[1].Mean, st[1].Min, st[1].Max)
	}
	if st[2].Mean != -2 || st[2].Max != -1 || st[2].Variance() != 1 {
		t.Errorf("negatives: Mean %v Max %v Variance %v; want -2, -1, 1", st[2].Mean, st[2].Max, st[2].Variance())
	}
	if st[3].Mean != 5 {
		t.Errorf("time: Mean %v, want 5", st[3].Mean)
	}
}

// split cuts rows at random points into k runs; some may be empty.
func split(r *rand.Rand, rows []row, k int) [][]row {
	cuts := []int{0, len(rows)}
	for range k - 1 {
		cuts = append(cuts, r.IntN(len(rows)+1))
	}
	slices.Sort(cuts)
	out := make([][]row, k)
	for i := range out {
		out[i] = rows[cuts[i]:cuts[i+1]]
	}
	return out
}

// mergeAll folds parts in the given order into a zero ColumnStats per
// column, as the coordinator does.
func mergeAll(parts [][]ColumnStats, order []int) []ColumnStats {
	out := make([]ColumnStats, len(parts[0]))
	for _, p := range order {
		for c := range out {
			out[c].Merge(&parts[p][c])
		}
	}
	return out
}

func TestStatsMergeOfSplits(t *testing.T) {
	rows := customers(2, 30_000)
	whole := Stats(table(rows))
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range []int{1, 2, 7, 16} {
		var parts [][]ColumnStats
		for _, p := range split(r, rows, k) {
			parts = append(parts, Stats(table(p)))
		}
		inOrder := make([]int, k)
		for i := range inOrder {
			inOrder[i] = i
		}
		reversed := slices.Clone(inOrder)
		slices.Reverse(reversed)
		orders := map[string][]int{"in order": inOrder, "reversed": reversed, "shuffled": r.Perm(k)}
		for name, order := range orders {
			merged := mergeAll(parts, order)
			for c := range merged {
				what := fmt.Sprintf("%d parts %s, %s", k, name, schema[c].Name)
				sameStats(t, what, &merged[c], &whole[c])
			}
		}
	}
}

// sameStats checks got, merged from parts, against want, of the whole:
// counts, extremes, categories and quantiles exactly, moments to 1e-12.
func sameStats(t *testing.T, what string, got, want *ColumnStats) {
	t.Helper()
	if got.Count != want.Count || got.Missing != want.Missing {
		t.Errorf("%s: Count %d, Missing %d; want %d, %d", what, got.Count, got.Missing, want.Count, want.Missing)
	}
	if e := relErr(got.Mean, want.Mean); e > 1e-12 {
		t.Errorf("%s: Mean %v, want %v (relative error %.3g)", what, got.Mean, want.Mean, e)
	}
	if e := relErr(got.Variance(), want.Variance()); e > 1e-12 {
		t.Errorf("%s: Variance %v, want %v (relative error %.3g)", what, got.Variance(), want.Variance(), e)
	}
	if want.Count > 0 && (got.Min != want.Min || got.Max != want.Max) {
		t.Errorf("%s: Min, Max %v, %v; want %v, %v", what, got.Min, got.Max, want.Min, want.Max)
	}
	for _, q := range grid() {
		g, w := got.Sketch.Quantile(q), want.Sketch.Quantile(q)
		if math.Float64bits(g) != math.Float64bits(w) && !(math.IsNaN(g) && math.IsNaN(w)) {
			t.Errorf("%s: Quantile(%v) = %v, want %v", what, q, g, w)
			break
		}
	}
	if got.Many != want.Many || !maps.Equal(got.Categories, want.Categories) {
		t.Errorf("%s: %d categories (Many %v), want %d (Many %v)", what, len(got.Categories), got.Many, len(want.Categories), want.Many)
	}
}

// Merging into the zero ColumnStats copies the first part: its zero Min
// and Max must not survive into a column of negatives.
func TestMergeIntoZero(t *testing.T) {
	tb := partition.NewTable(schema[:1])
	tb.Columns[0].Num = []float64{-3, -1.5, -2.25}
	tb.Rows = 3
	st := Stats(tb)
	var z ColumnStats
	z.Merge(&st[0])
	if z.Max != -1.5 || z.Min != -3 || math.Float64bits(z.Mean) != math.Float64bits(st[0].Mean) ||
		math.Float64bits(z.M2) != math.Float64bits(st[0].M2) {
		t.Errorf("zero.Merge: %+v, want %+v", z, st[0])
	}
	// And merging an empty part changes nothing.
	empty := Stats(partition.NewTable(schema[:1]))
	before := z
	z.Merge(&empty[0])
	if z.Count != before.Count || z.Mean != before.Mean || z.M2 != before.M2 || z.Min != before.Min || z.Max != before.Max {
		t.Errorf("merging an empty part: %+v, want %+v", z, before)
	}
}

func textStats(values ...string) ColumnStats {
	tb := partition.NewTable([]partition.Field{{Name: "T", Type: partition.Text}})
	for _, v := range values {
		tb.AppendText(0, v, false)
	}
	tb.Rows = len(values)
	return Stats(tb)[0]
}

func TestTopOrder(t *testing.T) {
	s := textStats("b", "e", "c", "a", "d", "c", "b", "e", "a", "c", "a", "b", "e", "c", "c")
	want := []Category{{"c", 5}, {"a", 3}, {"b", 3}, {"e", 3}, {"d", 1}}
	for range 20 { // map order differs from call to call; Top must not
		if got := s.Top(10); !slices.Equal(got, want) {
			t.Fatalf("Top(10) = %v, want %v", got, want)
		}
	}
	if got := s.Top(2); !slices.Equal(got, want[:2]) {
		t.Errorf("Top(2) = %v, want %v", got, want[:2])
	}
	for _, n := range []int{0, -1} {
		if got := s.Top(n); len(got) != 0 {
			t.Errorf("Top(%d) = %v, want none", n, got)
		}
	}
}

// distinct returns n distinct values starting from the from-th.
func distinct(from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("v%06d", from+i)
	}
	return out
}

func TestManyCap(t *testing.T) {
	atCap := textStats(distinct(0, MaxCategories)...)
	if atCap.Many || len(atCap.Categories) != MaxCategories {
		t.Errorf("%d distinct: Many %v with %d categories; want all kept", MaxCategories, atCap.Many, len(atCap.Categories))
	}
	over := textStats(distinct(0, MaxCategories+1)...)
	if !over.Many || over.Categories != nil || len(over.Top(5)) != 0 || over.Count != MaxCategories+1 {
		t.Errorf("%d distinct: Many %v, %d categories, Count %d; want Many, none, all counted",
			MaxCategories+1, over.Many, len(over.Categories), over.Count)
	}

	// Merged parts: Many exactly when their union passes the cap.
	half := MaxCategories / 2
	a := textStats(distinct(0, half)...)
	b := textStats(distinct(half-1, half+1)...) // overlaps a by one value
	ab := a
	ab.Categories = maps.Clone(a.Categories)
	ab.Merge(&b)
	if ab.Many || len(ab.Categories) != MaxCategories || ab.Categories[fmt.Sprintf("v%06d", half-1)] != 2 {
		t.Errorf("union of %d: Many %v, %d categories", MaxCategories, ab.Many, len(ab.Categories))
	}
	c := textStats(distinct(half, half+1)...) // disjoint from a: union is cap+1
	for _, pair := range [][2]ColumnStats{{a, c}, {c, a}} {
		s := pair[0]
		s.Categories = maps.Clone(s.Categories)
		s.Merge(&pair[1])
		if !s.Many || s.Categories != nil || s.Count != int64(2*half+1) {
			t.Errorf("union of %d: Many %v, %d categories, Count %d", MaxCategories+1, s.Many, len(s.Categories), s.Count)
		}
	}

	// Many is sticky both ways.
	s := textStats("x")
	s.Merge(&over)
	if !s.Many || s.Categories != nil {
		t.Errorf("merging a Many part: Many %v, %d categories", s.Many, len(s.Categories))
	}
	s.Merge(&a)
	if !s.Many || s.Categories != nil {
		t.Errorf("merging into a Many column: Many %v, %d categories", s.Many, len(s.Categories))
	}
}

// The customer ids of a large table pass the cap: merged or whole, the
// column is Many.
func TestManyCapOfSplits(t *testing.T) {
	rows := customers(5, 2*MaxCategories)
	whole := Stats(table(rows))
	if !whole[5].Many {
		t.Fatalf("CustomerID of %d rows is not Many (%d categories)", len(rows), len(whole[5].Categories))
	}
	var parts [][]ColumnStats
	for _, p := range split(rand.New(rand.NewPCG(6, 7)), rows, 5) {
		parts = append(parts, Stats(table(p)))
	}
	merged := mergeAll(parts, []int{0, 1, 2, 3, 4})
	sameStats(t, "CustomerID", &merged[5], &whole[5])
}

// Values near the largest float64 (a sentinel some systems write for "no
// limit") overflow a plain sum, but not their mean: the two-pass moments,
// of features and of segments alike, must keep a finite mean, as Welford's
// update did, and an infinite sum of squares only where the real one is
// past float64's range.
func TestMomentsOfValuesNearTheLargestFloat(t *testing.T) {
	big := math.MaxFloat64
	for _, c := range []struct {
		values   []float64
		mean, m2 float64
	}{
		{[]float64{big, big, big}, big, 0},
		{[]float64{-big, -big}, -big, 0},
		{[]float64{big, big, 0}, big / 3 * 2, math.Inf(1)},
		{[]float64{1e308, 1e308, math.NaN(), 1e308}, 1e308, 0},
	} {
		close := func(got, want float64) bool {
			return got == want || math.Abs(got-want) <= 1e-15*math.Abs(want)
		}
		f := featureStats(c.values, 1, false)[0]
		w := featureStats(c.values, 1, true)[0] // Welford's
		if !close(f.Mean, c.mean) || !close(w.Mean, c.mean) || f.M2 != c.m2 {
			t.Errorf("features %v: mean %v M2 %v (Welford's %v, %v); want %v, %v", c.values, f.Mean, f.M2, w.Mean, w.M2, c.mean, c.m2)
		}
		tb := partition.NewTable(schema[:1])
		tb.Columns[0].Num, tb.Rows = c.values, len(c.values)
		group := make([]int32, len(c.values))
		by, err := StatsBy(tb, group, 1)
		if err != nil {
			t.Fatal(err)
		}
		if g := by[0][0]; !close(g.Mean, c.mean) || g.M2 != c.m2 {
			t.Errorf("segment of %v: mean %v M2 %v; want %v, %v", c.values, g.Mean, g.M2, c.mean, c.m2)
		}
	}
}
