package partition

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// CSVFormat is how a CSV file is written: what SniffCSV finds, or what a
// spec says.
type CSVFormat struct {
	Delimiter rune     `json:"delimiter"`
	Header    bool     `json:"header"`
	Null      []string `json:"null,omitempty"` // tokens read as missing, besides the empty string
	Gzip      bool     `json:"gzip,omitempty"`
}

// CSVHints are what a spec may say about a CSV source; zero values mean
// "find out from the file".
type CSVHints struct {
	Delimiter string            // one character; "" sniffs , ; tab |
	NoHeader  bool              // the first line is data; columns are named c1, c2, ...
	Null      []string          // extra missing-value tokens
	Types     map[string]string // column name → number | text | time, or a Go time layout for time
	// Expect are types a job's roles want of columns (a transaction log's
	// time is a time): applied where the column exists, Types says
	// nothing, and most sampled values allow; otherwise the column keeps
	// its inferred type and the job's own check names the problem.
	Expect map[string]string
}

// sniffBytes is how much of a file SniffCSV reads to find the format and the
// column types: enough rows to see every type in practice, little enough to
// be instant.
const sniffBytes = 4 << 20

// timeLayouts are the layouts inferred for Time columns, in order of
// preference. Day-first comes before month-first for '-' dates and after it
// for '/' dates, following the usual conventions; a spec can always name a
// layout instead.
var timeLayouts = []string{
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
	"02-01-2006",
	"01-02-2006",
	"1/2/2006 15:04",
	"1/2/2006 15:04:05",
	"1/2/2006",
	"2/1/2006",
}

// SniffCSV reads the start of a CSV file (gzip-compressed if its name ends
// in .gz) and returns its format and schema: delimiter, header, and each
// column's type (number if every sampled value parses as a finite number,
// time if every value parses with one of timeLayouts, text otherwise), with
// the hints applied. A hint naming a column the file does not have is an
// error.
func SniffCSV(path string, h CSVHints) (CSVFormat, []Field, error) {
	f, err := os.Open(path)
	if err != nil {
		return CSVFormat{}, nil, err
	}
	defer f.Close()
	format := CSVFormat{Header: !h.NoHeader, Null: h.Null, Gzip: strings.HasSuffix(path, ".gz")}
	var in io.Reader = f
	if format.Gzip {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return CSVFormat{}, nil, fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		in = zr
	}
	head, err := io.ReadAll(io.LimitReader(in, sniffBytes))
	if err != nil {
		return CSVFormat{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	head = bytes.TrimPrefix(head, bom)
	if len(bytes.TrimSpace(head)) == 0 {
		return CSVFormat{}, nil, fmt.Errorf("%s: the file is empty", path)
	}
	// Only whole lines: the last one may have been cut by the limit.
	if len(head) == sniffBytes {
		if i := bytes.LastIndexByte(head, '\n'); i > 0 {
			head = head[:i+1]
		}
	}
	if format.Delimiter, err = delimiter(h.Delimiter, head); err != nil {
		return CSVFormat{}, nil, fmt.Errorf("%s: %w", path, err)
	}

	r := newCSVReader(bytes.NewReader(head), format.Delimiter)
	var names []string
	var samples [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, csv.ErrFieldCount) {
			continue // a malformed line: the read will reject it
		}
		if names == nil {
			names = make([]string, len(rec))
			for i, v := range rec {
				names[i] = strings.TrimSpace(v)
				if !format.Header {
					names[i] = "c" + strconv.Itoa(i+1)
				}
			}
			if format.Header {
				if err := checkNames(names); err != nil {
					return CSVFormat{}, nil, fmt.Errorf("%s: %w", path, err)
				}
				continue
			}
		}
		if len(rec) == len(names) {
			samples = append(samples, append([]string(nil), rec...))
		}
	}
	schema := make([]Field, len(names))
	for i, name := range names {
		schema[i] = inferField(name, samples, i, format.Null)
	}
	for name, t := range h.Types {
		i := fieldIndex(schema, name)
		if i < 0 {
			return CSVFormat{}, nil, fmt.Errorf("%s: a type is given for column %q, which the file does not have (it has %s)", path, name, strings.Join(names, ", "))
		}
		if schema[i], err = overrideField(schema[i], t, samples, i, format.Null); err != nil {
			return CSVFormat{}, nil, fmt.Errorf("%s: column %q: %w", path, name, err)
		}
	}
	for name, t := range h.Expect {
		i := fieldIndex(schema, name)
		if _, given := h.Types[name]; given || i < 0 {
			continue
		}
		if t == "number" && !mostlyNumbers(sampleValues(samples, i, format.Null)) {
			continue
		}
		if f, err := overrideField(schema[i], t, samples, i, format.Null); err == nil {
			schema[i] = f
		}
	}
	return format, schema, nil
}

var bom = []byte{0xEF, 0xBB, 0xBF}

func newCSVReader(r io.Reader, delim rune) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = delim
	cr.FieldsPerRecord = -1 // ragged rows are rejected by the reader, not fatal
	cr.ReuseRecord = true
	return cr
}

