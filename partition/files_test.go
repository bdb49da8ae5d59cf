package partition

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTable writes t to dir/name by its extension.
func writeTable(t *testing.T, dir, name string, tabs ...*Table) string {
	t.Helper()
	p := filepath.Join(dir, name)
	w, err := CreateTable(p, tabs[0].Schema())
	if err != nil {
		t.Fatal(err)
	}
	for _, tab := range tabs {
		if err := w.Write(tab); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll reads every piece of fs in order into one table.
func readAll(t *testing.T, fs *FileSet) *Table {
	t.Helper()
	all := NewTable(fs.Schema)
	for _, p := range fs.Pieces {
		tab, _, rejects, err := fs.Read(context.Background(), p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(rejects) > 0 {
			t.Fatalf("piece %+v: rejects %+v", p, rejects[0])
		}
		for i := range all.Columns {
			c, d := &all.Columns[i], &tab.Columns[i]
			c.Num = append(c.Num, d.Num...)
			c.Times = append(c.Times, d.Times...)
			for r := range tab.Rows {
				if d.Type == Text {
					s, ok := d.Text(r)
					c.appendText(s, !ok)
				}
			}
		}
		all.Rows += tab.Rows
	}
	return all
}

// sameData is sameRows ignoring how times were laid out in the file.
func sameData(t *testing.T, got, want *Table) {
	t.Helper()
	for i := range want.Columns {
		if i < len(got.Columns) {
			want.Columns[i].Layout = got.Columns[i].Layout
		}
	}
	sameRows(t, got, want)
}

// A CSV file bigger than a piece is cut into byte ranges that read every
// row once; a gzip'd one is one piece; a folder reads its files in name
// order; Parquet row groups are gathered into pieces.
func TestPlanFilesCutsAndReadsEveryRowOnce(t *testing.T) {
	dir := t.TempDir()
	want := sampleTable(5000, 0)
	csvPath := writeTable(t, dir, "a.csv", want)
	fs, err := PlanFiles(csvPath, CSVHints{}, 16<<10)
	if err != nil {
		t.Fatal(err)
	}
	if fs.Format != FormatCSV || len(fs.Pieces) < 4 {
		t.Fatalf("%s in %d pieces", fs.Format, len(fs.Pieces))
	}
	sameData(t, readAll(t, fs), want)

	gz := writeTable(t, dir, "b.csv.gz", want)
	if fs, err = PlanFiles(gz, CSVHints{}, 16<<10); err != nil || len(fs.Pieces) != 1 || !fs.Pieces[0].Gzip {
		t.Fatalf("gzip plan %+v, %v", fs, err)
	}
	sameData(t, readAll(t, fs), want)

	pq := writeTable(t, dir, "c.parquet", sampleTable(1000, 0), sampleTable(1000, 1000), sampleTable(1000, 2000), sampleTable(2000, 3000))
	if fs, err = PlanFiles(pq, CSVHints{}, 1); err != nil || len(fs.Pieces) != 4 || fs.Pieces[3].Rows != 2000 {
		t.Fatalf("parquet plan %+v, %v", fs, err)
	}
	sameData(t, readAll(t, fs), want)
	if fs, err = PlanFiles(pq, CSVHints{}, 1<<30); err != nil || len(fs.Pieces) != 1 || fs.Pieces[0].Last != 4 {
		t.Fatalf("parquet in one piece: %+v, %v", fs, err)
	}

	folder := filepath.Join(dir, "parts")
	os.Mkdir(folder, 0o755)
	writeTable(t, folder, "part-1.csv", sampleTable(2000, 3000))
	writeTable(t, folder, "part-0.csv.gz", sampleTable(3000, 0))
	os.WriteFile(filepath.Join(folder, "_SUCCESS"), nil, 0o644)
	if fs, err = PlanFiles(folder, CSVHints{}, 0); err != nil || len(fs.Pieces) != 2 {
		t.Fatalf("folder plan %+v, %v", fs, err)
	}
	sameData(t, readAll(t, fs), want)
}

func TestPlanFilesErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	mixed := filepath.Join(dir, "mixed")
	os.Mkdir(mixed, 0o755)
	writeTable(t, mixed, "a.csv", sampleTable(10, 0))
	writeTable(t, mixed, "b.parquet", sampleTable(10, 0))
	other := filepath.Join(dir, "other")
	os.Mkdir(other, 0o755)
	writeTable(t, other, "a.csv", sampleTable(10, 0))
	os.WriteFile(filepath.Join(other, "b.csv"), []byte("id,amount\nx,1\n"), 0o644)
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	notes := writeFile(t, "notes.txt", "hello")
	for path, want := range map[string]string{
		mixed:                         "holds both csv and parquet files",
		other:                         "b.csv has 2 columns, 3 in the first file",
		empty:                         "no .csv, .csv.gz, .parquet or .arrow files",
		notes:                         "unknown format",
		filepath.Join(dir, "nothing"): "no such file",
	} {
		if _, err := PlanFiles(path, CSVHints{}, 0); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", path, err, want)
		}
	}
}

// Reading some columns gives those columns of the full read, in the order
// asked, and still rejects a row for a bad value in a column left out.
func TestReadOnlySomeColumns(t *testing.T) {
	dir := t.TempDir()
	want := sampleTable(3000, 0)
	for _, name := range []string{"a.csv", "a.parquet"} {
		path := writeTable(t, dir, name, want)
		fs, err := PlanFiles(path, CSVHints{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, _, _, err := fs.Read(context.Background(), fs.Pieces[0], []string{"at", "id"})
		if err != nil {
			t.Fatal(err)
		}
		full, _, _, _ := fs.Read(context.Background(), fs.Pieces[0], nil)
		sub, _ := full.Project([]string{"at", "id"})
		sameRows(t, got, sub)
		if _, _, _, err := fs.Read(context.Background(), fs.Pieces[0], []string{"nope"}); err == nil || !strings.Contains(err.Error(), `no column "nope"`) {
			t.Errorf("%s: unknown column: %v", name, err)
		}
	}
	bad := writeFile(t, "b.csv", "id,amount,at\nx,1,2011-01-01 00:00:00\ny,oops,2011-01-01 00:00:00\n")
	fs, err := PlanFiles(bad, CSVHints{Types: map[string]string{"amount": "number"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, _, rejects, err := fs.Read(context.Background(), fs.Pieces[0], []string{"id"})
	if err != nil || got.Rows != 1 || len(got.Columns) != 1 || len(rejects) != 1 || rejects[0].Line != 3 {
		t.Fatalf("%d rows of %d columns, rejects %+v, %v", got.Rows, len(got.Columns), rejects, err)
	}
}
