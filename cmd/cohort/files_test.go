package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cohort/cohort/client"
	"github.com/cohort/cohort/partition"
)

// messyCustomers writes a customers file like customer_personality: a BOM,
// `;` separators, CRLF, blank incomes, a ragged row, a non-numeric income,
// two groups of customers far apart.
func messyCustomers(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("\xEF\xBB\xBFID;Age;Income;Status;Joined\r\n")
	for i := range 600 {
		age, income, status := 25+i%10, 20000+10*i, "Single"
		if i%2 == 1 {
			age, income, status = 60+i%10, 90000+10*i, "Married"
		}
		switch {
		case i == 100:
			fmt.Fprintf(&b, "%d;%d;%d\r\n", i, age, income) // ragged
		case i == 200:
			fmt.Fprintf(&b, "%d;%d;lots;%s;2014-01-01\r\n", i, age, status) // not a number
		case i%50 == 7:
			fmt.Fprintf(&b, "%d;%d;;%s;2014-01-01\r\n", i, age, status) // blank income
		default:
			fmt.Fprintf(&b, "%d;%d;%d;%s;2014-01-01\r\n", i, age, income, status)
		}
	}
	p := filepath.Join(t.TempDir(), "customers.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// cohort run on a messy customers file: read, cleaned, encoded, scaled and
// clustered; every row accounted for in the summary; the preparation kept
// beside the centroids.
func TestRunOnAMessyCustomersFile(t *testing.T) {
	data, out := messyCustomers(t), t.TempDir()
	spec := writeSpec(t, fmt.Sprintf(`name: messy
data:
  path: %s
  id: ID
  csv: {types: {Income: number}}
  max_rejects: 0.01
prepare:
  columns: [Age, Income, Status]
  log1p: [Income]
cluster:
  k: 2
output:
  dir: %s
`, data, out))
	stdout, stderr, err := cli(t, "run", spec, "--workers", "2", "--json")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	var s client.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("summary %q: %v", stdout, err)
	}
	if s.Rows != 598 || s.Dims != 4 || s.Data == nil || s.Data.Read != 598 || s.Data.Rejected != 2 || s.Data.Imputed["Income"] != 12 {
		t.Fatalf("rows %d × %d, data %+v", s.Rows, s.Dims, s.Data)
	}
	if len(s.Data.Rejects) != 2 || s.Data.Rejects[0].Line != 102 || !strings.Contains(s.Data.Rejects[1].Reason, `"lots" is not a number`) {
		t.Fatalf("rejects %+v", s.Data.Rejects)
	}
	var phases []string
	for _, p := range s.Phases {
		phases = append(phases, p.Phase)
	}
	if got := strings.Join(phases, ","); got != "plan,read,prepare stats,prepare features,rejects,load,init,lloyd,final,assign" {
		t.Errorf("phases %s", got)
	}
	if want := []string{"Age", "Income", "Status=Married", "Status=Single"}; strings.Join(s.Features, ",") != strings.Join(want, ",") {
		t.Fatalf("features %v", s.Features)
	}
	if min(s.Sizes[0], s.Sizes[1]) != 298 || max(s.Sizes[0], s.Sizes[1]) != 300 { // the Single rows lost two to rejects
		t.Fatalf("sizes %v: the two groups are far apart", s.Sizes)
	}
	// Every kept customer has exactly one segment, in the part files the
	// workers wrote, with its id from the data.
	parts, _ := filepath.Glob(filepath.Join(out, "assignments", "part-*.parquet"))
	if len(parts) == 0 {
		t.Fatal("no assignment part files")
	}
	seen := map[string]bool{}
	for _, p := range parts {
		pf, err := partition.InspectParquet(p)
		if err != nil {
			t.Fatal(err)
		}
		tab, err := partition.ReadParquetColumns(context.Background(), p, 0, len(pf.GroupRows), nil)
		if err != nil {
			t.Fatal(err)
		}
		for r := range tab.Rows {
			id, _ := tab.Column("id").Text(r)
			if seen[id] || tab.Column("segment").Num[r] < 0 || tab.Column("segment").Num[r] > 1 || !(tab.Column("distance").Num[r] >= 0) {
				t.Fatalf("assignment %s: row %d of %s", id, r, p)
			}
			seen[id] = true
		}
	}
	if len(seen) != 598 || seen["100"] || seen["200"] || !seen["7"] {
		t.Fatalf("%d customers assigned (100 and 200 could not be read, 7 had its income imputed)", len(seen))
	}
	if len(s.Profiles) != 2 || s.Profiles[0].Size+s.Profiles[1].Size != 598 {
		t.Fatalf("profiles %+v", s.Profiles)
	}
	for _, p := range s.Profiles {
		if !strings.Contains(p.Label, "Age") || !strings.Contains(p.Label, "mostly Status") {
			t.Errorf("segment %d label %q", p.Segment, p.Label)
		}
	}
	// Every unreadable row is in the rejects files, numbered in the file.
	rejects, _ := filepath.Glob(filepath.Join(out, "rejects", "part-*.csv"))
	var lines []string
	for _, p := range rejects {
		text, _ := os.ReadFile(p)
		rows := strings.Split(strings.TrimSpace(string(text)), "\n")
		if rows[0] != "file,line,offset,reason,text" {
			t.Fatalf("%s header %q", p, rows[0])
		}
		lines = append(lines, rows[1:]...)
	}
	if len(lines) != 2 || !strings.Contains(lines[0], ",102,") || !strings.Contains(lines[1], ",202,") || !strings.Contains(lines[1], "is not a number") {
		t.Fatalf("rejects %q", lines)
	}
	for _, f := range []string{"summary.json", "centroids.csv", "pipeline.json", "profiles.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("output %s: %v", f, err)
		}
	}
	head, _ := os.ReadFile(filepath.Join(out, "centroids.csv"))
	if !strings.HasPrefix(string(head), "segment,size,Age,Income,Status=Married,Status=Single\n") {
		t.Errorf("centroids.csv starts %q", string(head)[:60])
	}
}