// delimiter is the hint, or the most frequent of , ; tab | outside quotes
// in the first line.
func delimiter(hint string, head []byte) (rune, error) {
	if hint != "" {
		if hint == `\t` || hint == "tab" {
			return '\t', nil
		}
		r, size := utf8.DecodeRuneInString(hint)
		if size != len(hint) || r == '"' || r == '\n' || r == '\r' {
			return 0, fmt.Errorf("delimiter %q must be one character other than a quote or a line break", hint)
		}
		return r, nil
	}
	line := head
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		line = head[:i]
	}
	counts := map[rune]int{}
	quoted := false
	for _, c := range string(line) {
		switch {
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ',' || c == ';' || c == '\t' || c == '|'):
			counts[c]++
		}
	}
	best, n := ',', 0
	for _, c := range []rune{',', ';', '\t', '|'} {
		if counts[c] > n {
			best, n = c, counts[c]
		}
	}
	return best, nil
}

func checkNames(names []string) error {
	seen := map[string]int{}
	for i, n := range names {
		if n == "" {
			return fmt.Errorf("header column %d has no name", i+1)
		}
		if j, ok := seen[n]; ok {
			return fmt.Errorf("header names column %q twice (columns %d and %d)", n, j+1, i+1)
		}
		seen[n] = i
	}
	return nil
}

func fieldIndex(schema []Field, name string) int {
	for i, f := range schema {
		if f.Name == name {
			return i
		}
	}
	return -1
}

func isNull(s string, null []string) bool {
	if s == "" {
		return true
	}
	for _, n := range null {
		if s == n {
			return true
		}
	}
	return false
}

// sampleValues are column i's values in the sampled records, but nulls.
func sampleValues(samples [][]string, i int, null []string) []string {
	var values []string
	for _, rec := range samples {
		if v := strings.TrimSpace(rec[i]); !isNull(v, null) {
			values = append(values, v)
		}
	}
	return values
}

// mostlyNumbers says whether at least half the values read as numbers.
func mostlyNumbers(values []string) bool {
	n := 0
	for _, v := range values {
		if _, ok := parseNumber(v); ok {
			n++
		}
	}
	return n > 0 && 2*n >= len(values)
}

// bestLayout is the time layout that reads the most values, and how many.
func bestLayout(values []string) (string, int) {
	best, fits := "", 0
	for _, layout := range timeLayouts {
		n := 0
		for _, v := range values {
			if _, err := time.Parse(layout, v); err == nil {
				n++
			}
		}
		if n > fits {
			best, fits = layout, n
		}
	}
	return best, fits
}

// inferField types column i from the sampled records: a number or a time
// only if every value reads as one.
func inferField(name string, samples [][]string, i int, null []string) Field {
	values := sampleValues(samples, i, null)
	if len(values) == 0 {
		return Field{Name: name, Type: Text}
	}
	number := true
	for _, v := range values {
		if _, ok := parseNumber(v); !ok {
			number = false
			break
		}
	}
	if number {
		return Field{Name: name, Type: Number}
	}
	if layout, ok := layoutOfAll(values); ok {
		return Field{Name: name, Type: Time, Layout: layout}
	}
	return Field{Name: name, Type: Text}
}

