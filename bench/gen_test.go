package bench

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cohort/cohort/bench/synth"
	"github.com/cohort/cohort/partition"
)

// Generated files read back with the schema they were written with, in
// every format, and the same seed gives the same rows.
func TestGenWritesWhatReadsBack(t *testing.T) {
	dir := t.TempDir()
	for _, kind := range []string{"customers", "transactions"} {
		var first *partition.Table
		for _, name := range []string{"a.csv", "a.csv.gz", "a.parquet"} {
			out := filepath.Join(dir, kind+"-"+name)
			rep, err := Gen(context.Background(), GenConfig{Kind: kind, Rows: 70001, Out: out, Seed: 5})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Rows != 70001 || rep.Bytes <= 0 {
				t.Fatalf("%s: %+v", out, rep)
			}
			var tab *partition.Table
			if strings.HasSuffix(name, ".parquet") {
				tab, err = partition.ReadParquetColumns(context.Background(), out, 0, mustGroups(t, out), nil)
			} else {
				format, schema, serr := partition.SniffCSV(out, partition.CSVHints{Types: idsAsText(kind)})
				if serr != nil {
					t.Fatal(serr)
				}
				var rejects []partition.Reject
				tab, _, rejects, err = partition.ReadCSVRange(out, format, schema, 0, -1)
				if len(rejects) > 0 {
					t.Fatalf("%s: rejects %+v", out, rejects[0])
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if tab.Rows != 70001 {
				t.Fatalf("%s: read %d rows", out, tab.Rows)
			}
			if first == nil {
				first = tab
				continue
			}
			for c := range first.Columns {
				a, b := &first.Columns[c], &tab.Columns[c]
				if a.Name != b.Name || a.Type != b.Type {
					t.Fatalf("%s: column %d is %+v, was %+v", out, c, b.Field, a.Field)
				}
				for i := 0; i < tab.Rows; i += 997 {
					switch a.Type {
					case partition.Number:
						if x, y := a.Num[i], b.Num[i]; x != y && !(math.IsNaN(x) && math.IsNaN(y)) {
							t.Fatalf("%s: %s row %d: %v, was %v", out, a.Name, i, y, x)
						}
					case partition.Time:
						if a.Times[i] != b.Times[i] {
							t.Fatalf("%s: %s row %d differs", out, a.Name, i)
						}
					case partition.Text:
						x, xok := a.Text(i)
						y, yok := b.Text(i)
						if x != y || xok != yok {
							t.Fatalf("%s: %s row %d: %q, was %q", out, a.Name, i, y, x)
						}
					}
				}
			}
		}
	}
}

func idsAsText(kind string) map[string]string {
	if kind == "transactions" {
		return map[string]string{"CustomerID": "text", "InvoiceNo": "text", "StockCode": "text"}
	}
	return nil
}

func mustGroups(t *testing.T, path string) int {
	info, err := partition.InspectParquet(path)
	if err != nil {
		t.Fatal(err)
	}
	return len(info.GroupRows)
}

// The customers carry the mess a cleaning step must handle, and the log the
// marks a feature builder must: cancellations, guests, unique invoices.
func TestGeneratedDataIsRealistic(t *testing.T) {
	c := synth.Customers(1, 0, 1, 20000)
	missing := func(name string) float64 {
		col := c.Column(name)
		n := 0
		for i := range c.Rows {
			switch col.Type {
			case partition.Number:
				if math.IsNaN(col.Num[i]) {
					n++
				}
			case partition.Text:
				if _, ok := col.Text(i); !ok {
					n++
				}
			}
		}
		return float64(n) / float64(c.Rows)
	}
	if a, i, g := missing("Age"), missing("Income"), missing("Gender"); a < 0.02 || a > 0.04 || i < 0.06 || i > 0.1 || g < 0.01 || g > 0.03 {
		t.Fatalf("missing shares: age %.3f, income %.3f, gender %.3f", a, i, g)
	}
	spend := c.Column("TotalSpend").Num
	var sum, max float64
	for _, v := range spend {
		sum += v
		max = math.Max(max, v)
	}
	if mean := sum / float64(len(spend)); max < 10*mean {
		t.Errorf("spend not skewed: mean %.0f, max %.0f", mean, max)
	}

	tx, n := synth.Transactions(1, 3, 0, 500)
	synth.Renumber(tx, 1000)
	seen := map[string]bool{}
	cancels, guests := 0, 0
	inv, cust, qty := tx.Column("InvoiceNo"), tx.Column("CustomerID"), tx.Column("Quantity")
	for i := range tx.Rows {
		s, _ := inv.Text(i)
		seen[s] = true
		if strings.HasPrefix(s, "C") {
			cancels++
			if qty.Num[i] >= 0 {
				t.Fatalf("cancellation %s with quantity %v", s, qty.Num[i])
			}
		} else if qty.Num[i] <= 0 {
			t.Fatalf("order %s with quantity %v", s, qty.Num[i])
		}
		if _, ok := cust.Text(i); !ok {
			guests++
		}
	}
	if int64(len(seen)) != n || !seen["1000"] || cancels == 0 || guests == 0 {
		t.Fatalf("%d invoices of %d numbers, %d cancellation rows, %d guest rows", len(seen), n, cancels, guests)
	}
}

func TestGenRefusesBadRequestsAndLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	for _, cfg := range []GenConfig{
		{Kind: "people", Rows: 10, Out: filepath.Join(dir, "a.csv")},
		{Kind: "customers", Rows: 0, Out: filepath.Join(dir, "b.csv")},
		{Kind: "customers", Rows: 10, Out: filepath.Join(dir, "c.json")},
	} {
		if _, err := Gen(context.Background(), cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
		if _, err := os.Stat(cfg.Out); err == nil {
			t.Errorf("%+v left %s behind", cfg, cfg.Out)
		}
	}
}
