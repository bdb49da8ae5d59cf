package partition

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// This file reads Parquet (by row groups, through Arrow's pqarrow) and Arrow
// IPC files into Tables, and writes Tables as Parquet: the columnar formats
// a dataset or an output can be in.

// arrowField maps an Arrow type to the column type Cohort reads it as:
// every numeric and boolean type is a Number, strings and string
// dictionaries are Text, timestamps and dates are Time.
func arrowField(f arrow.Field) (Field, error) {
	out := Field{Name: f.Name}
	switch t := f.Type.(type) {
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type,
		*arrow.Uint8Type, *arrow.Uint16Type, *arrow.Uint32Type, *arrow.Uint64Type,
		*arrow.Float16Type, *arrow.Float32Type, *arrow.Float64Type, *arrow.BooleanType,
		*arrow.Decimal128Type:
		out.Type = Number
	case *arrow.StringType, *arrow.LargeStringType:
		out.Type = Text
	case *arrow.DictionaryType:
		switch t.ValueType.(type) {
		case *arrow.StringType, *arrow.LargeStringType:
			out.Type = Text
		default:
			return out, fmt.Errorf("column %q is a dictionary of %s; only string dictionaries are read", f.Name, t.ValueType)
		}
	case *arrow.TimestampType, *arrow.Date32Type, *arrow.Date64Type:
		out.Type = Time
	default:
		return out, fmt.Errorf("column %q has type %s, which is not a number, string or time", f.Name, f.Type)
	}
	return out, nil
}

