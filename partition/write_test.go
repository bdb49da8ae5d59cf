package partition

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/file"
)

// awkwardIDs need quoting in CSV, or look like something else.
var awkwardIDs = []string{"a,b", `say "hi"`, "two\nlines", "cr\rhere", " lead", "\ttab", "trail ", `\.`, "007", "1e5", "ünï", "\u00a0nbsp", "plain"}

// sampleAssignments are rows of awkward and plain ids (every seventh row
// without one), segments of k=16 and float32 distances from zero to huge,
// one of them NaN.
func sampleAssignments(n int) *Assignments {
	rng := rand.New(rand.NewPCG(3, 4))
	a := &Assignments{IDs: append([]string(nil), awkwardIDs...)}
	for r := range n {
		code := int32(len(a.IDs))
		a.IDs = append(a.IDs, "C"+strconv.Itoa(1_000_000_000+r))
		switch {
		case r%7 == 3:
			code = -1
		case r < len(awkwardIDs):
			code = int32(r)
		}
		a.Codes = append(a.Codes, code)
		a.Segment = append(a.Segment, rng.Int32N(16))
		d := rng.Float32() * 40
		switch r % 50 {
		case 1:
			d = 0
		case 2:
			d = math.SmallestNonzeroFloat32
		case 5:
			d = math.MaxFloat32
		case 6:
			d = 1e-7
		case 8:
			d = 12345678
		}
		a.Score = append(a.Score, d)
	}
	if n > 0 {
		a.Score[n/2] = float32(math.NaN())
	}
	return a
}

