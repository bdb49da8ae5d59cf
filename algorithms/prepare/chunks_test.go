package prepare

import (
	"math"
	"reflect"
	"testing"

	"github.com/cohort/cohort/partition"
)

// A partition's feature statistics and covariance sums, encoded a chunk at
// a time, are those of a pass over the whole partition's features (the
// moments to rounding, as the one-hot features' follow from their counts;
// with quantiles, and the covariance sums, to the bit), and the counts of
// encoding it whole, across chunk boundaries.
func TestChunkedPassesMatchAWholePass(t *testing.T) {
	rows := customers(5, 2*partition.ChunkRows+777)
	tab := table(rows)
	cfg := Config{Exclude: []string{"CustomerID"}, Missing: map[string]string{"Balance": "drop"}, Outliers: Outliers{Method: "clip", Z: 2}}
	enc := fit(t, rows, cfg)
	whole, _, wantCnt, err := enc.Encode(tab, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &partition.Block{ID: 3, Rows: tab.Rows, Table: tab}
	for _, quantiles := range []bool{false, true} {
		p, err := (&featuresStep{Encoder: enc, Quantiles: quantiles}).Map(b)
		if err != nil {
			t.Fatal(err)
		}
		got := p.(*featuresPartial)
		// The reference is Welford's update, a value at a time.
		width := len(enc.Names)
		want := newFeatureStats(width)
		for lo := 0; lo < len(whole); lo += width {
			for j, v := range whole[lo : lo+width] {
				if quantiles {
					want[j].add(v)
				} else {
					want[j].addMoments(v)
				}
			}
		}
		for j := range want {
			g, w := got.Stats[j], want[j]
			close := func(a, b float64) bool {
				if quantiles {
					return math.Float64bits(a) == math.Float64bits(b)
				}
				return math.Abs(a-b) <= 1e-12*max(math.Abs(a), math.Abs(b), 1)
			}
			if g.Count != w.Count || g.Missing != w.Missing || !close(g.Mean, w.Mean) || !close(g.M2, w.M2) || g.Min != w.Min || g.Max != w.Max || g.Fractional != w.Fractional {
				t.Fatalf("feature %d (quantiles %v): chunked %+v, whole %+v", j, quantiles, g, w)
			}
		}
		if !reflect.DeepEqual(got.Counts, wantCnt) || wantCnt.Dropped == 0 {
			t.Fatalf("counts chunked %+v, whole %+v", got.Counts, wantCnt)
		}
	}
	sc, err := FitScaling(ScaleStandard, featureStats(whole, len(enc.Names), true))
	if err != nil {
		t.Fatal(err)
	}
	pl := Pipeline{Encoder: enc, Scaling: sc}
	scaled, _, _, _ := pl.Features(tab, nil, nil)
	p, err := (&covStep{Encoder: enc, Scaling: sc}).Map(b)
	if err != nil {
		t.Fatal(err)
	}
	got := p.(*covPartial)
	w := len(enc.Names)
	sum := make([]float64, w)
	for lo := 0; lo < len(scaled); lo += w {
		for i := range w {
			sum[i] += scaled[lo+i]
		}
	}
	if got.N != int64(len(scaled)/w) || !reflect.DeepEqual(got.Sum, sum) {
		t.Fatalf("covariance pass: %d rows, sums %v; want %d, %v", got.N, got.Sum, len(scaled)/w, sum)
	}
}

// A text value the fit never saw, in a column with no feature for the
// others, leaves every feature of the column cold; it used to set the
// next column's first feature. Counting, rows finds no feature hot.
func TestUnseenTextValueWithoutOtherIsAllCold(t *testing.T) {
	enc := &Encoder{
		Inputs: []Input{{Column: "c", Type: partition.Text, Categories: []string{"a", "b"}}, {Column: "d", Type: partition.Text, Categories: []string{"x", "y"}}},
		Names:  []string{"c=a", "c=b", "d=x", "d=y"},
	}
	tab := partition.NewTable([]partition.Field{{Name: "c", Type: partition.Text}, {Name: "d", Type: partition.Text}})
	for _, r := range [][2]string{{"a", "y"}, {"zzz", "x"}, {"b", "y"}} {
		tab.Columns[0].Codes = append(tab.Columns[0].Codes, int32(len(tab.Columns[0].Dict)))
		tab.Columns[0].Dict = append(tab.Columns[0].Dict, r[0])
		tab.Columns[1].Codes = append(tab.Columns[1].Codes, int32(len(tab.Columns[1].Dict)))
		tab.Columns[1].Dict = append(tab.Columns[1].Dict, r[1])
		tab.Rows++
	}
	rows, kept, _, err := enc.Encode(tab, nil, nil)
	if err != nil || len(kept) != 3 {
		t.Fatal(err, kept)
	}
	want := []float64{1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("features %v, want %v", rows, want)
	}
	b, _ := enc.Bind(tab)
	hot := [][]int64{make([]int64, 2), make([]int64, 2)}
	if nums, _, _ := b.rows(0, 3, nil, nil, hot); len(nums) != 0 || !reflect.DeepEqual(hot, [][]int64{{1, 1}, {1, 2}}) {
		t.Fatalf("numbers %v, hot %v", nums, hot)
	}
}
