package partition

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sync"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/bitutil"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/metadata"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/apache/arrow/go/v17/parquet/schema"
)

// This file reads Parquet (by row groups: plain number columns with the
// column chunk readers of parquet/file, the others through pqarrow) and Arrow
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
	switch c.Type {
	case Number:
		return c.appendNumbers(a)
	case Time:
		return c.appendTimes(a)
	case Text:
		n := a.Len()
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
			return c.appendDictionary(a)
		default:
			return fmt.Errorf("column %q: %s is not text", c.Name, a.DataType())
		}
	}
	return nil
}

// appendNumbers converts an array's values in one loop of its type, and
// marks its nulls afterwards: a type switch and a validity check per value
// cost more than the conversions.
func (c *Column) appendNumbers(a arrow.Array) error {
	start := len(c.Num)
	switch a := a.(type) {
	case *array.Float64:
		c.Num = append(c.Num, a.Float64Values()...)
	case *array.Float32:
		c.Num = appendFloat(c.Num, a.Float32Values())
	case *array.Int64:
		c.Num = appendFloat(c.Num, a.Int64Values())
	case *array.Int32:
		c.Num = appendFloat(c.Num, a.Int32Values())
	case *array.Int16:
		c.Num = appendFloat(c.Num, a.Int16Values())
	case *array.Int8:
		c.Num = appendFloat(c.Num, a.Int8Values())
	case *array.Uint64:
		c.Num = appendFloat(c.Num, a.Uint64Values())
	case *array.Uint32:
		c.Num = appendFloat(c.Num, a.Uint32Values())
	case *array.Uint16:
		c.Num = appendFloat(c.Num, a.Uint16Values())
	case *array.Uint8:
		c.Num = appendFloat(c.Num, a.Uint8Values())
	case *array.Float16:
		for _, v := range a.Values() {
			c.Num = append(c.Num, float64(v.Float32()))
		}
	case *array.Boolean:
		for i := range a.Len() {
			v := 0.0
			if a.Value(i) {
				v = 1
			}
			c.Num = append(c.Num, v)
		}
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		for _, v := range a.Values() {
			c.Num = append(c.Num, v.ToFloat64(scale))
		}
	default:
		return fmt.Errorf("column %q: %s is not a number", c.Name, a.DataType())
	}
	return markMissing(c, c.Num[start:], a, math.NaN())
}

func appendFloat[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32](dst []float64, vs []T) []float64 {
	for _, v := range vs {
		dst = append(dst, float64(v))
	}
	return dst
}

// appendTimes is appendNumbers for Time columns.
func (c *Column) appendTimes(a arrow.Array) error {
	start := len(c.Times)
	switch a := a.(type) {
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		for _, v := range a.TimestampValues() {
			c.Times = append(c.Times, v.ToTime(unit).UnixMilli())
		}
	case *array.Date32:
		for _, v := range a.Date32Values() {
			c.Times = append(c.Times, v.ToTime().UnixMilli())
		}
	case *array.Date64:
		for _, v := range a.Date64Values() {
			c.Times = append(c.Times, v.ToTime().UnixMilli())
		}
	default:
		return fmt.Errorf("column %q: %s is not a time", c.Name, a.DataType())
	}
	return markMissing(c, c.Times[start:], a, MissingTime)
}

// markMissing sets the values appended for a's null slots, which hold
// whatever the array's buffer had there, to missing. It also checks that
// every slot got a value: an array whose values buffer is short would
// otherwise leave the column shorter than the others.
func markMissing[T float64 | int64](c *Column, added []T, a arrow.Array, missing T) error {
	if len(added) != a.Len() {
		return fmt.Errorf("column %q: %d values in an array of %d", c.Name, len(added), a.Len())
	}
	valid, offset := a.NullBitmapBytes(), a.Data().Offset()
	if a.NullN() == 0 || len(valid) == 0 { // no bitmap: every value is valid, as IsValid has it
		return nil
	}
	for i := range added {
		if bitutil.BitIsNotSet(valid, offset+i) {
			added[i] = missing
		}
	}
	return nil
}

// arrowDict is a text column's codes for the entries of the last Arrow
// dictionary it read, -1 for entries no row has used yet. An Arrow IPC file
// shares one dictionary between its record batches; a Parquet reader makes
// a new one per batch.
type arrowDict struct {
	data  arrow.ArrayData
	codes []int32
}