// readAssignments reads a part file back with the readers a job's inputs
// go through.
func readAssignments(t *testing.T, path string) *Table {
	t.Helper()
	if filepath.Ext(path) == ".parquet" {
		pf, err := InspectParquet(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(pf.GroupRows) != 1 {
			t.Fatalf("%s: %d row groups, want one per part", path, len(pf.GroupRows))
		}
		tab, err := ReadParquetColumns(context.Background(), path, 0, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tab
	}
	format, schema, err := SniffCSV(path, CSVHints{Types: map[string]string{"id": "text"}})
	if err != nil {
		t.Fatal(err)
	}
	tab, _, rejects, err := ReadCSVRange(path, format, schema, 0, -1)
	if err != nil || len(rejects) > 0 {
		t.Fatalf("%s: %v, rejects %+v", path, err, rejects)
	}
	return tab
}

// Assignments read back, by our readers, as written: ids however awkward
// (a missing one missing), segments exactly, distances as the same
// float32 (CSV text is the shortest that parses back to it). A partition
// with no rows left has a file of none.
func TestAssignmentsReadBack(t *testing.T) {
	for _, n := range []int{3000, 0} {
		testAssignmentsReadBack(t, n)
	}
}

func testAssignmentsReadBack(t *testing.T, n int) {
	a := sampleAssignments(n)
	for _, name := range []string{"part.csv", "part.parquet"} {
		path := filepath.Join(t.TempDir(), name)
		if err := WriteAssignments(path, a); err != nil {
			t.Fatal(err)
		}
		tab := readAssignments(t, path)
		if tab.Rows != n || len(tab.Columns) != 3 {
			t.Fatalf("%s: %d rows × %d columns", name, tab.Rows, len(tab.Columns))
		}
		for i, want := range []Field{{Name: "id", Type: Text}, {Name: "segment", Type: Number}, {Name: "distance", Type: Number}} {
			// A header alone says nothing of types: the sniffer calls them text.
			if got := tab.Columns[i].Field; got.Name != want.Name || got.Type != want.Type && (n > 0 || name != "part.csv") {
				t.Fatalf("%s: column %d is %+v, want %+v", name, i, got, want)
			}
		}
		for r := range n {
			id, ok := tab.Columns[0].Text(r)
			wantID, wantOK := "", a.Codes[r] >= 0
			if wantOK {
				wantID = a.IDs[a.Codes[r]]
				if name == "part.csv" {
					wantID = strings.TrimSpace(wantID) // as ReadCSVRange reads every cell
				}
			}
			if id != wantID || ok != wantOK {
				t.Fatalf("%s row %d: id %q (%v), want %q (%v)", name, r, id, ok, wantID, wantOK)
			}
			if seg := tab.Columns[1].Num[r]; seg != float64(a.Segment[r]) {
				t.Fatalf("%s row %d: segment %v, want %d", name, r, seg, a.Segment[r])
			}
			d, want := tab.Columns[2].Num[r], a.Score[r]
			if float32(d) != want && !(math.IsNaN(d) && want != want) {
				t.Fatalf("%s row %d: distance %v, want %v", name, r, d, want)
			}
		}
	}
}

// A part file's Parquet columns are what a reader of its types expects:
// a string id, required only when every row has one, an int32 segment and
// a float32 distance.
func TestAssignmentsParquetTypes(t *testing.T) {
	for _, missing := range []bool{false, true} {
		a := sampleAssignments(100)
		if !missing {
			for r := range a.Codes {
				a.Codes[r] = int32(len(awkwardIDs) + r)
			}
		}
		path := filepath.Join(t.TempDir(), "part.parquet")
		if err := WriteAssignments(path, a); err != nil {
			t.Fatal(err)
		}
		pf, err := file.OpenParquetFile(path, false)
		if err != nil {
			t.Fatal(err)
		}
		s := pf.MetaData().Schema
		idRep := parquet.Repetitions.Required
		if missing {
			idRep = parquet.Repetitions.Optional
		}
		for i, want := range []parquet.Type{parquet.Types.ByteArray, parquet.Types.Int32, parquet.Types.Float} {
			if got := s.Column(i).PhysicalType(); got != want {
				t.Errorf("column %s is %s, want %s", s.Column(i).Name(), got, want)
			}
		}
		if got := s.Column(0).SchemaNode().RepetitionType(); got != idRep {
			t.Errorf("ids with missing=%v are %s, want %s", missing, got, idRep)
		}
		pf.Close()
	}
}

func TestWriteAssignmentsRejects(t *testing.T) {
	dir := t.TempDir()
	a := sampleAssignments(10)
	if err := WriteAssignments(filepath.Join(dir, "part.txt"), a); err == nil {
		t.Error("a .txt part file was written")
	}
	a.Segment = a.Segment[:9]
	if err := WriteAssignments(filepath.Join(dir, "part.csv"), a); err == nil {
		t.Error("9 segments for 10 ids were written")
	}
}

// The table writer's CSV is byte for byte what encoding/csv writes, which
// it replaced, quoting included: files written before read the same.
func TestCSVWriterMatchesEncodingCSV(t *testing.T) {
	tab := NewTable([]Field{{Name: "name, quoted", Type: Text}, {Name: "v", Type: Number}, {Name: "at", Type: Time}})
	for i, s := range append(awkwardIDs, "") {
		tab.AppendText(0, s, i == 3)
		tab.Columns[1].Num = append(tab.Columns[1].Num, []float64{math.NaN(), 0, -1.5, 1e21, 3, 1.0 / 3, 5e-324}[i%7])
		tab.Columns[2].Times = append(tab.Columns[2].Times, []int64{MissingTime, 0, 1_300_000_123_456}[i%3])
		tab.Rows++
	}
	path := filepath.Join(t.TempDir(), "t.csv")
	w, err := CreateTable(path, tab.Schema())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a second Write appends rows, with no second header
		if err := w.Write(tab); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)

	var want bytes.Buffer
	cw := csv.NewWriter(&want)
	cw.Write(FieldNames(tab.Schema()))
	for range 2 {
		for r := range tab.Rows {
			s, _ := tab.Columns[0].Text(r)
			v := ""
			if x := tab.Columns[1].Num[r]; !math.IsNaN(x) {
				v = strconv.FormatFloat(x, 'f', -1, 64)
			}
			at := ""
			if ms := tab.Columns[2].Times[r]; ms != MissingTime {
				at = time.UnixMilli(ms).UTC().Format(TimeLayout)
			}
			cw.Write([]string{s, v, at})
		}
	}
	cw.Flush()
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("wrote\n%q\nencoding/csv writes\n%q", got, want.Bytes())
	}
}

