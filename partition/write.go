package partition

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/bitutil"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// TableWriter writes Tables of one schema to a file, in the format its name
// asks for: .parquet, .csv or .csv.gz.
type TableWriter interface {
	Write(t *Table) error
	// Close finishes and closes the file; after an error from Write the
	// file is incomplete and Close removes nothing, so callers remove it.
	Close() error
}

// TimeLayout is how Time values are written to CSV, and read back by
// SniffCSV: UTC, to the second.
const TimeLayout = "2006-01-02 15:04:05"

// CreateTable creates path and returns a writer for tables of fields.
func CreateTable(path string, fields []Field) (TableWriter, error) {
	ext := strings.ToLower(path)
	switch {
	case strings.HasSuffix(ext, ".parquet"):
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		w, err := NewParquetWriter(f, fields)
		if err != nil {
			f.Close()
			return nil, err
		}
		return w, nil
	case strings.HasSuffix(ext, ".csv"), strings.HasSuffix(ext, ".csv.gz"):
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		return newCSVWriter(f, fields, strings.HasSuffix(ext, ".gz")), nil
	}
	return nil, fmt.Errorf("%s: the name must end in .parquet, .csv or .csv.gz", filepath.Base(path))
}

// csvWriter builds rows as text in one buffer, with strconv's append
// functions and a quoting check per field, and hands it on a chunk at a
// time: encoding/csv's Writer cost a string per cell and a scan per field
// on top, for the same bytes.
type csvWriter struct {
	f      *os.File
	buf    *bufio.Writer
	gz     *gzip.Writer
	out    io.Writer
	fields []Field
	line   []byte
}

func newCSVWriter(f *os.File, fields []Field, gz bool) *csvWriter {
	c := &csvWriter{f: f, buf: bufio.NewWriterSize(f, 1<<20), fields: fields, line: make([]byte, 0, csvFlush+4096)}
	c.out = c.buf
	if gz {
		c.gz = gzip.NewWriter(c.buf)
		c.out = c.gz
	}
	for i, fl := range fields {
		if i > 0 {
			c.line = append(c.line, ',')
		}
		c.line = appendCSVField(c.line, fl.Name)
	}
	c.line = append(c.line, '\n')
	return c
}

func (c *csvWriter) Write(t *Table) error {
	if len(t.Columns) != len(c.fields) {
		return fmt.Errorf("table of %d columns for a file of %d", len(t.Columns), len(c.fields))
	}
	line := c.line
	for r := range t.Rows {
		for i := range t.Columns {
			if i > 0 {
				line = append(line, ',')
			}
			switch col := &t.Columns[i]; col.Type {
			case Number:
				if v := col.Num[r]; !math.IsNaN(v) {
					line = strconv.AppendFloat(line, v, 'f', -1, 64)
				}
			case Time:
				if ms := col.Times[r]; ms != MissingTime {
					line = time.UnixMilli(ms).UTC().AppendFormat(line, TimeLayout)
				}
			case Text:
				if code := col.Codes[r]; code >= 0 {
					line = appendCSVField(line, col.Dict[code])
				}
			}
		}
		line = append(line, '\n')
		if len(line) >= csvFlush {
			if _, err := c.out.Write(line); err != nil {
				return err
			}
			line = line[:0]
		}
	}
	c.line = line
	return nil
}