// appendDictionary gives each dictionary entry its code once, when a row
// first uses it, and every other row the code of its index: no string and
// no map lookup per row. The codes are appendText's: entries are coded in
// the order rows first use them, not in the dictionary's order, and a
// column that the distinct probe stops deduplicating goes on through
// appendText.
func (c *Column) appendDictionary(a *array.Dictionary) error {
	if c.fromArrow.data != a.Dictionary().Data() {
		n := a.Dictionary().Len()
		c.fromArrow.data = a.Dictionary().Data()
		c.fromArrow.codes = slices.Grow(c.fromArrow.codes[:0], n)[:n]
		for k := range c.fromArrow.codes {
			c.fromArrow.codes[k] = -1
		}
	}
	switch ix := a.Indices().(type) {
	case *array.Int32:
		appendIndices(c, a, ix.Int32Values())
	case *array.Int8:
		appendIndices(c, a, ix.Int8Values())
	case *array.Int16:
		appendIndices(c, a, ix.Int16Values())
	case *array.Int64:
		appendIndices(c, a, ix.Int64Values())
	case *array.Uint8:
		appendIndices(c, a, ix.Uint8Values())
	case *array.Uint16:
		appendIndices(c, a, ix.Uint16Values())
	case *array.Uint32:
		appendIndices(c, a, ix.Uint32Values())
	case *array.Uint64:
		appendIndices(c, a, ix.Uint64Values())
	default:
		return fmt.Errorf("column %q: dictionary indices of %s", c.Name, a.Indices().DataType())
	}
	return nil
}

func appendIndices[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64](c *Column, a *array.Dictionary, indices []T) {
	dict, codes := a.Dictionary(), c.fromArrow.codes
	valid, offset := a.NullBitmapBytes(), a.Data().Offset()
	nulls := a.NullN() > 0 && len(valid) > 0 // no bitmap: every index is valid, as IsNull has it
	i := 0
	for ; i < len(indices) && c.index != nil; i++ {
		if nulls && bitutil.BitIsNotSet(valid, offset+i) {
			c.Codes = append(c.Codes, -1)
			continue
		}
		k := indices[i]
		if code := codes[k]; code >= 0 {
			c.Codes = append(c.Codes, code)
			c.probe()
			continue
		}
		c.appendText(dict.ValueStr(int(k)), false)
		codes[k] = c.Codes[len(c.Codes)-1]
	}
	for ; i < len(indices); i++ {
		if nulls && bitutil.BitIsNotSet(valid, offset+i) {
			c.appendText("", true)
			continue
		}
		c.appendText(dict.ValueStr(int(indices[i])), false)
	}
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
	pf, err := openParquet(path)
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

// footers holds the parsed footers of the Parquet files read last. A
// piece is a run of a file's row groups, and each read of one parsed the
// whole footer again: for a 2 GB file of 1,526 row groups, 85 ms a piece,
// 5 s of CPU over a job that reads its 32 pieces twice.
var footers = struct {
	sync.Mutex
	m map[footerKey]*metadata.FileMetaData
}{m: map[footerKey]*metadata.FileMetaData{}}

// footerKey is a file as it is now: a file written again is parsed again.
type footerKey struct {
	path        string
	size, mtime int64
	inode       uint64
}

// maxFooters bounds footers; past it, one is let go.
const maxFooters = 16

// openParquet opens a Parquet file with its footer parsed once for all
// the reads of it while it is unchanged.
func openParquet(path string) (*file.Reader, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	key := footerKey{path, st.Size(), st.ModTime().UnixNano(), inode(st)}
	footers.Lock()
	md := footers.m[key]
	footers.Unlock()
	if md != nil {
		return file.OpenParquetFile(path, false, file.WithMetadata(md))
	}
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, err
	}
	footers.Lock()
	if len(footers.m) >= maxFooters {
		for k := range footers.m {
			delete(footers.m, k)
			break
		}
	}
	md = pf.MetaData()
	// Readers sharing the footer only read it, but for the writer version,
	// which it works out on first use: worked out now, before it is shared.
	md.WriterVersion()
	footers.m[key] = md
	footers.Unlock()
	return pf, nil
}

// parquetBatch is how many rows a Parquet reader decodes at a time.
const parquetBatch = 64 << 10