// layoutOfAll is the first time layout every value reads as. A layout is
// given up at its first value that does not read: trying every layout on
// every sampled value of a text column (an id, a category), each failure
// an allocated error, was most of the time a file took to plan.
func layoutOfAll(values []string) (string, bool) {
	for _, layout := range timeLayouts {
		all := true
		for _, v := range values {
			if _, err := time.Parse(layout, v); err != nil {
				all = false
				break
			}
		}
		if all {
			return layout, true
		}
	}
	return "", false
}

// overrideField applies a type given for column i. A column said to be a
// time that not all sampled values read as gets the layout most of them
// do: the others are rows that cannot be read, not a reason to refuse the
// file.
func overrideField(f Field, t string, samples [][]string, i int, null []string) (Field, error) {
	if ct, err := ParseColumnType(t); err == nil {
		if ct == Time && f.Type != Time {
			values := sampleValues(samples, i, null)
			layout, fits := bestLayout(values)
			if fits == 0 || 2*fits < len(values) {
				return f, fmt.Errorf("no time layout fits its values; give the layout instead of %q (as Go writes 2006-01-02 15:04:05)", t)
			}
			f.Layout = layout
		}
		if ct != Time {
			f.Layout = ""
		}
		f.Type = ct
		return f, nil
	}
	// Anything else must be a time layout: it has to format a time and
	// read it back.
	ref := time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)
	if back, err := time.Parse(t, ref.Format(t)); err != nil || back.Year() != 2006 {
		return f, fmt.Errorf("type %q is neither number, text nor time, nor a Go time layout such as 2006-01-02", t)
	}
	f.Type, f.Layout = Time, t
	return f, nil
}

