package profile

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cohort/cohort/partition"
)

// two segments of customers that differ in income and mostly in gender,
// plus rows with no segment.
func twoSegments(n int) (*partition.Table, []int32) {
	r := rand.New(rand.NewPCG(1, 2))
	t := partition.NewTable([]partition.Field{{Name: "Income", Type: partition.Number}, {Name: "Age", Type: partition.Number},
		{Name: "Gender", Type: partition.Text}, {Name: "ID", Type: partition.Text}})
	label := make([]int32, n)
	for i := range n {
		g := int32(i % 3)
		if g == 2 {
			g = -1 // dropped before clustering
		}
		label[i] = g
		income := 20_000 + 5_000*r.NormFloat64()
		gender := []string{"F", "F", "F", "F", "M"}[r.IntN(5)]
		if g == 1 {
			income = 100_000 + 10_000*r.NormFloat64()
			gender = []string{"M", "F"}[r.IntN(2)]
		}
		if r.IntN(20) == 0 {
			income = math.NaN()
		}
		t.Columns[0].Num = append(t.Columns[0].Num, income)
		t.Columns[1].Num = append(t.Columns[1].Num, 40+10*r.NormFloat64())
		t.AppendText(2, gender, false)
		t.AppendText(3, "id"+string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676%26)), false)
		t.Rows++
	}
	return t, label
}

func TestProfilesOfTwoSegments(t *testing.T) {
	tab, label := twoSegments(30000)
	s, err := Compute(tab, label, 2)
	if err != nil {
		t.Fatal(err)
	}
	ps := Build(s, 3)
	if len(ps) != 2 || ps[0].Size != 10000 || ps[1].Size != 10000 || ps[0].Share != 0.5 {
		t.Fatalf("sizes %d, %d, shares %v", ps[0].Size, ps[1].Size, ps[0].Share)
	}
	// Medians in the data's units, to the sketch's accuracy.
	for g, p := range ps {
		var incomes []float64
		for i, l := range label {
			if int(l) == g && !math.IsNaN(tab.Columns[0].Num[i]) {
				incomes = append(incomes, tab.Columns[0].Num[i])
			}
		}
		sort.Float64s(incomes)
		exact := incomes[(len(incomes)-1)/2]
		n := p.Numbers[0]
		if n.Column != "Income" || math.Abs(n.Median-exact) > 0.006*exact || n.Missing == 0 {
			t.Errorf("segment %d income %+v, exact median %v", g, n, exact)
		}
	}
	if !strings.Contains(ps[0].Label, "low Income") || !strings.Contains(ps[1].Label, "high Income") {
		t.Errorf("labels %q, %q", ps[0].Label, ps[1].Label)
	}
	if !strings.Contains(ps[0].Label, "mostly Gender F") || strings.Contains(ps[1].Label, "mostly") {
		t.Errorf("labels %q, %q", ps[0].Label, ps[1].Label)
	}
	if len(ps[0].Texts) != 1 || ps[0].Texts[0].Column != "Gender" || ps[0].Texts[0].Top[0].Value != "F" {
		t.Errorf("texts %+v (the id column has too many values to list)", ps[0].Texts)
	}
}

// Profiles of parts merged in order are the profiles of the whole.
func TestMergedPartsEqualTheWhole(t *testing.T) {
	tab, label := twoSegments(9000)
	whole, err := Compute(tab, label, 2)
	if err != nil {
		t.Fatal(err)
	}
	var merged *Stats
	for lo := 0; lo < tab.Rows; lo += 2000 {
		hi := min(lo+2000, tab.Rows)
		part := partition.NewTable(tab.Schema())
		for i := lo; i < hi; i++ {
			part.Columns[0].Num = append(part.Columns[0].Num, tab.Columns[0].Num[i])
			part.Columns[1].Num = append(part.Columns[1].Num, tab.Columns[1].Num[i])
			for c := 2; c < 4; c++ {
				v, ok := tab.Columns[c].Text(i)
				part.AppendText(c, v, !ok)
			}
			part.Rows++
		}
		s, err := Compute(part, label[lo:hi], 2)
		if err != nil {
			t.Fatal(err)
		}
		if merged == nil {
			merged = s
		} else if err := merged.Merge(s); err != nil {
			t.Fatal(err)
		}
	}
	a, b := Build(merged, 3), Build(whole, 3)
	for g := range a {
		if a[g].Size != b[g].Size || a[g].Label != b[g].Label || !slices.Equal(medians(a[g]), medians(b[g])) {
			t.Fatalf("segment %d: merged %+v\nwhole %+v", g, a[g], b[g])
		}
	}
}

func medians(p Profile) []float64 {
	var out []float64
	for _, n := range p.Numbers {
		out = append(out, n.Median)
	}
	return out
}

// Customer features get their RFM words from where the segment's medians
// stand among all customers.
func TestRFMLabels(t *testing.T) {
	t0 := partition.NewTable([]partition.Field{{Name: "recency_days", Type: partition.Number}, {Name: "frequency", Type: partition.Number}, {Name: "monetary", Type: partition.Number}})
	var label []int32
	add := func(g int32, rec, freq, money float64) {
		t0.Columns[0].Num = append(t0.Columns[0].Num, rec)
		t0.Columns[1].Num = append(t0.Columns[1].Num, freq)
		t0.Columns[2].Num = append(t0.Columns[2].Num, money)
		t0.Rows++
		label = append(label, g)
	}
	for i := range 300 {
		f := float64(i % 10)
		add(0, 5+f, 20+f, 5000+f)    // recent, frequent, high value
		add(1, 300+f, 1, 50+f)       // lapsed, one-off, low value
		add(2, 100+f, 5+f/10, 700+f) // in between
	}
	s, err := Compute(t0, label, 3)
	if err != nil {
		t.Fatal(err)
	}
	ps := Build(s, 3)
	for g, want := range []string{"recent, frequent, high value", "lapsed, one-off, low value", "lapsing, occasional, mid value"} {
		if ps[g].Label != want {
			t.Errorf("segment %d: %q, want %q", g, ps[g].Label, want)
		}
	}
}

func TestComputeRefusesMismatchedLabels(t *testing.T) {
	tab, label := twoSegments(10)
	if _, err := Compute(tab, label[:5], 2); err == nil {
		t.Error("5 labels for 10 rows")
	}
	label[0] = 7
	if _, err := Compute(tab, label, 2); err == nil {
		t.Error("segment 7 of 2")
	}
}