// ReadParquetColumns reads the named columns (nil: every one) of row
// groups [first, last): Parquet stores columns apart, so the others are
// not even decompressed.
func ReadParquetColumns(ctx context.Context, path string, first, last int, columns []string) (*Table, error) {
	pf, err := openParquet(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer pf.Close()
	if first < 0 || last > pf.NumRowGroups() || first > last {
		return nil, fmt.Errorf("%s: row groups [%d, %d) of %d", path, first, last, pf.NumRowGroups())
	}
	props := pqarrow.ArrowReadProperties{BatchSize: parquetBatch}
	fr, err := pqarrow.NewFileReader(pf, props, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	all, err := arrowSchema(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	schema := all
	var cols []int // leaf columns, which for flat files are the fields
	if columns != nil {
		schema = make([]Field, len(columns))
		for i, name := range columns {
			j := fieldIndex(all, name)
			if j < 0 {
				return nil, fmt.Errorf("%s: no column %q", path, name)
			}
			schema[i], cols = all[j], append(cols, j)
		}
	} else {
		for j := range all {
			cols = append(cols, j)
		}
	}
	t := NewTable(schema)
	if first == last {
		return t, nil
	}
	var rows int64
	for g := first; g < last; g++ {
		rows += pf.MetaData().RowGroup(g).NumRows()
	}
	dicts := false
	for _, j := range cols {
		if all[j].Type == Text && smallDictionaries(pf.MetaData(), j, first, last) {
			props.SetReadDict(j, true)
			dicts = true
		}
	}
	if dicts {
		if fr, err = pqarrow.NewFileReader(pf, props, memory.DefaultAllocator); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	// Plain number columns are read straight into the table; the others
	// (text, times, unsigned and decimal numbers) through Arrow.
	var direct, viaArrow, arrowLeaves []int // table columns, and the leaves of the second
	for i, j := range cols {
		if directNumber(pf.MetaData().Schema.Column(j), s.Field(j).Type) {
			direct = append(direct, i)
		} else {
			viaArrow, arrowLeaves = append(viaArrow, i), append(arrowLeaves, j)
		}
	}
	t.Reserve(int(rows))
	var defs []int16
	for g := first; g < last; g++ {
		n := pf.MetaData().RowGroup(g).NumRows()
		for _, i := range direct {
			if defs, err = readNumbers(pf.RowGroup(g), cols[i], n, &t.Columns[i], defs); err != nil {
				return nil, fmt.Errorf("%s: row group %d: %w", path, g, err)
			}
		}
		if len(viaArrow) > 0 {
			if err := readRowGroup(ctx, fr, arrowLeaves, g, t, viaArrow); err != nil {
				return nil, fmt.Errorf("%s: row group %d: %w", path, g, err)
			}
		}
		t.Rows += int(n)
		for i := range t.Columns {
			if c := &t.Columns[i]; c.len() != t.Rows {
				return nil, fmt.Errorf("%s: row group %d: column %q has %d rows, the group %d", path, g, c.Name, c.len()-(t.Rows-int(n)), n)
			}
		}
	}
	return t, nil
}

// directNumber is whether a leaf column holds numbers readNumbers
// takes as Arrow would: float64, float32 and signed integers in their own
// physical type, flat.
func directNumber(c *schema.Column, t arrow.DataType) bool {
	if c.MaxRepetitionLevel() != 0 || c.MaxDefinitionLevel() > 1 {
		return false
	}
	switch t.ID() {
	case arrow.FLOAT64:
		return c.PhysicalType() == parquet.Types.Double
	case arrow.FLOAT32:
		return c.PhysicalType() == parquet.Types.Float
	case arrow.INT64:
		return c.PhysicalType() == parquet.Types.Int64
	case arrow.INT32, arrow.INT16, arrow.INT8:
		return c.PhysicalType() == parquet.Types.Int32
	}
	return false
}

// readNumbers reads leaf j of a row group of n rows into a Number column:
// float64 values decoded straight into Num, others through one buffer, a
// missing value NaN. Through Arrow, each batch was built as an array,
// copied into the column, and its buffers left to the collector: a third
// of reading the customers file. defs is a buffer for the definition
// levels, returned for the next call.
func readNumbers(rg *file.RowGroupReader, j int, n int64, c *Column, defs []int16) ([]int16, error) {
	cr, err := rg.Column(j)
	if err != nil {
		return defs, err
	}
	start := len(c.Num)
	c.Num = slices.Grow(c.Num, int(n))[:start+int(n)]
	dst := c.Num[start:]
	maxDef := cr.Descriptor().MaxDefinitionLevel()
	var levels []int16
	if maxDef > 0 {
		defs = slices.Grow(defs[:0], int(n))[:n]
		levels = defs
	}
	var rows int64
	var vals int
	switch cr := cr.(type) {
	case *file.Float64ColumnChunkReader:
		rows, vals, err = readBatches(cr, n, dst, levels)
	case *file.Float32ColumnChunkReader:
		rows, vals, err = readConverted(cr, n, dst, levels)
	case *file.Int64ColumnChunkReader:
		rows, vals, err = readConverted(cr, n, dst, levels)
	case *file.Int32ColumnChunkReader:
		rows, vals, err = readConverted(cr, n, dst, levels)
	default:
		return defs, fmt.Errorf("column %q: %T is not a number column", c.Name, cr)
	}
	if err != nil {
		return defs, fmt.Errorf("column %q: %w", c.Name, err)
	}
	if rows != n {
		return defs, fmt.Errorf("column %q: %d values in a row group of %d rows", c.Name, rows, n)
	}
	// The present values came packed at the front: spread them to their
	// rows, from the back so that none is overwritten before it moves.
	if int64(vals) < n {
		k := vals - 1
		for i := n - 1; i >= 0; i-- {
			if levels[i] == maxDef {
				dst[i] = dst[k]
				k--
			} else {
				dst[i] = math.NaN()
			}
		}
	}
	return defs, nil
}

// batchReader is a typed column chunk reader of Arrow's parquet/file.
type batchReader[T any] interface {
	ReadBatch(batchSize int64, values []T, defLvls, repLvls []int16) (int64, int, error)
}

// readBatches reads n rows of a column chunk: the present values packed
// at the front of vals, every row's definition level into levels (nil
// for a required column). It returns the rows and values read.
func readBatches[T any](r batchReader[T], n int64, vals []T, levels []int16) (rows int64, got int, err error) {
	for rows < n {
		var lv []int16
		if levels != nil {
			lv = levels[rows:]
		}
		nr, nv, err := r.ReadBatch(n-rows, vals[got:], lv, nil)
		if err != nil || nr == 0 {
			return rows, got, err
		}
		rows, got = rows+nr, got+nv
	}
	return rows, got, nil
}

// readConverted is readBatches for a type other than float64, through a
// buffer.
func readConverted[T int32 | int64 | float32](r batchReader[T], n int64, dst []float64, levels []int16) (int64, int, error) {
	buf := make([]T, n)
	rows, got, err := readBatches(r, n, buf, levels)
	for k, v := range buf[:got] {
		dst[k] = float64(v)
	}
	return rows, got, err
}

// readRowGroup adds one row group's leaves to the table columns into
// (one per leaf), leaving t.Rows to the caller. A reader per row group
// keeps every batch inside one: pqarrow cannot make one array of a batch
// whose dictionary-read column changes dictionary at a row group's end.
func readRowGroup(ctx context.Context, fr *pqarrow.FileReader, leaves []int, g int, t *Table, into []int) error {
	rr, err := fr.GetRecordReader(ctx, leaves, []int{g})
	if err != nil {
		return err
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.Record()
		if int(rec.NumCols()) != len(into) {
			return fmt.Errorf("record of %d columns for %d", rec.NumCols(), len(into))
		}
		for k, i := range into {
			if err := t.Columns[i].appendArrow(rec.Column(k)); err != nil {
				return err
			}
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// smallDictionaries is whether leaf column j of row groups [first, last)
// is worth reading as Arrow dictionaries: whether each chunk's dictionary
// is small beside the rows a batch reads from it. Arrow copies the whole
// dictionary into every batch and hashes each entry once per row group,
// which pays only when entries are much rarer than rows; a unique id
// column is dictionary-encoded too when row groups are small, and reading
// it so was 2.7 times slower than as strings. The footer does not count a
// dictionary's entries, so two bounds stand in for "at most a sixteenth of
// the rows": the dictionary page's stored bytes (from it to the first data
// page) at most a sixteenth of a batch's rows, and the chunk's
// uncompressed bytes at most 4 per value, which a mostly-distinct column
// cannot meet, as each of its dictionary's entries takes a 4-byte length
// before compression. The second is needed because compression understates
// a dictionary: the synthetic customers' sequential ids take a quarter of
// a byte each.
func smallDictionaries(md *metadata.FileMetaData, j, first, last int) bool {
	for g := first; g < last; g++ {
		cc, err := md.RowGroup(g).ColumnChunk(j)
		if err != nil || !cc.HasDictionaryPage() {
			return false
		}
		values := cc.NumValues()
		dictBytes := cc.DataPageOffset() - cc.DictionaryPageOffset()
		if dictBytes <= 0 || 16*dictBytes > min(values, parquetBatch) || cc.TotalUncompressedSize() > 4*values {
			return false
		}
	}
	return true
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
