package partition

import (
	"math/rand/v2"
	"testing"
)

// A selection of a packed block's rows stays packed and reads, through
// every way of reading rows, as the same selection of its dense twin,
// which reads as the rows gathered one by one; narrow and wide codes,
// no rows and every row.
func TestSelectKeepsTheRowsAndTheirForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	narrow := runsPrep{width: 13, lie: -1, runs: []run{scaledRun(1, 3, rng), scaledRun(5, 4, rng)}}
	wide := runsPrep{width: 320, lie: -1, runs: []run{scaledRun(0, 8, rng), scaledRun(10, 300, rng)}}
	for _, prep := range []runsPrep{narrow, wide} {
		tab := runsTable(2000)
		packed, err := Prepare(3, tab, prep)
		if err != nil {
			t.Fatal(err)
		}
		dense, err := Prepare(3, tab, densePreparer{prep})
		if err != nil {
			t.Fatal(err)
		}
		every := make([]int32, packed.Rows)
		for i := range every {
			every[i] = int32(i)
		}
		var some []int32
		for i := range packed.Rows {
			if rng.IntN(3) == 0 {
				some = append(some, int32(i))
			}
		}
		for _, idx := range [][]int32{nil, some, every} {
			sp, sd := packed.Select(idx), dense.Select(idx)
			if !sp.Packed() || sd.Packed() || sp.Validate() != nil || sd.Validate() != nil || sp.ID != 3 || sp.Table != nil || sp.Reread != nil {
				t.Fatalf("%d rows: packed %v (%v), dense %v (%v), id %d", len(idx), sp.Packed(), sp.Validate(), sd.Packed(), sd.Validate(), sp.ID)
			}
			if len(idx) == 0 {
				if sp.Rows != 0 || sd.Rows != 0 || len(sd.Data) != 0 {
					t.Fatalf("no rows selected: %d and %d rows", sp.Rows, sd.Rows)
				}
				continue
			}
			sameBlockRows(t, "selected", sp, sd)
			want := NewBlock(3, len(idx), dense.Dims)
			dense.Gather(idx, want.Data)
			for j, i := range idx {
				want.IDs[j] = dense.IDs[i]
			}
			want.SumExact = dense.SumExact
			sameBlockRows(t, "gathered", sd, want)
		}
	}
}
