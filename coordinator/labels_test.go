package coordinator_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cohort/cohort/algorithms/evaluate"
)

// assignedSegments reads a job's assignment part files (CSV): each
// customer id's segment.
func assignedSegments(t *testing.T, dir string) map[string]string {
	t.Helper()
	parts, err := filepath.Glob(filepath.Join(dir, "assignments", "*.csv"))
	if err != nil || len(parts) == 0 {
		t.Fatalf("no assignment parts in %s (%v)", dir, err)
	}
	seg := map[string]string{}
	for _, p := range parts {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows[1:] {
			seg[r[0]] = r[1]
		}
	}
	return seg
}

// Labels made elsewhere are scored as a fitted model's are: k-means'
// own assignments, given back as a column of the data, have the k-means
// job's evaluation to the bit; given in a file of their own (other
// column names, rows in another order, one customer without a label),
// joined by id across the workers, the same metrics to 1e-9 (the rows
// meet in other partitions, so the sums run in another order), on one
// worker and on three. A customer the file does not label has no
// segment, as noise has none.
func TestLabelsMadeElsewhereScoreAsTheFittedModel(t *testing.T) {
	data := customersCSV(t, 3000)
	out := t.TempDir()
	const prep = "prepare: {columns: [Age, Income, Status]}\n"
	fitted := fmt.Sprintf("name: f\ndata: {path: %s, id: ID}\n%scluster: {k: 3, max_iter: 40, tol: 0}\nevaluate: {}\noutput: {dir: %s, format: csv}\n", data, prep, out)
	c := startCoordinators(t, 1, 10*time.Second)
	c.AddWorkers(2)
	want := c.Run(0, fitted, nil).EvaluationJson
	seg := assignedSegments(t, out)
	if len(seg) != 3000 {
		t.Fatalf("%d customers assigned", len(seg))
	}

	// The data with its segments as a column.
	raw, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	var with strings.Builder
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if i == 0 {
			with.WriteString(line + ",Segment\n")
			continue
		}
		id, _, _ := strings.Cut(line, ",")
		with.WriteString(line + "," + seg[id] + "\n")
	}
	own := filepath.Join(t.TempDir(), "with-segments.csv")
	if err := os.WriteFile(own, []byte(with.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// A file of labels by customer: reversed, named otherwise, a stranger
	// added.
	ids := make([]string, 0, len(seg))
	for id := range seg {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	var lab strings.Builder
	lab.WriteString("customer,cluster\n999999,2\n")
	for _, id := range ids {
		fmt.Fprintf(&lab, "%s,%s\n", id, seg[id])
	}
	file := filepath.Join(t.TempDir(), "labels.csv")
	if err := os.WriteFile(file, []byte(lab.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, workers := range []int{1, 3} {
		c := startCoordinators(t, 1, 10*time.Second)
		c.AddWorkers(workers)
		res := c.Run(0, fmt.Sprintf("name: o\ndata: {path: %s, id: ID}\n%sevaluate: {labels: {column: Segment}}\n", own, prep), nil)
		if !bytes.Equal(res.EvaluationJson, want) {
			t.Fatalf("%d workers: the data's own labels scored\n%s\nthe fitted model\n%s", workers, res.EvaluationJson, want)
		}
		if res.Algorithm != evaluate.GivenModel || res.K != 3 {
			t.Fatalf("scored as %s with k=%d", res.Algorithm, res.K)
		}
		var names []string
		for _, st := range res.Stages {
			names = append(names, st.Name)
		}
		if got := strings.Join(names, ","); got != "plan,prepare,cluster,evaluate" {
			t.Fatalf("stages %s", got)
		}

		res = c.Run(0, fmt.Sprintf("name: j\ndata: {path: %s, id: ID}\n%sevaluate: {labels: {path: %s, column: cluster, id: customer}}\n", data, prep, file), nil)
		var got, exp evaluate.Report
		if err := json.Unmarshal(res.EvaluationJson, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(want, &exp); err != nil {
			t.Fatal(err)
		}
		if got.Rows != 3000 || got.Noise != 0 || got.Segments != 3 || len(got.PerSegment) != 3 {
			t.Fatalf("%d workers: joined labels scored %d rows, %d without a label, %d segments", workers, got.Rows, got.Noise, got.Segments)
		}
		for i, g := range got.PerSegment {
			if g.Size != exp.PerSegment[i].Size {
				t.Errorf("%d workers: segment %d has %d rows joined, %d fitted", workers, i, g.Size, exp.PerSegment[i].Size)
			}
		}
		for name, v := range map[string][2]float64{
			"silhouette":        {*got.Silhouette, *exp.Silhouette},
			"Calinski-Harabasz": {*got.CalinskiHarabasz, *exp.CalinskiHarabasz},
			"Davies-Bouldin":    {*got.DaviesBouldin, *exp.DaviesBouldin},
		} {
			if math.Abs(v[0]-v[1]) > 1e-9*math.Abs(v[1]) {
				t.Errorf("%d workers: %s %v joined, %v fitted", workers, name, v[0], v[1])
			}
		}
	}

	// A customer whose label is missing has no segment.
	lines := strings.Split(lab.String(), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "7,") {
			lines[i] = "7,"
		}
	}
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	res := c.Run(0, fmt.Sprintf("name: m\ndata: {path: %s, id: ID}\n%sevaluate: {labels: {path: %s, column: cluster, id: customer}}\n", data, prep, file), nil)
	var r evaluate.Report
	if err := json.Unmarshal(res.EvaluationJson, &r); err != nil || r.Rows != 2999 || r.Noise != 1 {
		t.Fatalf("a missing label: %d rows scored, %d without a segment (%v)", r.Rows, r.Noise, err)
	}
}
