package partition

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The line-by-line path reads what encoding/csv reads from the same
// bytes: rows, values, rejects with their lines, offsets and text, and
// the lines a range spans, over files with quoted fields (multi-line
// too) appearing part way, CRLF, blank lines, ragged rows, bad numbers,
// a BOM, a missing final line break, lines longer than the read buffer,
// and any cut into ranges.
func TestFastLinesReadAsEncodingCSV(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	for trial := range 40 {
		var b strings.Builder
		if trial%5 == 0 {
			b.WriteString("\xEF\xBB\xBF")
		}
		eol := "\n"
		if trial%3 == 0 {
			eol = "\r\n"
		}
		b.WriteString("id;v;name" + eol)
		quoteFrom := rng.IntN(400)
		for i := range 400 {
			name := fmt.Sprintf("n%d", rng.IntN(30))
			switch {
			case i >= quoteFrom && rng.IntN(4) == 0:
				name = `"with ""quotes""; and` + "\nnewline\""
			case trial == 7 && i == 200:
				name = strings.Repeat("x", 2<<20) // past the 1 MiB buffer
			}
			switch rng.IntN(40) {
			case 0:
				b.WriteString(eol) // blank
				continue
			case 1:
				b.WriteString(fmt.Sprintf("c%d;1", i) + eol) // ragged
				continue
			case 2:
				b.WriteString(fmt.Sprintf("c%d;x1;%s", i, name) + eol) // not a number
				continue
			}
			b.WriteString(fmt.Sprintf("c%d;%g;%s", i, math.Round(rng.NormFloat64()*1e4)/100, name) + eol)
		}
		if trial%2 == 0 {
			b.WriteString("last;1;end") // no final line break
		}
		content := b.String()
		path := writeFile(t, "f.csv", content)
		format, schema, err := SniffCSV(path, CSVHints{Delimiter: ";", Types: map[string]string{"v": "number", "name": "text", "id": "text"}})
		if err != nil {
			t.Fatal(err)
		}
		cuts := []int64{0, int64(rng.IntN(len(content))), int64(len(content))}
		if cuts[1] > cuts[2] {
			cuts[1] = cuts[2]
		}
		for i := 0; i+1 < len(cuts); i++ {
			read := func(fast bool) (*Table, CSVRange, []Reject) {
				fastLines = fast
				defer func() { fastLines = true }()
				tab, r, rej, err := ReadCSVRange(path, format, schema, cuts[i], cuts[i+1])
				if err != nil {
					t.Fatal(err)
				}
				return tab, r, rej
			}
			ft, fr, frej := read(true)
			st, sr, srej := read(false)
			if fr != sr {
				t.Fatalf("trial %d range %d: %+v, encoding/csv %+v", trial, i, fr, sr)
			}
			// encoding/csv's offset of a row after blank lines is where
			// they begin; the line-by-line path's is the row's own.
			for k := range min(len(frej), len(srej)) {
				if frej[k].Offset != srej[k].Offset {
					if p := frej[k].Text[:min(12, len(frej[k].Text))]; !strings.HasPrefix(content[frej[k].Offset:], p) || frej[k].Offset < srej[k].Offset {
						t.Fatalf("trial %d: reject at offset %d (encoding/csv %d) is not the row %q", trial, frej[k].Offset, srej[k].Offset, p)
					}
					srej[k].Offset = frej[k].Offset
				}
			}
			if !reflect.DeepEqual(frej, srej) {
				t.Fatalf("trial %d range %d: rejects\n%+v\nencoding/csv\n%+v", trial, i, frej, srej)
			}
			for c := range ft.Columns {
				for r := range ft.Rows {
					fv, fok := ft.Columns[c].Key(r)
					sv, sok := st.Columns[c].Key(r)
					if fv != sv || fok != sok {
						t.Fatalf("trial %d range %d: column %d row %d %q, encoding/csv %q", trial, i, c, r, cut(fv), cut(sv))
					}
				}
			}
			if ft.Rows != st.Rows {
				t.Fatalf("trial %d: %d rows, encoding/csv %d", trial, ft.Rows, st.Rows)
			}
		}
	}
}

// BenchmarkReadCSV reads 200k rows of an id and 16 numbers, as the
// benchmark's blobs files hold, line by line and by encoding/csv.
func BenchmarkReadCSV(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	var sb strings.Builder
	sb.WriteString("id")
	for j := range 16 {
		fmt.Fprintf(&sb, ",x%d", j)
	}
	sb.WriteString("\n")
	for i := range 200_000 {
		fmt.Fprintf(&sb, "B%09d", i)
		for range 16 {
			fmt.Fprintf(&sb, ",%.7g", rng.NormFloat64()*5)
		}
		sb.WriteString("\n")
	}
	path := writeFile(b, "blobs.csv", sb.String())
	format, schema, err := SniffCSV(path, CSVHints{})
	if err != nil {
		b.Fatal(err)
	}
	for _, fast := range []bool{true, false} {
		b.Run(fmt.Sprintf("lines=%v", fast), func(b *testing.B) {
			fastLines = fast
			defer func() { fastLines = true }()
			b.SetBytes(int64(sb.Len()))
			for range b.N {
				if _, _, _, err := ReadCSVRange(path, format, schema, 0, -1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// parseDecimal gives strconv.ParseFloat's bits wherever it answers, and
// leaves the rest to it.
func TestParseDecimalIsParseFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 13))
	cases := []string{"0", "-0", "+0", "00", "0.0", "5.", ".5", "-.5", "1.50", "007", "0.001", "123456789012345", "1234567890123456",
		"0.000000000000001", "9007199254740993", "1e5", "1E-3", "", "-", "+", ".", "..5", "1.2.3", "inf", "NaN", "0x1p3", "1_000", " 1", "1 "}
	for range 200_000 {
		var b strings.Builder
		switch rng.IntN(3) {
		case 0:
			b.WriteByte('-')
		case 1:
			if rng.IntN(10) == 0 {
				b.WriteByte('+')
			}
		}
		for range rng.IntN(12) {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		if rng.IntN(2) == 0 {
			b.WriteByte('.')
			for range rng.IntN(10) {
				b.WriteByte(byte('0' + rng.IntN(10)))
			}
		}
		cases = append(cases, b.String(), fmt.Sprintf("%.*f", rng.IntN(8), rng.NormFloat64()*math.Pow(10, float64(rng.IntN(9)))))
	}
	for _, s := range cases {
		got, ok := parseDecimal(s)
		want, err := strconv.ParseFloat(s, 64)
		if ok && (err != nil || math.Float64bits(got) != math.Float64bits(want)) {
			t.Fatalf("parseDecimal(%q) = %v; strconv %v, %v", s, got, want, err)
		}
	}
}
