package prepare

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cohort/cohort/partition"
)

// hiddenRuns is a Preparer without its one-hot runs: its blocks are dense.
type hiddenRuns struct{ partition.Preparer }

// planTable is customers with numbers and times missing now and then, a
// text column of four values with blanks (filled with its mode), and one
// of twelve plans with blanks filled with a constant that is none of them,
// which with top_n 8 shares "other" with the four rarest plans.
func planTable(seed uint64, n int) *partition.Table {
	r := rand.New(rand.NewPCG(seed, 7))
	t := partition.NewTable([]partition.Field{
		{Name: "Age", Type: partition.Number}, {Name: "Gender", Type: partition.Text}, {Name: "Plan", Type: partition.Text},
		{Name: "Signup", Type: partition.Time}, {Name: "Income", Type: partition.Number}, {Name: "Balance", Type: partition.Number}})
	genders := []string{"F", "M", "X", "unknown"}
	for range n {
		age, income, balance := math.Round(18+60*r.Float64()), math.Exp(10+0.8*r.NormFloat64()), -500+300*r.NormFloat64()
		signup := int64(1_577_836_800_000) + r.Int64N(3*365*86_400_000)
		if r.IntN(30) == 0 {
			age = math.NaN()
		}
		if r.IntN(30) == 0 {
			signup = partition.MissingTime
		}
		if r.IntN(50) == 0 {
			balance = math.NaN() // dropped
		}
		t.Columns[0].Num = append(t.Columns[0].Num, age)
		g := genders[min(r.IntN(7), 3)]
		t.AppendText(1, g, r.IntN(25) == 0)
		plan := fmt.Sprintf("plan%02d", int(math.Min(11, math.Abs(r.NormFloat64())*4)))
		t.AppendText(2, plan, r.IntN(20) == 0)
		t.Columns[3].Times = append(t.Columns[3].Times, signup)
		t.Columns[4].Num = append(t.Columns[4].Num, income)
		t.Columns[5].Num = append(t.Columns[5].Num, balance)
		t.Rows++
	}
	return t
}

// A fitted preparation's blocks, packed by its text columns' one-hot
// runs, expand to exactly the float32 bits of its dense blocks, padding
// zero, under every scaling: with imputed values, a fill that is not a
// category, "other" and dropped rows. With PCA there are no runs.
func TestPreparedBlocksPackTheTextColumns(t *testing.T) {
	tabs := []*partition.Table{planTable(1, 3000), planTable(2, 2500)}
	cfg := Config{Missing: map[string]string{"Plan": "constant:none", "Balance": "drop", "default": "median"}, TopN: 8,
		Outliers: Outliers{Method: "clip"}, Log1p: []string{"Income"}}
	for _, scale := range []string{ScaleStandard, ScaleMinMax, ScaleRobust, ScaleNone} {
		pl := fitWith(t, tabs, cfg, scale)
		if pl.Encoder.Inputs[2].Categories[0] != "plan00" || !pl.Encoder.Inputs[2].Other || len(pl.Encoder.Names) != 4+4+9 {
			t.Fatalf("%s: test set-up: features %v", scale, pl.Encoder.Names)
		}
		if got, want := partition.RowBytes(pl), int64(4*4+2+8); got != want {
			t.Errorf("%s: %d bytes a row, want %d", scale, got, want)
		}
		for p, tab := range tabs {
			packed, err := partition.Prepare(p, tab, pl)
			if err != nil {
				t.Fatal(err)
			}
			dense, err := partition.Prepare(p, tab, hiddenRuns{pl})
			if err != nil {
				t.Fatal(err)
			}
			if !packed.Packed() || dense.Packed() || packed.Validate() != nil || !packed.SumExact || !dense.SumExact {
				t.Fatalf("%s partition %d: packed %v (%v), dense %v", scale, p, packed.Packed(), packed.Validate(), dense.Packed())
			}
			if packed.Rows != dense.Rows || packed.Rows == tab.Rows || packed.Rows < tab.Rows*9/10 {
				t.Fatalf("%s partition %d: %d rows packed, %d dense, of %d", scale, p, packed.Rows, dense.Rows, tab.Rows)
			}
			s := dense.Stride
			buf := make([]float32, 100*s)
			for i := range buf {
				buf[i] = float32(math.NaN())
			}
			for lo := 0; lo < packed.Rows; lo += 100 {
				hi := min(lo+100, packed.Rows)
				rows := packed.Span(lo, hi, buf)
				for j, v := range dense.Data[lo*s : hi*s] {
					if math.Float32bits(rows[j]) != math.Float32bits(v) {
						t.Fatalf("%s partition %d: row %d feature %d is %v packed, %v dense", scale, p, lo+j/s, j%s, rows[j], v)
					}
				}
				for i := lo; i < hi; i++ {
					if packed.IDs[i] != dense.IDs[i] {
						t.Fatalf("%s partition %d: row %d id %d, dense %d", scale, p, i, packed.IDs[i], dense.IDs[i])
					}
				}
			}
		}
	}
	pca := cfg
	pca.PCA = &PCA{Components: 3}
	pl := fitWith(t, tabs, pca, ScaleStandard)
	blk, err := partition.Prepare(0, tabs[0], pl)
	if err != nil || pl.OneHot() != nil || blk.Packed() || blk.Dims != 3 {
		t.Fatalf("with PCA: runs %v, packed %v, %d dims (%v)", pl.OneHot(), blk.Packed(), blk.Dims, err)
	}
}
