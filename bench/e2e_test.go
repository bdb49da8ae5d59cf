package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The suite at a small size: a well-formed report for both formats, whose
// Cohort assignments name every row of the generated file once, and a peer
// that ran wherever Python can run it and says why wherever it cannot.
func TestE2EReportsWholeJobs(t *testing.T) {
	const rows = 20_000
	dir := t.TempDir()
	var log bytes.Buffer
	rep, err := E2E(context.Background(), E2EConfig{Rows: rows, Dims: 4, K: 3, Seed: 3, Dir: dir, Repeat: 1, Workers: 1, Progress: &log})
	if err != nil {
		t.Fatal(err)
	}
	missing := checkPeer(context.Background())
	if len(rep.Formats) != 2 || rep.Formats[0].Format != E2ECSV || rep.Formats[1].Format != E2EParquet {
		t.Fatalf("formats %+v", rep.Formats)
	}
	for _, f := range rep.Formats {
		c := f.Cohort
		if f.FileBytes <= 0 || len(c.Runs) != 1 || !(c.Seconds > 0) || len(c.Iterations) != 1 || c.Iterations[0] < 1 {
			t.Fatalf("%s: cohort %+v, file %d bytes", f.Format, c, f.FileBytes)
		}
		if c.Written != rows {
			t.Fatalf("%s: %d rows of assignments for %d", f.Format, c.Written, rows)
		}
		var names []string
		for _, s := range c.Stages {
			names = append(names, s.Name)
		}
		for _, want := range []string{"start cluster", "read", "assign", "write summary"} {
			if !slices.Contains(names, want) {
				t.Fatalf("%s: cohort stages %v lack %q", f.Format, names, want)
			}
		}
		if sum := sumStages(c.Stages); sum < 0.999*c.Seconds || sum > 1.001*c.Seconds {
			t.Fatalf("%s: stages add up to %gs of %gs", f.Format, sum, c.Seconds)
		}
		// The id set is the generated file's, read independently of the
		// suite's own check.
		data, err := readTable(f.File, f.Format)
		if err != nil {
			t.Fatal(err)
		}
		if data.Rows != rows {
			t.Fatalf("%s: file has %d rows", f.Format, data.Rows)
		}
		if n, err := checkAssignments(filepath.Join(dir, "cohort-out-"+f.Format, "assignments"), f.Format, int64(data.Rows)); err != nil || n != rows {
			t.Fatalf("%s: %d rows assigned: %v", f.Format, n, err)
		}
		for _, i := range []int{0, rows / 2, rows - 1} {
			if id, _ := data.Column("id").Text(i); id != BlobID(int64(i)) {
				t.Fatalf("%s: row %d has id %q", f.Format, i, id)
			}
		}

		if why := missing[f.Format]; why != "" {
			if f.Peer != nil || f.Ratio != nil || f.PeerSkipped != why {
				t.Fatalf("%s: peer cannot run (%s) but the report has %+v, %q", f.Format, why, f.Peer, f.PeerSkipped)
			}
			t.Logf("%s: peer skipped: %s", f.Format, why)
			continue
		}
		p := f.Peer
		if p == nil || f.Ratio == nil || !(p.Seconds > 0) || p.Written != rows || f.PeerInfo == nil || f.PeerInfo.Versions["sklearn"] == "" {
			t.Fatalf("%s: peer %+v, setup %+v", f.Format, p, f.PeerInfo)
		}
		if *f.Ratio != c.Seconds/p.Seconds {
			t.Fatalf("%s: ratio %g for %g / %g", f.Format, *f.Ratio, c.Seconds, p.Seconds)
		}
		var peerNames []string
		for _, s := range p.Stages {
			peerNames = append(peerNames, s.Name)
		}
		if !slices.Equal(peerNames, []string{"python start", "import", "read", "scale", "fit", "write"}) {
			t.Fatalf("%s: peer stages %v", f.Format, peerNames)
		}
	}

	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"csv (", "parquet (", "start cluster", "assign"} {
		if !strings.Contains(text.String(), want) {
			t.Fatalf("text report lacks %q:\n%s", want, text.String())
		}
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back E2EReport
	if err := json.Unmarshal(js, &back); err != nil || back.Rows != rows || len(back.Formats) != 2 {
		t.Fatalf("JSON %s: %v", js, err)
	}
	if !strings.Contains(log.String(), "csv run 1: cohort") {
		t.Fatalf("progress: %q", log.String())
	}
}

// Files left in --dir are used again rather than generated anew.
func TestE2EDataIsReused(t *testing.T) {
	dir := t.TempDir()
	cfg := E2EConfig{Rows: 500, Dims: 2, K: 2, Seed: 1}
	a, err := e2eData(context.Background(), cfg, dir, E2ECSV)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e2eData(context.Background(), cfg, dir, E2ECSV)
	if err != nil || a != b {
		t.Fatalf("%s then %s: %v", a, b, err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(matches) != 1 {
		t.Fatalf("dir holds %v", matches)
	}
}

// Without the modules (here: without the interpreter) the peer is skipped
// with the install command, not failed.
func TestE2EPeerMissing(t *testing.T) {
	old := python
	python = filepath.Join(t.TempDir(), "no-python3")
	defer func() { python = old }()
	missing := checkPeer(context.Background())
	for _, f := range []string{E2ECSV, E2EParquet} {
		if !strings.Contains(missing[f], "not found") || !strings.Contains(missing[f], e2eInstall) {
			t.Fatalf("%s: %q", f, missing[f])
		}
	}
}

func TestMedianStages(t *testing.T) {
	got := medianStages([][]Stage{
		{{"a", 1}, {"b", 10}},
		{{"a", 3}, {"b", 30}, {"c", 4}},
		{{"a", 2}, {"b", 20}},
	})
	want := []Stage{{"a", 2}, {"b", 20}, {"c", 0}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