// Past max_rejects, or naming a column the file does not have, the job
// fails and says why.
func TestRunOnFilesFailsWithTheProblemNamed(t *testing.T) {
	data := messyCustomers(t)
	for _, c := range []struct{ extra, want string }{
		{"  max_rejects: 0\nprepare:\n  columns: [Age]\n", "2 of 600 rows (0.33%) could not be read, more than data.max_rejects allows"},
		{"prepare:\n  columns: [Age, Salary]\n", `prepare.columns names column "Salary", which the data does not have`},
		{"prepare:\n  columns: [Age]\n  missing: {Age: average}\n", `unknown rule "average"`},
	} {
		spec := writeSpec(t, fmt.Sprintf("data:\n  path: %s\n  id: ID\n  csv: {types: {Income: number}}\n%scluster:\n  k: 2\n", data, c.extra))
		_, stderr, err := cli(t, "run", spec)
		if err == nil || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: %v, stderr %q", c.extra, err, stderr)
		}
	}
}

// With prepare.pca the segments are found on principal components, the
// summary reports the variance they explain, and profiles are still in
// the data's own columns.
func TestRunWithPCA(t *testing.T) {
	data, out := messyCustomers(t), t.TempDir()
	spec := writeSpec(t, fmt.Sprintf("data:\n  path: %s\n  id: ID\n  csv: {types: {Income: number}}\nprepare:\n  columns: [Age, Income, Status]\n  pca: {components: 2}\ncluster:\n  k: 2\noutput:\n  dir: %s\n", data, out))
	stdout, stderr, err := cli(t, "run", spec, "--json")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	var s client.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	if s.Dims != 2 || strings.Join(s.Features, ",") != "pc1,pc2" || len(s.Data.Explained) != 2 || s.Data.Explained[0] < s.Data.Explained[1] {
		t.Fatalf("%d dims %v, explained %v", s.Dims, s.Features, s.Data.Explained)
	}
	if min(s.Sizes[0], s.Sizes[1]) != 298 || len(s.Profiles) != 2 || s.Profiles[0].Numbers[0].Column != "Age" {
		t.Fatalf("sizes %v, profiles %+v", s.Sizes, s.Profiles)
	}
}

// With data.duplicates, rows that share an id are shuffled to one worker
// and folded by the rule: each customer is segmented once, the folded
// rows are counted, and the unreadable rows are still reported by line.
func TestRunFoldsDuplicateCustomers(t *testing.T) {
	data := messyCustomers(t)
	text, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	// Customers 5 and 8 again, later in the file: 8 with a blank income.
	text = append(text, "5;27;99999;Married;2015-01-01\r\n8;60;;Married;2015-01-01\r\n"...)
	if err := os.WriteFile(data, text, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		rule       string
		rows, dups int64
	}{{"merge", 598, 2}, {"first", 598, 2}, {"drop", 596, 4}, {"keep", 600, 0}} {
		out := t.TempDir()
		spec := writeSpec(t, fmt.Sprintf("data:\n  path: %s\n  id: ID\n  duplicates: %s\n  csv: {types: {Income: number}}\nprepare:\n  columns: [Age, Income, Status]\ncluster:\n  k: 2\noutput: {dir: %s, format: csv}\n", data, c.rule, out))
		stdout, stderr, err := cli(t, "run", spec, "--workers", "2", "--json")
		if err != nil {
			t.Fatalf("%s: %v: %s", c.rule, err, stderr)
		}
		var s client.Summary
		if err := json.Unmarshal([]byte(stdout), &s); err != nil {
			t.Fatalf("summary %q: %v", stdout, err)
		}
		if s.Rows != c.rows || s.Data.Duplicates != c.dups || s.Data.Rejected != 2 || s.Data.Rejects[0].Line != 102 {
			t.Fatalf("%s: %d rows, data %+v", c.rule, s.Rows, s.Data)
		}
		ids := assignedCSV(t, out)
		if int64(len(ids)) != min(c.rows, 598) {
			t.Fatalf("%s: %d customers assigned", c.rule, len(ids))
		}
		want := 1
		switch c.rule {
		case "keep":
			want = 2
		case "drop":
			want = 0
		}
		if ids["5"] != want || ids["8"] != want {
			t.Fatalf("%s: customer 5 assigned %d times, 8 %d times; want %d", c.rule, ids["5"], ids["8"], want)
		}
	}
}
