package prepare

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

// loadAll loads every partition of spec.
func loadAll(t *testing.T, spec partition.Spec) (partition.Source, []*partition.Block) {
	t.Helper()
	src, err := partition.Open(spec, partition.Env{Prepare: Open})
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := partition.LoadAll(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	return src, blocks
}

// A CSV file with unreadable rows, cut into pieces: the preparation is
// fitted over the raw pieces, counts and numbers the rejects in the whole
// file, and the prepared pieces hold every kept row's scaled features.
func TestFileDatasetPreparedEndToEnd(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,age,income,segment\n")
	bad := map[int]bool{}
	for i := range 3000 {
		switch {
		case i%700 == 13:
			fmt.Fprintf(&b, "c%d,%d,lots,A\n", i, 20+i%50) // not a number
			bad[i+2] = true
		case i%900 == 5:
			fmt.Fprintf(&b, "c%d,%d\n", i, 30) // ragged
			bad[i+2] = true
		case i%10 == 0:
			fmt.Fprintf(&b, "c%d,,%d,B\n", i, 1000+i) // no age
		default:
			fmt.Fprintf(&b, "c%d,%d,%d,%s\n", i, 20+i%50, 1000+i, []string{"A", "B", "C"}[i%3])
		}
	}
	path := filepath.Join(t.TempDir(), "customers.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := partition.PlanFiles(path, partition.CSVHints{Types: map[string]string{"income": "number"}}, 8<<10)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs.Pieces) < 5 {
		t.Fatalf("%d pieces", len(fs.Pieces))
	}
	_, raw := loadAll(t, partition.Spec{Files: fs})
	cfg := Config{Exclude: []string{"id"}, Missing: map[string]string{"age": "drop"}}
	p := NewProgram(cfg, "standard", fs.Schema)
	if err := algorithms.Drive(context.Background(), p, &algorithms.LocalExecutor{Blocks: raw, Parallelism: 2}, nil); err != nil {
		t.Fatal(err)
	}
	pl, err := p.Result()
	if err != nil {
		t.Fatal(err)
	}
	if pl.Rejected != int64(len(bad)) || len(pl.Rejects) != len(bad) {
		t.Fatalf("%d rejected (%d shown), want %d", pl.Rejected, len(pl.Rejects), len(bad))
	}
	for _, r := range pl.Rejects {
		if !bad[int(r.Line)] {
			t.Errorf("reject at line %d (%s), which is a good row", r.Line, r.Reason)
		}
	}
	if pl.Counts.Dropped != 300 || pl.Total() != int64(3000-len(bad)-300) {
		t.Fatalf("counts %+v, total %d", pl.Counts, pl.Total())
	}
	data, _ := json.Marshal(pl)
	src, prepared := loadAll(t, partition.Spec{Files: fs, Prepare: data})
	if src.Dims() != 5 || src.Rows() != pl.Total() {
		t.Fatalf("prepared source: %d dims, %d rows", src.Dims(), src.Rows())
	}
	var rows int64
	for _, blk := range prepared {
		rows += int64(blk.Rows)
		if blk.Dims != 5 || blk.Table != nil {
			t.Fatalf("prepared block %+v", blk)
		}
	}
	if rows != pl.Total() {
		t.Fatalf("%d prepared rows, want %d", rows, pl.Total())
	}

	// Past max_rejects the preparation fails, saying where.
	none := 0.0
	cfg.MaxRejects = &none
	p = NewProgram(cfg, "standard", fs.Schema)
	err = algorithms.Drive(context.Background(), p, &algorithms.LocalExecutor{Blocks: raw}, nil)
	if err == nil || !strings.Contains(err.Error(), "could not be read, more than data.max_rejects allows") || !strings.Contains(err.Error(), "customers.csv line 7: 2 fields, want 4") {
		t.Fatalf("max_rejects 0: %v", err)
	}
}
