package prepare

import (
	"math"
	"reflect"
	"testing"

	"github.com/cohort/cohort/partition"
)

// A partition's feature statistics and covariance sums, encoded a chunk at
// a time, have the bits of a pass over the whole partition's features, and
// the counts of encoding it whole, across chunk boundaries.
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
		want := featureStats(whole, len(enc.Names), quantiles)
		for j := range want {
			g, w := got.Stats[j], want[j]
			if g.Count != w.Count || math.Float64bits(g.Mean) != math.Float64bits(w.Mean) || math.Float64bits(g.M2) != math.Float64bits(w.M2) || g.Min != w.Min || g.Max != w.Max {
				t.Fatalf("feature %d (quantiles %v): chunked %+v, whole %+v", j, quantiles, g, w)
			}
		}
		if !reflect.DeepEqual(got.Counts, wantCnt) || wantCnt.Dropped == 0 {
			t.Fatalf("counts chunked %+v, whole %+v", got.Counts, wantCnt)
		}
	}
	sc, err := FitScaling(ScaleStandard, featureStats(whole, len(enc.Names), false))
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