// parseNumber reads a finite number; "NaN" is not one (it reads as missing
// only when listed as a null token).
func parseNumber(s string) (float64, bool) {
	if v, ok := parseDecimal(s); ok {
		return v, true
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// parseDecimal reads the common form of a number, [+-]digits[.digits]
// with at most 15 significant digits, as strconv.ParseFloat would: the
// digits as an integer below 2^53 and a power of ten up to 10^22 are both
// exact float64s, so one division rounds correctly, which is the exact
// case strconv itself takes for such input. Anything else (exponents,
// more digits, hex, inf) is for strconv: ok false. Number parsing was
// most of the time reading a file of numbers took.
func parseDecimal(s string) (float64, bool) {
	i, neg := 0, false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg, i = s[i] == '-', i+1
	}
	var mant uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if mant == 0 && c == '0' && !dot {
				continue // leading zeros are not significant
			}
			mant = mant*10 + uint64(c-'0')
			if digits++; digits > 15 {
				return 0, false
			}
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 && !(i > 0 && strings.ContainsAny(s, "0")) {
		return 0, false // no digit at all: "", "-", "."
	}
	v := float64(mant) / pow10[frac]
	if neg {
		v = -v
	}
	return v, true
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// Reject is a row that could not be read, with where it was and why.
type Reject struct {
	File   string `json:"file"`
	Line   int64  `json:"line"`   // 1-based line of the row in the file (in its range until the Tally makes it absolute)
	Offset int64  `json:"offset"` // byte offset of the row in the file (decompressed, for gzip)
	Reason string `json:"reason"`
	Text   string `json:"text"` // the row as read, cut to rejectTextMax bytes
}

const rejectTextMax = 200

// CSVRange is what reading one byte range of a CSV file found besides its
// rows: how many lines it spans, so that line numbers can be made absolute
// once the ranges before it are known.
type CSVRange struct {
	Start, End int64 // the range after alignment to line starts
	Lines      int64 // lines in [Start, End), the last one counted even without a line break
	Rows       int   // rows read
	Rejected   int
}

// ReadCSVRange reads the rows of path that start in the byte range [start,
// end) into a table of the schema. Ranges are aligned to line starts
// (a range that starts mid-line begins at the next line; one that ends
// mid-line includes that line), so consecutive ranges read every line
// exactly once; end < 0 means the end of the file, which is the only range
// a gzip file has. Rows that cannot be read are returned as rejects, with
// lines counted from the range's start: add the lines of the ranges before
// it (Tally). A split inside a quoted field that spans lines would
// misalign; such fields should stay in one range.
func ReadCSVRange(path string, format CSVFormat, schema []Field, start, end int64) (*Table, CSVRange, []Reject, error) {
	return readCSVRange(path, format, schema, nil, start, end)
}

// ReadCSVColumns is ReadCSVRange keeping only the named columns (every
// field is still checked, so a row rejected by one is rejected by the
// other): a pass that needs few columns holds only those.
func ReadCSVColumns(path string, format CSVFormat, schema []Field, columns []string, start, end int64) (*Table, CSVRange, []Reject, error) {
	keep := make([]int, len(columns))
	for i, name := range columns {
		if keep[i] = fieldIndex(schema, name); keep[i] < 0 {
			return nil, CSVRange{}, nil, fmt.Errorf("%s: no column %q", path, name)
		}
	}
	return readCSVRange(path, format, schema, keep, start, end)
}

func readCSVRange(path string, format CSVFormat, schema []Field, keep []int, start, end int64) (*Table, CSVRange, []Reject, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, CSVRange{}, nil, err
	}
	defer f.Close()
	var in io.Reader
	rng := CSVRange{}
	if format.Gzip {
		if start != 0 || end >= 0 {
			return nil, CSVRange{}, nil, fmt.Errorf("%s: a gzip file can only be read whole", path)
		}
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
		if err != nil {
			return nil, CSVRange{}, nil, fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		in, rng.End = zr, -1
	} else {
		st, err := f.Stat()
		if err != nil {
			return nil, CSVRange{}, nil, err
		}
		if end < 0 || end > st.Size() {
			end = st.Size()
		}
		if rng.Start, err = lineStart(f, start, st.Size()); err != nil {
			return nil, CSVRange{}, nil, fmt.Errorf("%s: %w", path, err)
		}
		if rng.End, err = lineStart(f, end, st.Size()); err != nil {
			return nil, CSVRange{}, nil, fmt.Errorf("%s: %w", path, err)
		}
		if rng.End < rng.Start {
			rng.End = rng.Start
		}
		in = io.NewSectionReader(f, rng.Start, rng.End-rng.Start)
	}
	br := bufio.NewReaderSize(in, 1<<20)
	base := rng.Start
	if rng.Start == 0 {
		// A byte-order mark is not part of the first field.
		if b, err := br.Peek(3); err == nil && bytes.Equal(b, bom) {
			br.Discard(3)
			base += 3
		}
	}
	fields := schema
	if keep != nil {
		fields = make([]Field, len(keep))
		for i, k := range keep {
			fields[i] = schema[k]
		}
	} else {
		keep = make([]int, len(schema))
		for i := range keep {
			keep[i] = i
		}
	}
	rd := &csvRows{path: path, format: format, schema: schema, keep: keep, t: NewTable(fields), vals: make([]uint64, len(schema)),
		header: format.Header && rng.Start == 0, size: rng.End - rng.Start}
	var rest io.Reader = br
	if fastLines {
		if rest, err = rd.fast(br, base); err != nil {
			return nil, CSVRange{}, nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if rest != nil {
		if err := rd.slow(rest, base+rd.n); err != nil {
			return nil, CSVRange{}, nil, err
		}
	}
	rng.Lines = rd.lines
	if rd.n > 0 && rd.last != '\n' {
		rng.Lines++
	}
	rng.Rows, rng.Rejected = rd.t.Rows, len(rd.rejects)
	return rd.t, rng, rd.rejects, nil
}

// reserveAfter is how many rows the fast path reads before it sizes the
// columns for the range's rows, estimated from their bytes.
const reserveAfter = 1024

// fastLines turns the line-by-line path on; tests turn it off to hold it
// to encoding/csv's reading of the same bytes.
var fastLines = true

// csvRows reads one range's rows: line by line while lines hold no quote
// (most files, and every number a file holds), the rest by encoding/csv.
type csvRows struct {
	path    string
	format  CSVFormat
	schema  []Field
	keep    []int
	t       *Table
	vals    []uint64
	rejects []Reject
	header  bool
	rec     []string
	// size is the range's bytes (≤ 0 for a gzip file, unknown), from
	// which the rows are estimated once a few are read.
	size int64
	// lines, n and last count the line breaks, bytes and last byte of the
	// range read so far: n is where the slow path takes over.
	lines, n int64
	last     byte
}

// fast reads whole lines without a quote or a stray carriage return,
// splitting them at the delimiter itself: encoding/csv's record
// machinery and a string per record were a third of reading a file of
// numbers. At the first line it cannot read so, it returns a reader of
// the rest of the range from that line on, for slow.
func (rd *csvRows) fast(br *bufio.Reader, base int64) (io.Reader, error) {
	delim := byte(rd.format.Delimiter)
	if rd.format.Delimiter >= 0x80 {
		return br, nil // a multi-byte delimiter: encoding/csv reads it
	}
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) || bytes.IndexByte(line, '"') >= 0 {
			return io.MultiReader(bytes.NewReader(slices.Clone(line)), br), nil
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if len(line) == 0 {
			return nil, nil
		}
		off := base + rd.n
		content := line
		if content[len(content)-1] == '\n' {
			content = content[:len(content)-1]
			if len(content) > 0 && content[len(content)-1] == '\r' {
				content = content[:len(content)-1]
			}
		}
		if bytes.IndexByte(content, '\r') >= 0 {
			return io.MultiReader(bytes.NewReader(slices.Clone(line)), br), nil
		}
		rd.n += int64(len(line))
		rd.last = line[len(line)-1]
		lineNo := rd.lines + 1
		if rd.last == '\n' {
			rd.lines++
		}
		if len(content) > 0 { // encoding/csv skips empty lines too
			rd.rec = rd.rec[:0]
			for {
				i := bytes.IndexByte(content, delim)
				if i < 0 {
					rd.rec = append(rd.rec, unsafe.String(unsafe.SliceData(content), len(content)))
					break
				}
				rd.rec = append(rd.rec, unsafe.String(unsafe.SliceData(content), i))
				content = content[i+1:]
			}
			rd.record(rd.rec, lineNo, off, true)
			if rd.t.Rows == reserveAfter && rd.size > 0 {
				// Columns grown by doubling copied and cleared each value
				// about twice: a tenth of reading a file of numbers.
				rd.t.Reserve(int(float64(rd.size)/float64(rd.n)*reserveAfter*1.05) - reserveAfter)
			}
		}
		if err == io.EOF {
			return nil, nil
		}
	}
}

// slow reads the rest of the range with encoding/csv, from offset base
// and after the fast path's lines.
func (rd *csvRows) slow(in io.Reader, base int64) error {
	lc := &lineCounter{r: bufio.NewReaderSize(in, 64<<10)}
	before := rd.lines
	r := newCSVReader(lc, rd.format.Delimiter)
	for {
		off := base + r.InputOffset()
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe) && !errors.Is(err, csv.ErrFieldCount):
			rd.rejects = append(rd.rejects, Reject{File: rd.path, Line: before + int64(pe.StartLine), Offset: off, Reason: fmt.Sprintf("malformed CSV: %v", pe.Err)})
			continue
		case err != nil && !errors.Is(err, csv.ErrFieldCount):
			return fmt.Errorf("%s: %w", rd.path, err)
		}
		line, _ := r.FieldPos(0)
		rd.record(rec, before+int64(line), off, false)
	}
	rd.lines += lc.lines
	if lc.n > 0 {
		rd.n += lc.n
		rd.last = lc.last
	}
	return nil
}

// record takes one record: the header, a row, or a reject. borrowed
// fields point into a buffer the next line overwrites: text kept from
// them is copied.
func (rd *csvRows) record(rec []string, line, off int64, borrowed bool) {
	if rd.header {
		rd.header = false
		return
	}
	reason := ""
	if len(rec) != len(rd.schema) {
		reason = fmt.Sprintf("%d fields, want %d", len(rec), len(rd.schema))
	} else {
		reason = rd.t.appendRecord(rec, rd.format.Null, rd.vals, rd.schema, rd.keep, borrowed)
	}
	if reason != "" {
		rd.rejects = append(rd.rejects, Reject{File: rd.path, Line: line, Offset: off, Reason: reason, Text: strings.Clone(recordText(rec, rd.format.Delimiter))})
	}
}

// appendRecord adds one record, or adds nothing and says why it cannot.
// Every field of schema is checked; the table's columns are the fields
// keep names. vals is scratch of one value per field, so each cell is
// parsed once.
func (t *Table) appendRecord(rec []string, null []string, vals []uint64, schema []Field, keep []int, borrowed bool) string {
	// Check every cell before appending any, so a rejected row leaves no
	// partial values behind.
	for i := range schema {
		f := &schema[i]
		v := strings.TrimSpace(rec[i])
		if isNull(v, null) {
			switch f.Type {
			case Number:
				vals[i] = math.Float64bits(math.NaN())
			case Time:
				vals[i] = 1 << 63 // MissingTime's bits
			}
			continue
		}
		switch f.Type {
		case Number:
			x, ok := parseNumber(v)
			if !ok {
				return fmt.Sprintf("column %s: %q is not a number", f.Name, strings.Clone(cut(v)))
			}
			vals[i] = math.Float64bits(x)
		case Time:
			ms, ok := parseTime(f.Layout, v)
			if !ok {
				return fmt.Sprintf("column %s: %q is not a time like %s", f.Name, strings.Clone(cut(v)), f.Layout)
			}
			vals[i] = uint64(ms)
		}
	}
	for j := range t.Columns {
		c, i := &t.Columns[j], keep[j]
		switch c.Type {
		case Number:
			c.Num = append(c.Num, math.Float64frombits(vals[i]))
		case Time:
			c.Times = append(c.Times, int64(vals[i]))
		case Text:
			v := strings.TrimSpace(rec[i])
			if borrowed {
				c.appendBorrowed(v, isNull(v, null))
			} else {
				c.appendText(v, isNull(v, null))
			}
		}
	}
	t.Rows++
	return ""
}

// parseTime reads v in layout as Unix milliseconds (UTC unless the layout
// has a zone). The two ISO layouts most files use are read directly, which
// is ten times faster than time.Parse; anything they do not accept, valid
// or not, goes to time.Parse.
func parseTime(layout, v string) (int64, bool) {
	if ms, ok := parseISO(layout, v); ok {
		return ms, true
	}
	tm, err := time.Parse(layout, v)
	if err != nil {
		return 0, false
	}
	return tm.UnixMilli(), true
}

// parseISO reads "2006-01-02" and "2006-01-02 15:04:05" exactly as
// time.Parse does for those layouts, for the values it accepts.
func parseISO(layout, v string) (int64, bool) {
	var withTime bool
	switch {
	case layout == "2006-01-02" && len(v) == 10:
	case layout == TimeLayout && len(v) == 19 && v[10] == ' ' && v[13] == ':' && v[16] == ':':
		withTime = true
	default:
		return 0, false
	}
	if v[4] != '-' || v[7] != '-' {
		return 0, false
	}
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			d := s[i] - '0'
			if d > 9 {
				return 0, false
			}
			n = n*10 + int(d)
		}
		return n, true
	}
	y, ok1 := num(v[0:4])
	mo, ok2 := num(v[5:7])
	d, ok3 := num(v[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > daysIn(time.Month(mo), y) {
		return 0, false
	}
	var h, mi, sec int
	if withTime {
		var ok4, ok5, ok6 bool
		h, ok4 = num(v[11:13])
		mi, ok5 = num(v[14:16])
		sec, ok6 = num(v[17:19])
		if !ok4 || !ok5 || !ok6 || h > 23 || mi > 59 || sec > 59 {
			return 0, false
		}
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC).UnixMilli(), true
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func cut(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func recordText(rec []string, delim rune) string {
	s := strings.Join(rec, string(delim))
	if len(s) > rejectTextMax {
		s = s[:rejectTextMax]
	}
	return s
}

// lineStart is p if p is 0 or the file's size, else the offset just after
// the first line break at or after p-1: where the line containing byte p-1
// ends, which is where a range starting at p begins reading.
func lineStart(f *os.File, p, size int64) (int64, error) {
	if p <= 0 {
		return 0, nil
	}
	if p >= size {
		return size, nil
	}
	buf := make([]byte, 64<<10)
	for at := p - 1; at < size; {
		n, err := f.ReadAt(buf, at)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return at + int64(i) + 1, nil
		}
		at += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	return size, nil
}

// lineCounter counts the line breaks that pass through it.
type lineCounter struct {
	r     *bufio.Reader
	lines int64
	n     int64
	last  byte
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.lines += int64(bytes.Count(p[:n], []byte{'\n'}))
		c.n += int64(n)
		c.last = p[n-1]
	}
	return n, err
}