func (c *csvWriter) Close() error {
	_, err := c.out.Write(c.line)
	c.line = c.line[:0]
	if c.gz != nil {
		if cerr := c.gz.Close(); err == nil {
			err = cerr
		}
	}
	if ferr := c.buf.Flush(); err == nil {
		err = ferr
	}
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Assignments are one partition's part file: each kept customer's id,
// segment (-1 for none, such as noise) and score (for k-means the
// distance to its segment's centre), a row each.
type Assignments struct {
	// Row r's id is IDs[Codes[r]] (code -1: the customer has none), so a
	// text column's own dictionary is written without copying its strings.
	IDs     []string
	Codes   []int32
	Segment []int32
	Score   []float32
	// ScoreName names the score's column; "distance" when empty.
	ScoreName string
	// Flags are per-row facts the model reports (DBSCAN's core), one
	// slice of rows entries each, in columns named by FlagNames.
	Flags     [][]bool
	FlagNames []string
}

func (a *Assignments) scoreName() string {
	if a.ScoreName == "" {
		return "distance"
	}
	return a.ScoreName
}

// csvFlush is how much CSV text is built before it is written: large
// enough that writes are few, small enough that a partition of any size
// costs no more memory.
const csvFlush = 1 << 20

// WriteAssignments creates path, a .csv or .parquet file by its name, and
// writes a to it. After an error the file may be incomplete: the caller
// removes it.
func WriteAssignments(path string, a *Assignments) error {
	n := len(a.Codes)
	if len(a.Segment) != n || len(a.Score) != n {
		return fmt.Errorf("%s: %d ids, %d segments and %d scores", filepath.Base(path), n, len(a.Segment), len(a.Score))
	}
	if len(a.Flags) != len(a.FlagNames) {
		return fmt.Errorf("%s: %d flags for %d names", filepath.Base(path), len(a.Flags), len(a.FlagNames))
	}
	for i, f := range a.Flags {
		if len(f) != n {
			return fmt.Errorf("%s: flag %s has %d rows of %d", filepath.Base(path), a.FlagNames[i], len(f), n)
		}
	}
	var write func(*os.File, *Assignments) error
	switch ext := strings.ToLower(path); {
	case strings.HasSuffix(ext, ".parquet"):
		write = writeAssignmentsParquet
	case strings.HasSuffix(ext, ".csv"):
		write = writeAssignmentsCSV
	default:
		return fmt.Errorf("%s: the name must end in .parquet or .csv", filepath.Base(path))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f, a); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeAssignmentsCSV appends rows as text into one buffer: encoding/csv's
// per-field quoting check and 17-digit float64 distances were most of the
// time. The segment is written as an integer and the distance as the
// shortest text that reads back as the same float32.
func writeAssignmentsCSV(f *os.File, a *Assignments) error {
	buf := make([]byte, 0, csvFlush+256)
	buf = append(buf, "id,segment,"...)
	buf = appendCSVField(buf, a.scoreName())
	for _, name := range a.FlagNames {
		buf = append(buf, ',')
		buf = appendCSVField(buf, name)
	}
	buf = append(buf, '\n')
	for r, code := range a.Codes {
		if code >= 0 {
			buf = appendCSVField(buf, a.IDs[code])
		}
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(a.Segment[r]), 10)
		buf = append(buf, ',')
		if d := a.Score[r]; d == d { // NaN is written as a missing value
			buf = strconv.AppendFloat(buf, float64(d), 'g', -1, 32)
		}
		for _, f := range a.Flags {
			buf = strconv.AppendBool(append(buf, ','), f[r])
		}
		buf = append(buf, '\n')
		if len(buf) >= csvFlush {
			if _, err := f.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := f.Write(buf)
	return err
}

// assignSchema is an assignments file's schema; the id column is
// nullable only in files with a customer without one, as a required column
// is written without its definition levels.
func assignSchema(nullableIDs bool, score string, flags []string) *arrow.Schema {
	fields := []arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String, Nullable: nullableIDs},
		{Name: "segment", Type: arrow.PrimitiveTypes.Int32},
		{Name: score, Type: arrow.PrimitiveTypes.Float32},
	}
	for _, f := range flags {
		fields = append(fields, arrow.Field{Name: f, Type: arrow.FixedWidthTypes.Boolean})
	}
	return arrow.NewSchema(fields, nil)
}

// assignProps: ids are mostly unique, so a dictionary of them only costs a
// hash of every id; segments are few, so theirs packs each in a few bits;
// distances are all different. Snappy rather than zstd: zstd halved the
// file again but tripled the time (bench/RESULTS.md, issue 13).
var assignProps = []parquet.WriterProperty{
	parquet.WithDictionaryDefault(false),
	parquet.WithDictionaryFor("segment", true),
	parquet.WithCompression(compress.Codecs.Snappy),
	parquet.WithStatsFor("id", false),
}

// writeAssignmentsParquet writes one row group from Arrow arrays made over
// the columns' own memory, with no builders: the ids' bytes are copied once
// into the array's buffer, segments and distances not at all.
func writeAssignmentsParquet(f *os.File, a *Assignments) error {
	n := len(a.Codes)
	size := 0
	for _, code := range a.Codes {
		if code >= 0 {
			size += len(a.IDs[code])
		}
	}
	if size > math.MaxInt32 {
		return fmt.Errorf("%d bytes of ids, more than a Parquet string column chunk holds", size)
	}
	offsets := make([]int32, n+1)
	data := make([]byte, 0, size)
	var valid []byte // nil while every row has an id
	nulls := 0
	for r, code := range a.Codes {
		if code >= 0 {
			data = append(data, a.IDs[code]...)
		} else {
			if valid == nil {
				valid = make([]byte, bitutil.BytesForBits(int64(n)))
				bitutil.SetBitsTo(valid, 0, int64(n), true)
			}
			bitutil.ClearBit(valid, r)
			nulls++
		}
		offsets[r+1] = int32(len(data))
	}
	var validBuf *memory.Buffer
	if valid != nil {
		validBuf = memory.NewBufferBytes(valid)
	}
	ids := array.NewStringData(array.NewData(arrow.BinaryTypes.String, n,
		[]*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets)), memory.NewBufferBytes(data)}, nil, nulls, 0))
	defer ids.Release()
	seg := array.NewInt32Data(array.NewData(arrow.PrimitiveTypes.Int32, n,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(a.Segment))}, nil, 0, 0))
	defer seg.Release()
	dist := array.NewFloat32Data(array.NewData(arrow.PrimitiveTypes.Float32, n,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Float32Traits.CastToBytes(a.Score))}, nil, 0, 0))
	defer dist.Release()
	cols := []arrow.Array{ids, seg, dist}
	for _, f := range a.Flags {
		bits := make([]byte, bitutil.BytesForBits(int64(n)))
		for r, v := range f {
			if v {
				bitutil.SetBit(bits, r)
			}
		}
		flag := array.NewBooleanData(array.NewData(arrow.FixedWidthTypes.Boolean, n, []*memory.Buffer{nil, memory.NewBufferBytes(bits)}, nil, 0, 0))
		defer flag.Release()
		cols = append(cols, flag)
	}
	schema := assignSchema(nulls > 0, a.scoreName(), a.FlagNames)
	rec := array.NewRecord(schema, cols, int64(n))
	defer rec.Release()

	buf := bufio.NewWriterSize(f, 1<<20)
	fw, err := pqarrow.NewFileWriter(schema, buf, parquet.NewWriterProperties(assignProps...), pqarrow.DefaultWriterProps())
	if err != nil {
		return err
	}
	if err := fw.Write(rec); err != nil {
		fw.Close()
		return err
	}
	if err := fw.Close(); err != nil {
		return err
	}
	return buf.Flush()
}

// appendCSVField appends s as a CSV field, quoted when RFC 4180 needs it,
// and when encoding/csv would quote it (a leading space, a lone `\.`), so
// that files read the same as they did when it wrote them.
func appendCSVField(buf []byte, s string) []byte {
	if !fieldNeedsQuotes(s) {
		return append(buf, s...)
	}
	buf = append(buf, '"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		buf = append(buf, s[:i+1]...)
		buf = append(buf, '"')
		s = s[i+1:]
	}
	buf = append(buf, s...)
	return append(buf, '"')
}

// csvSpecial are the bytes that make a field quoted, wherever they are; a
// table because the test is made on every byte of every field.
var csvSpecial = [256]bool{',': true, '"': true, '\n': true, '\r': true}

func fieldNeedsQuotes(s string) bool {
	if s == "" {
		return false
	}
	if s == `\.` {
		return true
	}
	for i := 0; i < len(s); i++ {
		if csvSpecial[s[i]] {
			return true
		}
	}
	if c := s[0]; c < utf8.RuneSelf {
		return c == ' ' || c == '\t' || c == '\v' || c == '\f'
	}
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r)
}
