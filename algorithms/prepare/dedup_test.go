package prepare

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

var dedupSchema = []partition.Field{{Name: "id", Type: partition.Number}, {Name: "income", Type: partition.Number}, {Name: "status", Type: partition.Text}}

// dedupBlocks are two file pieces: customer 1 on three rows across both,
// customer 2 on two rows of the first (the later with no income), 3 once,
// and a row without an id.
func dedupBlocks() []*partition.Block {
	rows := [][]struct {
		id, income float64
		status     string
	}{
		{{1, 10, "a"}, {2, 20, "b"}, {math.NaN(), 99, "z"}, {2, math.NaN(), "c"}},
		{{3, 30, ""}, {1, 11, ""}, {1, 12, "d"}},
	}
	var out []*partition.Block
	for i, piece := range rows {
		t := partition.NewTable(dedupSchema)
		for _, r := range piece {
			t.Columns[0].Num = append(t.Columns[0].Num, r.id)
			t.Columns[1].Num = append(t.Columns[1].Num, r.income)
			t.AppendText(2, r.status, r.status == "")
			t.Rows++
		}
		out = append(out, &partition.Block{ID: i, Rows: t.Rows, Table: t})
	}
	return out
}

// Every rule, over rows of one id split between pieces and buckets: each
// id's rows meet in its bucket in file order, are folded by the rule, and
// the folded rows are counted; a row without an id is kept as it is.
func TestDedupRules(t *testing.T) {
	type row struct {
		id, income float64
		status     string
	}
	want := map[string][]row{
		DupFirst: {{1, 10, "a"}, {2, 20, "b"}, {3, 30, ""}},
		DupLast:  {{1, 12, "d"}, {2, math.NaN(), "c"}, {3, 30, ""}},
		DupDrop:  {{3, 30, ""}},
		DupMerge: {{1, 12, "d"}, {2, 20, "c"}, {3, 30, ""}},
	}
	const buckets = 3
	for rule, rows := range want {
		_, parts, err := algorithms.ShuffleLocal(context.Background(), dedupBlocks(), &DedupStep{ID: "id", N: buckets})
		if err != nil {
			t.Fatal(err)
		}
		var got []row
		var folded int64
		noID := 0
		for b := range buckets {
			tab, n, err := DedupTable(parts[b], dedupSchema, DedupParams{ID: "id", Rule: rule}, nil)
			if err != nil {
				t.Fatal(err)
			}
			folded += n
			for r := range tab.Rows {
				s, _ := tab.Columns[2].Text(r)
				x := row{tab.Columns[0].Num[r], tab.Columns[1].Num[r], s}
				if math.IsNaN(x.id) {
					noID++
					if b != 0 || x.income != 99 {
						t.Errorf("%s: the row without an id: %+v in bucket %d", rule, x, b)
					}
					continue
				}
				if k, _ := tab.Columns[0].Key(r); partition.Bucket(k, buckets) != b {
					t.Errorf("%s: customer %v in bucket %d", rule, x.id, b)
				}
				got = append(got, x)
			}
		}
		slices.SortFunc(got, func(a, b row) int { return int(a.id - b.id) })
		same := len(got) == len(rows)
		for i := 0; same && i < len(rows); i++ {
			g, w := got[i], rows[i]
			same = g.id == w.id && g.status == w.status && (g.income == w.income || math.IsNaN(g.income) && math.IsNaN(w.income))
		}
		if !same || noID != 1 || folded != int64(7-len(rows)-1) {
			t.Errorf("%s: rows %+v (%d without an id), %d folded; want %+v", rule, got, noID, folded, rows)
		}
	}
	if _, _, err := DedupTable(nil, dedupSchema, DedupParams{ID: "nope", Rule: DupFirst}, nil); err == nil {
		t.Error("an id column the rows lack was accepted")
	}
}

// The scatter's partial accounts for the rows read, and Map refuses.
func TestDedupStepTalliesRowsRead(t *testing.T) {
	m, _, err := algorithms.ShuffleLocal(context.Background(), dedupBlocks(), &DedupStep{ID: "id", N: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.(*TallyPartial).Read; got != 7 {
		t.Fatalf("%d rows read, want 7", got)
	}
	if _, err := (&DedupStep{ID: "id", N: 2}).Map(dedupBlocks()[0]); err == nil {
		t.Fatal("Map of a scatter step ran")
	}
	if _, _, err := (&DedupStep{ID: "missing", N: 2}).Scatter(dedupBlocks()[0]); err == nil {
		t.Fatal("an id column the data lacks was accepted")
	}
}
