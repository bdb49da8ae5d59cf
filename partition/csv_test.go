package partition

import (
	"bytes"
	"compress/gzip"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// messy is written like customer_personality: a byte-order mark, `;`
// separators, CRLF line ends, blank cells, a quoted field holding the
// separator, and then three rows that cannot be read.
const messy = "\xEF\xBB\xBFID;Income;Joined;Status\r\n" +
	"1;58138;04-09-2012;Single\r\n" +
	"2;;08-03-2014;\"Married; two kids\"\r\n" +
	"3;71613;21-08-2013;\r\n" +
	"4;abc;10-02-2014;Together\r\n" + // not a number
	"5;4000;31-31-2014;Single\r\n" + // not a date
	"6;1200;01-01-2013\r\n" + // ragged
	"7;26646;10-02-2014;YOLO\r\n"

func TestSniffAndReadMessyCSV(t *testing.T) {
	path := writeFile(t, "m.csv", messy)
	format, schema, err := SniffCSV(path, CSVHints{})
	if err != nil {
		t.Fatal(err)
	}
	if format.Delimiter != ';' || !format.Header {
		t.Fatalf("format %+v", format)
	}
	want := []Field{{Name: "ID", Type: Number}, {Name: "Income", Type: Text}, {Name: "Joined", Type: Text}, {Name: "Status", Type: Text}}
	// "abc" makes Income text and "31-31-2014" makes Joined text when
	// inferred from every row, so the spec must say what they are.
	for i := range want {
		if schema[i] != want[i] {
			t.Fatalf("inferred column %d: %+v, want %+v", i, schema[i], want[i])
		}
	}
	format, schema, err = SniffCSV(path, CSVHints{Types: map[string]string{"Income": "number", "Joined": "02-01-2006"}})
	if err != nil {
		t.Fatal(err)
	}
	tab, rng, rejects, err := ReadCSVRange(path, format, schema, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Rows != 4 || rng.Rows != 4 || rng.Rejected != 3 || rng.Lines != 8 {
		t.Fatalf("%d rows, range %+v", tab.Rows, rng)
	}
	wantRejects := []struct {
		line   int64
		reason string
	}{
		{5, `column Income: "abc" is not a number`},
		{6, `column Joined: "31-31-2014" is not a time like 02-01-2006`},
		{7, "3 fields, want 4"},
	}
	for i, w := range wantRejects {
		if r := rejects[i]; r.Line != w.line || r.Reason != w.reason || r.File != path {
			t.Errorf("reject %d: %+v, want line %d: %s", i, r, w.line, w.reason)
		}
	}
	if off := rejects[2].Offset; !strings.HasPrefix(messy[off:], "6;1200") {
		t.Errorf("ragged row's offset %d points at %q", off, messy[off:off+10])
	}
	income, status, joined := tab.Column("Income"), tab.Column("Status"), tab.Column("Joined")
	if income.Num[0] != 58138 || !math.IsNaN(income.Num[1]) || income.Num[3] != 26646 {
		t.Errorf("income %v", income.Num)
	}
	if s, ok := status.Text(1); !ok || s != "Married; two kids" {
		t.Errorf("quoted status %q", s)
	}
	if _, ok := status.Text(2); ok {
		t.Error("blank status read as present")
	}
	if joined.Times[0] != 1346716800000 { // 2012-09-04 UTC
		t.Errorf("joined %v", joined.Times)
	}
}

func TestSniffFindsTypesAndNulls(t *testing.T) {
	path := writeFile(t, "t.csv", "a,b,c,d\n1.5,x,2011-12-09 12:50:00,NA\n-2e3,y,2010-12-01 08:26:00,4\n,,,NA\n")
	format, schema, err := SniffCSV(path, CSVHints{Null: []string{"NA"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{{Name: "a", Type: Number}, {Name: "b", Type: Text}, {Name: "c", Type: Time, Layout: "2006-01-02 15:04:05"}, {Name: "d", Type: Number}}
	for i := range want {
		if schema[i] != want[i] {
			t.Fatalf("column %d: %+v, want %+v", i, schema[i], want[i])
		}
	}
	tab, _, rejects, err := ReadCSVRange(path, format, schema, 0, -1)
	if err != nil || len(rejects) != 0 || tab.Rows != 3 {
		t.Fatalf("%v, %d rejects, %d rows", err, len(rejects), tab.Rows)
	}
	if c := tab.Column("c"); c.Times[2] != MissingTime {
		t.Errorf("blank time %v", c.Times[2])
	}
	if d := tab.Column("d"); !math.IsNaN(d.Num[0]) || d.Num[1] != 4 {
		t.Errorf("d %v", d.Num)
	}
}

func TestSniffRefusesBadHintsAndHeaders(t *testing.T) {
	path := writeFile(t, "h.csv", "a,b\n1,2\n")
	for name, h := range map[string]CSVHints{
		"unknown column": {Types: map[string]string{"Price": "number"}},
		"bad type":       {Types: map[string]string{"a": "float"}},
		"time no layout": {Types: map[string]string{"a": "time"}},
		"bad delimiter":  {Delimiter: ";;"},
	} {
		if _, _, err := SniffCSV(path, h); err == nil {
			t.Errorf("%s: accepted", name)
		} else if name == "unknown column" && !strings.Contains(err.Error(), `"Price"`) {
			t.Errorf("unknown column: error %q does not name it", err)
		}
	}
	for name, content := range map[string]string{"empty": "\n \n", "duplicate": "a,a\n1,2\n", "unnamed": "a,,c\n1,2,3\n"} {
		if _, _, err := SniffCSV(writeFile(t, name+".csv", content), CSVHints{}); err == nil {
			t.Errorf("%s header: accepted", name)
		}
	}
}

// A bare quote is malformed CSV: that row is rejected and reading goes on.
func TestMalformedQuotingIsRejectedNotFatal(t *testing.T) {
	path := writeFile(t, "q.csv", "a,b\n1,2\n3,x\"y\n5,6\n")
	format, schema, err := SniffCSV(path, CSVHints{Types: map[string]string{"b": "number"}})
	if err != nil {
		t.Fatal(err)
	}
	tab, _, rejects, err := ReadCSVRange(path, format, schema, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Rows != 2 || len(rejects) != 1 || rejects[0].Line != 3 || !strings.Contains(rejects[0].Reason, "malformed") {
		t.Fatalf("%d rows, rejects %+v", tab.Rows, rejects)
	}
}

// Any cut of a file into byte ranges reads every row exactly once, and
// line numbers made absolute are those of a whole read; a
// gzip copy reads the same.
func TestRangesTileTheFile(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,v,name\n")
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		switch r.IntN(50) {
		case 0:
			b.WriteString("x,1,bad\n")
		case 1:
			b.WriteString("\n") // blank line: not a row
		default:
			b.WriteString(strings.Join([]string{itoa(i), itoa(r.IntN(1000)), "n" + itoa(r.IntN(7))}, ","))
			b.WriteString("\n")
		}
	}
	b.WriteString("9999,1,last") // no final line break
	content := b.String()
	path := writeFile(t, "r.csv", content)
	format, schema, err := SniffCSV(path, CSVHints{Types: map[string]string{"id": "number"}})
	if err != nil {
		t.Fatal(err)
	}
	whole, wrng, wrej, err := ReadCSVRange(path, format, schema, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if wrng.Lines != int64(strings.Count(content, "\n")+1) {
		t.Fatalf("whole read counted %d lines, file has %d", wrng.Lines, strings.Count(content, "\n")+1)
	}
	for trial := range 20 {
		cuts := []int64{0}
		for p := int64(0); ; {
			p += 1 + r.Int64N(int64(len(content)/(1+trial%7)))
			if p >= int64(len(content)) {
				break
			}
			cuts = append(cuts, p)
		}
		cuts = append(cuts, int64(len(content)))
		var ids []float64
		var rejects []Reject
		var lines int64
		for i := 0; i+1 < len(cuts); i++ {
			tab, rng, rej, err := ReadCSVRange(path, format, schema, cuts[i], cuts[i+1])
			if err != nil {
				t.Fatal(err)
			}
			for i := range rej {
				rej[i].Line += lines // absolute, as the Tally makes them
			}
			lines += rng.Lines
			rejects = append(rejects, rej...)
			ids = append(ids, tab.Column("id").Num...)
		}
		if len(ids) != whole.Rows || len(rejects) != len(wrej) || lines != wrng.Lines {
			t.Fatalf("cuts %v: %d rows, %d rejects, %d lines; whole %d, %d, %d", cuts, len(ids), len(rejects), lines, whole.Rows, len(wrej), wrng.Lines)
		}
		for i, v := range whole.Column("id").Num {
			if ids[i] != v {
				t.Fatalf("cuts %v: row %d id %v, want %v", cuts, i, ids[i], v)
			}
		}
		for i := range wrej {
			if rejects[i] != wrej[i] {
				t.Fatalf("cuts %v: reject %+v, want %+v", cuts, rejects[i], wrej[i])
			}
		}
	}

	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(content))
	zw.Close()
	gz := writeFile(t, "r.csv.gz", z.String())
	zformat, zschema, err := SniffCSV(gz, CSVHints{Types: map[string]string{"id": "number"}})
	if err != nil || !zformat.Gzip {
		t.Fatalf("%v %+v", err, zformat)
	}
	ztab, zrng, zrej, err := ReadCSVRange(gz, zformat, zschema, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if ztab.Rows != whole.Rows || zrng.Lines != wrng.Lines || len(zrej) != len(wrej) || zrej[0].Line != wrej[0].Line {
		t.Fatalf("gzip: %d rows, %+v, %d rejects", ztab.Rows, zrng, len(zrej))
	}
	if _, _, _, err := ReadCSVRange(gz, zformat, zschema, 10, 100); err == nil {
		t.Error("gzip range accepted")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// The direct reading of ISO times agrees with time.Parse on every value it
// takes, and leaves to it everything else (errors included).
func TestParseISOAgreesWithTimeParse(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	digits := "0123456789"
	for range 200000 {
		b := []byte("2011-12-09 12:50:00")
		for i := range b {
			if b[i] >= '0' && b[i] <= '9' && r.IntN(3) == 0 {
				b[i] = digits[r.IntN(10)]
			}
		}
		if r.IntN(50) == 0 {
			b[r.IntN(len(b))] = "x-: "[r.IntN(4)]
		}
		for _, layout := range []string{TimeLayout, "2006-01-02"} {
			v := string(b)
			if layout == "2006-01-02" {
				v = v[:10]
			}
			ms, ok := parseTime(layout, v)
			tm, err := time.Parse(layout, v)
			if ok != (err == nil) || ok && ms != tm.UnixMilli() {
				t.Fatalf("%q in %s: %d, %v; time.Parse %v, %v", v, layout, ms, ok, tm, err)
			}
		}
	}
}

// A type a job expects of a column (a transaction log's time) wins over
// a few bad sampled values, which then become rows that cannot be read;
// it is ignored for a column the file lacks or whose values mostly do not
// fit, and a type the spec gives wins over it.
func TestSniffAppliesExpectedTypesWhereTheyFit(t *testing.T) {
	path := writeFile(t, "t.csv", "when,qty,name,other\n"+
		"2011-12-09 12:50:00,1,a,2011-12-09\n"+
		"the first of may,2,b,x\n"+
		"2010-12-01 08:26:00,many,c,y\n"+
		"2010-12-02 08:26:00,4,d,z\n")
	hints := CSVHints{Types: map[string]string{"other": "text"},
		Expect: map[string]string{"when": "time", "qty": "number", "name": "number", "missing": "time", "other": "time"}}
	format, schema, err := SniffCSV(path, hints)
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{{Name: "when", Type: Time, Layout: "2006-01-02 15:04:05"}, {Name: "qty", Type: Number}, {Name: "name", Type: Text}, {Name: "other", Type: Text}}
	for i := range want {
		if schema[i] != want[i] {
			t.Fatalf("column %d: %+v, want %+v", i, schema[i], want[i])
		}
	}
	tab, _, rejects, err := ReadCSVRange(path, format, schema, 0, -1)
	if err != nil || tab.Rows != 2 || len(rejects) != 2 || rejects[0].Line != 3 || rejects[1].Line != 4 {
		t.Fatalf("%v, %d rows, rejects %+v", err, tab.Rows, rejects)
	}
}