func arrowSchema(s *arrow.Schema) ([]Field, error) {
	out := make([]Field, s.NumFields())
	for i, f := range s.Fields() {
		var err error
		if out[i], err = arrowField(f); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// appendArrow adds an Arrow array's values to a column of the matching type.
func (c *Column) appendArrow(a arrow.Array) error {
	n := a.Len()
	switch c.Type {
	case Number:
		for i := range n {
			v := math.NaN()
			if a.IsValid(i) {
				v = numberAt(a, i)
			}
			c.Num = append(c.Num, v)
		}
	case Time:
		for i := range n {
			ms := int64(MissingTime)
			if a.IsValid(i) {
				ms = millisAt(a, i)
			}
			c.Times = append(c.Times, ms)
		}
	case Text:
		switch a := a.(type) {
		case *array.String:
			for i := range n {
				c.appendText(a.Value(i), a.IsNull(i))
			}
		case *array.LargeString:
			for i := range n {
				c.appendText(a.Value(i), a.IsNull(i))
			}
		case *array.Dictionary:
			dict := a.Dictionary()
			for i := range n {
				if a.IsNull(i) {
					c.appendText("", true)
					continue
				}
				c.appendText(dict.ValueStr(a.GetValueIndex(i)), false)
			}
		default:
			return fmt.Errorf("column %q: %s is not text", c.Name, a.DataType())
		}
	}
	return nil
}

func numberAt(a arrow.Array, i int) float64 {
	switch a := a.(type) {
	case *array.Float64:
		return a.Value(i)
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float16:
		return float64(a.Value(i).Float32())
	case *array.Int64:
		return float64(a.Value(i))
	case *array.Int32:
		return float64(a.Value(i))
	case *array.Int16:
		return float64(a.Value(i))
	case *array.Int8:
		return float64(a.Value(i))
	case *array.Uint64:
		return float64(a.Value(i))
	case *array.Uint32:
		return float64(a.Value(i))
	case *array.Uint16:
		return float64(a.Value(i))
	case *array.Uint8:
		return float64(a.Value(i))
	case *array.Boolean:
		if a.Value(i) {
			return 1
		}
		return 0
	case *array.Decimal128:
		return a.Value(i).ToFloat64(a.DataType().(*arrow.Decimal128Type).Scale)
	}
	return math.NaN()
}

func millisAt(a arrow.Array, i int) int64 {
	switch a := a.(type) {
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UnixMilli()
	case *array.Date32:
		return a.Value(i).ToTime().UnixMilli()
	case *array.Date64:
		return a.Value(i).ToTime().UnixMilli()
	}
	return MissingTime
}

// appendArrowRecord adds every row of an Arrow record whose schema matches the
// table's.
func (t *Table) appendArrowRecord(rec arrow.Record) error {
	if int(rec.NumCols()) != len(t.Columns) {
		return fmt.Errorf("record of %d columns for a table of %d", rec.NumCols(), len(t.Columns))
	}
	for i := range t.Columns {
		if err := t.Columns[i].appendArrow(rec.Column(i)); err != nil {
			return err
		}
	}
	t.Rows += int(rec.NumRows())
	return nil
}

// ParquetFile is what planning needs of a Parquet file: its schema and the
// rows of each row group, the unit a partition is made of.
type ParquetFile struct {
	Schema    []Field
	GroupRows []int64
}

// InspectParquet reads a Parquet file's footer.
func InspectParquet(path string) (ParquetFile, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return ParquetFile{}, fmt.Errorf("%s: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return ParquetFile{}, fmt.Errorf("%s: %w", path, err)
	}
	s, err := fr.Schema()
	if err != nil {
		return ParquetFile{}, fmt.Errorf("%s: %w", path, err)
	}
	out := ParquetFile{GroupRows: make([]int64, pf.NumRowGroups())}
	if out.Schema, err = arrowSchema(s); err != nil {
		return ParquetFile{}, fmt.Errorf("%s: %w", path, err)
	}
	for g := range out.GroupRows {
		out.GroupRows[g] = pf.MetaData().RowGroup(g).NumRows()
	}
	return out, nil
}

// ReadParquetColumns reads the named columns (nil: every one) of row
// groups [first, last): Parquet stores columns apart, so the others are
// not even decompressed.
func ReadParquetColumns(ctx context.Context, path string, first, last int, columns []string) (*Table, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer pf.Close()
	if first < 0 || last > pf.NumRowGroups() || first > last {
		return nil, fmt.Errorf("%s: row groups [%d, %d) of %d", path, first, last, pf.NumRowGroups())
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	schema, err := arrowSchema(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var cols []int // leaf columns, which for flat files are the fields
	if columns != nil {
		fields := make([]Field, len(columns))
		for i, name := range columns {
			j := fieldIndex(schema, name)
			if j < 0 {
				return nil, fmt.Errorf("%s: no column %q", path, name)
			}
			fields[i], cols = schema[j], append(cols, j)
		}
		schema = fields
	}
	t := NewTable(schema)
	if first == last {
		return t, nil
	}
	groups := make([]int, last-first)
	var rows int64
	for i := range groups {
		groups[i] = first + i
		rows += pf.MetaData().RowGroup(groups[i]).NumRows()
	}
	t.Reserve(int(rows))
	rr, err := fr.GetRecordReader(ctx, cols, groups)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer rr.Release()
	for rr.Next() {
		if err := t.appendArrowRecord(rr.Record()); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ReadArrowFile reads a whole Arrow IPC file.
func ReadArrowFile(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer r.Close()
	schema, err := arrowSchema(r.Schema())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t := NewTable(schema)
	for i := range r.NumRecords() {
		rec, err := r.Record(i)
		if err != nil {
			return nil, fmt.Errorf("%s: record %d: %w", path, i, err)
		}
		if err := t.appendArrowRecord(rec); err != nil {
			return nil, fmt.Errorf("%s: record %d: %w", path, i, err)
		}
	}
	return t, nil
}

// ParquetWriter writes Tables with one schema as one Parquet file, a row
// group per Write (a partition's rows, say), compressed with zstd.
type ParquetWriter struct {
	schema *arrow.Schema
	fields []Field
	fw     *pqarrow.FileWriter
}

// NewParquetWriter starts a Parquet file on w.
func NewParquetWriter(w io.Writer, fields []Field) (*ParquetWriter, error) {
	af := make([]arrow.Field, len(fields))
	for i, f := range fields {
		af[i] = arrow.Field{Name: f.Name, Nullable: true}
		switch f.Type {
		case Number:
			af[i].Type = arrow.PrimitiveTypes.Float64
		case Text:
			af[i].Type = arrow.BinaryTypes.String
		case Time:
			af[i].Type = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
		default:
			return nil, fmt.Errorf("column %q has no type", f.Name)
		}
	}
	s := arrow.NewSchema(af, nil)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithDictionaryDefault(true))
	fw, err := pqarrow.NewFileWriter(s, w, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return nil, err
	}
	return &ParquetWriter{schema: s, fields: fields, fw: fw}, nil
}

// Write adds t's rows as one row group.
func (p *ParquetWriter) Write(t *Table) error {
	if len(t.Columns) != len(p.fields) {
		return fmt.Errorf("table of %d columns for a file of %d", len(t.Columns), len(p.fields))
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, p.schema)
	defer b.Release()
	for i := range t.Columns {
		c := &t.Columns[i]
		if c.Type != p.fields[i].Type {
			return fmt.Errorf("column %q is %s, the file's is %s", c.Name, c.Type, p.fields[i].Type)
		}
		switch c.Type {
		case Number:
			fb := b.Field(i).(*array.Float64Builder)
			for _, v := range c.Num {
				if math.IsNaN(v) {
					fb.AppendNull()
				} else {
					fb.Append(v)
				}
			}
		case Text:
			sb := b.Field(i).(*array.StringBuilder)
			for _, code := range c.Codes {
				if code < 0 {
					sb.AppendNull()
				} else {
					sb.Append(c.Dict[code])
				}
			}
		case Time:
			tb := b.Field(i).(*array.TimestampBuilder)
			for _, ms := range c.Times {
				if ms == MissingTime {
					tb.AppendNull()
				} else {
					tb.Append(arrow.Timestamp(ms))
				}
			}
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	return p.fw.Write(rec)
}

// Close finishes the file (its footer) and closes w if it is an io.Closer.
func (p *ParquetWriter) Close() error { return p.fw.Close() }