// Part files open in pandas (through pyarrow for Parquet) with the values
// written; each format is skipped where /usr/bin/python3 lacks the modules
// it needs.
func TestAssignmentsReadByPandas(t *testing.T) {
	const python = "/usr/bin/python3"
	a := sampleAssignments(500)
	dir := t.TempDir()
	read := 0
	for name, modules := range map[string]string{"part-00000.csv": "pandas", "part-00000.parquet": "pandas, pyarrow"} {
		if err := exec.Command(python, "-c", "import "+modules).Run(); err != nil {
			t.Logf("%s not read: %s cannot import %s (%v)", name, python, modules, err)
			continue
		}
		path := filepath.Join(dir, name)
		if err := WriteAssignments(path, a); err != nil {
			t.Fatal(err)
		}
		// Distances as float32 bit patterns, so the comparison is exact.
		script := `
import json, sys
import numpy as np, pandas as pd
p = sys.argv[1]
df = pd.read_parquet(p) if p.endswith(".parquet") else pd.read_csv(p, dtype={"id": str}, keep_default_na=False, na_values=[""])
d = df["distance"].to_numpy().astype(np.float32)
print(json.dumps({
    "columns": list(df.columns),
    "dtypes": [str(t) for t in df.dtypes],
    "ids": [None if pd.isna(v) else v for v in df["id"]],
    "segments": [int(v) for v in df["segment"]],
    "bits": [int(v) for v in d.view(np.uint32)],
}))
`
		out, err := exec.Command(python, "-c", script, path).Output()
		if err != nil {
			t.Fatalf("%s: pandas: %v", name, err)
		}
		var got struct {
			Columns, Dtypes []string
			IDs             []*string
			Segments        []int32
			Bits            []uint32
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: %v in %s", name, err, out)
		}
		if len(got.IDs) != len(a.Codes) || len(got.Segments) != len(a.Codes) || len(got.Bits) != len(a.Codes) {
			t.Fatalf("%s: pandas read %d rows, want %d", name, len(got.IDs), len(a.Codes))
		}
		read++
		t.Logf("%s: pandas columns %v, dtypes %v", name, got.Columns, got.Dtypes)
		if filepath.Ext(name) == ".parquet" && (got.Dtypes[1] != "int32" || got.Dtypes[2] != "float32") {
			t.Errorf("%s: dtypes %v, want int32 segment and float32 distance", name, got.Dtypes)
		}
		for r, code := range a.Codes {
			if (code < 0) != (got.IDs[r] == nil) || code >= 0 && *got.IDs[r] != a.IDs[code] {
				t.Fatalf("%s row %d: id %v, code %d", name, r, got.IDs[r], code)
			}
			d := a.Score[r]
			if got.Segments[r] != a.Segment[r] || got.Bits[r] != math.Float32bits(d) && !(d != d && math.IsNaN(float64(math.Float32frombits(got.Bits[r])))) {
				t.Fatalf("%s row %d: segment %d distance bits %x, want %d %x", name, r, got.Segments[r], got.Bits[r], a.Segment[r], math.Float32bits(d))
			}
		}
	}
	if read == 0 {
		t.Skip("no format could be read by pandas here")
	}
}

// A model's flags are columns of their own: true/false in CSV, booleans
// in Parquet, read back as the rows had them; a flag of the wrong length
// is refused.
func TestAssignmentsFlags(t *testing.T) {
	a := sampleAssignments(500)
	a.ScoreName, a.FlagNames = "score", []string{"core", "edge"}
	a.Flags = [][]bool{make([]bool, 500), make([]bool, 500)}
	for r := range 500 {
		a.Flags[0][r], a.Flags[1][r] = r%3 == 0, r%7 == 0
	}
	for _, name := range []string{"part.csv", "part.parquet"} {
		path := filepath.Join(t.TempDir(), name)
		if err := WriteAssignments(path, a); err != nil {
			t.Fatal(err)
		}
		tab := readAssignments(t, path)
		if got := FieldNames(tab.Schema()); strings.Join(got, ",") != "id,segment,score,core,edge" {
			t.Fatalf("%s: columns %v", name, got)
		}
		for r := range 500 {
			for f, col := range []int{3, 4} {
				k, _ := tab.Columns[col].Key(r)
				if want := a.Flags[f][r]; k != fmt.Sprint(want) && k != fmt.Sprint(b2f(want)) {
					t.Fatalf("%s row %d flag %s: %q, want %v", name, r, a.FlagNames[f], k, want)
				}
			}
		}
	}
	a.Flags[1] = a.Flags[1][:10]
	if err := WriteAssignments(filepath.Join(t.TempDir(), "part.csv"), a); err == nil {
		t.Error("a flag of 10 rows for 500 was written")
	}
}

func b2f(v bool) float64 {
	if v {
		return 1
	}
	return 0
}
