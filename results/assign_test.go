package results

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/kmeans"
	"github.com/cohort/cohort/algorithms/prepare"
	"github.com/cohort/cohort/partition"
)

// A prepared file dataset assigned to two centroids: CSV part files with
// the data's numeric ids, and profiles merged through the wire equal to
// the segments' sizes.
func TestAssignWritesPartsAndProfiles(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "c.csv")
	var b strings.Builder
	b.WriteString("cid,spend\n")
	for i := range 400 {
		spend := "10"
		if i%2 == 1 {
			spend = "1000"
		}
		if i == 3 {
			spend = "" // dropped by the rule below
		}
		b.WriteString(strconv.Itoa(5000+i) + "," + spend + "\n")
	}
	os.WriteFile(data, []byte(b.String()), 0o644)
	fs, err := partition.PlanFiles(data, partition.CSVHints{}, 2<<10)
	if err != nil {
		t.Fatal(err)
	}
	raw := load(t, partition.Spec{Files: fs})
	p := prepare.NewProgram(prepare.Config{Exclude: []string{"cid"}, Missing: map[string]string{"spend": "drop"}}, "none", fs.Schema)
	if err := algorithms.Drive(context.Background(), p, &algorithms.LocalExecutor{Blocks: raw}, nil); err != nil {
		t.Fatal(err)
	}
	pl, _ := p.Result()
	pj, _ := json.Marshal(pl)
	blocks := load(t, partition.Spec{Files: fs, Prepare: pj})

	model, err := kmeans.NewModel(kmeans.Result{Centroids: [][]float64{{10}, {1000}}, Sizes: []int64{0, 0}})
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := model.Encode()
	step := &AssignStep{ModelRef: algorithms.ModelRef{Algorithm: kmeans.Name, Model: enc}, Dir: filepath.Join(dir, "out"), Format: "csv", ID: "cid", Columns: []string{"spend"}}
	params, _ := step.MarshalBinary()
	s, err := Codec{}.DecodeStep(Kind, params)
	if err != nil {
		t.Fatal(err)
	}
	var merged *Partial
	for _, blk := range blocks {
		part, err := s.Map(blk)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := part.MarshalBinary()
		back, err := Codec{}.DecodePartial(Kind, data)
		if err != nil {
			t.Fatal(err)
		}
		if merged == nil {
			merged = back.(*Partial)
		} else if err := merged.Merge(back); err != nil {
			t.Fatal(err)
		}
	}
	if merged.Rows != 399 || len(merged.Stats.Fields) != 1 {
		t.Fatalf("%d rows, fields %v", merged.Rows, merged.Stats.Fields)
	}
	lines := 0
	for id := range blocks {
		text, err := os.ReadFile(step.Path(id))
		if err != nil {
			t.Fatal(err)
		}
		rows := strings.Split(strings.TrimSpace(string(text)), "\n")
		if rows[0] != "id,segment,distance" {
			t.Fatalf("header %q", rows[0])
		}
		for _, r := range rows[1:] {
			f := strings.Split(r, ",")
			id, _ := strconv.Atoi(f[0])
			n := id - 5000
			if want := []string{"0", "1"}[n%2]; f[1] != want || f[2] != "0" || n == 3 {
				t.Fatalf("row %q", r)
			}
			lines++
		}
	}
	if lines != 399 {
		t.Fatalf("%d assignments written", lines)
	}
}

func load(t *testing.T, spec partition.Spec) []*partition.Block {
	t.Helper()
	src, err := partition.Open(spec, partition.Env{Prepare: prepare.Open})
	if err != nil {
		t.Fatal(err)
	}
	out, err := partition.LoadAll(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Rejects of a CSV cut into pieces are written with their lines in the
// whole file.
func TestRejectsAreNumberedInTheFile(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "c.csv")
	var b strings.Builder
	b.WriteString("cid,spend\n")
	bad := map[string]bool{}
	for i := range 3000 {
		if i%400 == 7 {
			b.WriteString(strconv.Itoa(i) + ",lots\n")
			bad[strconv.Itoa(i+2)] = true
			continue
		}
		b.WriteString(strconv.Itoa(i) + "," + strconv.Itoa(i%97) + "\n")
	}
	os.WriteFile(data, []byte(b.String()), 0o644)
	fs, err := partition.PlanFiles(data, partition.CSVHints{Types: map[string]string{"spend": "number"}}, 4<<10)
	if err != nil || len(fs.Pieces) < 4 {
		t.Fatalf("%v, %d pieces", err, len(fs.Pieces))
	}
	raw := load(t, partition.Spec{Files: fs})
	p := prepare.NewProgram(prepare.Config{Exclude: []string{"cid"}}, "none", fs.Schema)
	if err := algorithms.Drive(context.Background(), p, &algorithms.LocalExecutor{Blocks: raw}, nil); err != nil {
		t.Fatal(err)
	}
	step := &RejectsStep{Dir: dir, Offsets: p.LineOffsets()}
	var written int64
	for _, blk := range raw {
		part, err := step.Map(blk)
		if err != nil {
			t.Fatal(err)
		}
		written += part.(*RejectsPartial).Rows
	}
	files, _ := filepath.Glob(filepath.Join(dir, "rejects", "*.csv"))
	got := map[string]bool{}
	for _, f := range files {
		text, _ := os.ReadFile(f)
		for _, row := range strings.Split(strings.TrimSpace(string(text)), "\n")[1:] {
			got[strings.Split(row, ",")[1]] = true
		}
	}
	if written != int64(len(bad)) || len(got) != len(bad) {
		t.Fatalf("%d written, lines %v, want %v", written, got, bad)
	}
	for line := range bad {
		if !got[line] {
			t.Errorf("line %s missing from the rejects", line)
		}
	}
}
