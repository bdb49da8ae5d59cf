package partition

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/float16"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// sampleTable has every column type with missing values.
func sampleTable(n, offset int) *Table {
	t := NewTable([]Field{{Name: "id", Type: Text}, {Name: "amount", Type: Number}, {Name: "at", Type: Time}})
	for i := range n {
		r := i + offset
		t.Columns[0].appendText("c"+itoa(r%97), r%11 == 0)
		v := float64(r) * 1.25
		if r%7 == 0 {
			v = math.NaN()
		}
		t.Columns[1].Num = append(t.Columns[1].Num, v)
		ms := int64(1_300_000_000_000 + r*86_400_000)
		if r%13 == 0 {
			ms = MissingTime
		}
		t.Columns[2].Times = append(t.Columns[2].Times, ms)
		t.Rows++
	}
	return t
}

// sameShape fails unless got has want's rows and columns.
func sameShape(t *testing.T, got, want *Table) {
	t.Helper()
	if got.Rows != want.Rows || len(got.Columns) != len(want.Columns) {
		t.Fatalf("%d rows × %d columns, want %d × %d", got.Rows, len(got.Columns), want.Rows, len(want.Columns))
	}
	for c := range want.Columns {
		if g, w := got.Columns[c].Field, want.Columns[c].Field; g != w {
			t.Fatalf("column %d: %+v, want %+v", c, g, w)
		}
	}
}

func sameRows(t *testing.T, got, want *Table) {
	t.Helper()
	sameShape(t, got, want)
	for c := range want.Columns {
		g, w := &got.Columns[c], &want.Columns[c]
		for i := range want.Rows {
			switch w.Type {
			case Number:
				if a, b := g.Num[i], w.Num[i]; a != b && !(math.IsNaN(a) && math.IsNaN(b)) {
					t.Fatalf("%s row %d: %v, want %v", w.Name, i, a, b)
				}
			case Time:
				if g.Times[i] != w.Times[i] {
					t.Fatalf("%s row %d: %v, want %v", w.Name, i, g.Times[i], w.Times[i])
				}
			case Text:
				a, aok := g.Text(i)
				b, bok := w.Text(i)
				if a != b || aok != bok {
					t.Fatalf("%s row %d: %q %v, want %q %v", w.Name, i, a, aok, b, bok)
				}
			}
		}
	}
}

func TestParquetRoundTripByRowGroups(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewParquetWriter(f, sampleTable(0, 0).Schema())
	if err != nil {
		t.Fatal(err)
	}
	parts := []*Table{sampleTable(1000, 0), sampleTable(10, 1000), sampleTable(2500, 1010)}
	for _, p := range parts {
		if err := w.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := InspectParquet(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.GroupRows) != 3 || info.GroupRows[1] != 10 || info.Schema[2].Type != Time {
		t.Fatalf("inspected %+v", info)
	}
	for g, p := range parts {
		got, err := ReadParquetColumns(context.Background(), path, g, g+1, nil)
		if err != nil {
			t.Fatal(err)
		}
		sameRows(t, got, p)
	}
	all, err := ReadParquetColumns(context.Background(), path, 0, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameRows(t, all, sampleTable(3510, 0))
	if _, err := ReadParquetColumns(context.Background(), path, 2, 4, nil); err == nil {
		t.Error("row groups past the end accepted")
	}
}

func TestArrowFileReadsNumbersOfEveryWidth(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32},
		{Name: "ok", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int32Builder).AppendValues([]int32{1, 0, -3}, []bool{true, false, true})
	b.Field(1).(*array.Float32Builder).AppendValues([]float32{0.5, 1.5, 2.5}, nil)
	b.Field(2).(*array.BooleanBuilder).AppendValues([]bool{true, false, true}, nil)
	b.Field(3).(*array.Date32Builder).AppendValues([]arrow.Date32{0, 1, 365}, nil)
	b.Field(4).(*array.StringBuilder).AppendValues([]string{"a", "", "a"}, []bool{true, false, true})
	rec := b.NewRecord()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "t.arrow")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	tab, err := ReadArrowFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i32, ok, day, name := tab.Column("i32"), tab.Column("ok"), tab.Column("day"), tab.Column("name")
	if tab.Rows != 3 || i32.Num[0] != 1 || !math.IsNaN(i32.Num[1]) || i32.Num[2] != -3 || ok.Num[1] != 0 || day.Times[2] != 365*86_400_000 {
		t.Fatalf("read %+v %+v %+v", i32.Num, ok.Num, day.Times)
	}
	if s, present := name.Text(1); present || s != "" || len(name.Dict) != 1 {
		t.Fatalf("name %v %v", name.Codes, name.Dict)
	}
}

// customersTable is shaped like the synthetic customers file: a unique
// text id, three low-cardinality text columns (one with missing values) and
// five numbers with missing values.
func customersTable(r *rand.Rand, first, n int) *Table {
	t := NewTable([]Field{
		{Name: "CustomerID", Type: Text}, {Name: "Gender", Type: Text}, {Name: "Country", Type: Text}, {Name: "Channel", Type: Text},
		{Name: "Age", Type: Number}, {Name: "Income", Type: Number}, {Name: "Orders", Type: Number}, {Name: "TotalSpend", Type: Number}, {Name: "DaysSinceLastOrder", Type: Number},
	})
	countries := []string{"United Kingdom", "Germany", "France", "Ireland", "Spain", "Netherlands", "Belgium",
		"Switzerland", "Portugal", "Australia", "Norway", "Italy", "Sweden", "Denmark", "Poland", "Austria",
		"Finland", "Japan", "Canada", "USA"}
	for i := range n {
		t.Columns[0].appendText(fmt.Sprintf("C%09d", first+i), false)
		t.Columns[1].appendText([]string{"F", "M", "X"}[r.IntN(3)], r.IntN(50) == 0)
		t.Columns[2].appendText(countries[min(r.IntN(len(countries)), r.IntN(len(countries)))], false)
		t.Columns[3].appendText([]string{"web", "store", "app", "phone"}[r.IntN(4)], false)
		for c := 4; c < 9; c++ {
			v := math.Round(r.ExpFloat64()*1000) / 100
			if r.IntN(20) == 0 {
				v = math.NaN()
			}
			t.Columns[c].Num = append(t.Columns[c].Num, v)
		}
		t.Rows++
	}
	return t
}

// BenchmarkReadParquet reads a customers-like file of Cohort's writer in
// row groups as the generator makes them.
func BenchmarkReadParquet(b *testing.B) {
	const rows, group = 300_000, 1 << 16
	path := filepath.Join(b.TempDir(), "customers.parquet")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	w, err := NewParquetWriter(f, customersTable(r, 0, 0).Schema())
	if err != nil {
		b.Fatal(err)
	}
	for first := 0; first < rows; first += group {
		if err := w.Write(customersTable(r, first, min(group, rows-first))); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	info, err := InspectParquet(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		t, err := ReadParquetColumns(context.Background(), path, 0, len(info.GroupRows), nil)
		if err != nil {
			b.Fatal(err)
		}
		if t.Rows != rows {
			b.Fatalf("%d rows", t.Rows)
		}
	}
}

// appendPerValue is appendArrow as it was before it converted whole arrays
// and mapped dictionaries: a type switch per value and a string per text
// row. It is the reference the faster reading must equal.
func appendPerValue(c *Column, a arrow.Array) error {
	n := a.Len()
	switch c.Type {
	case Number:
		for i := range n {
			v := math.NaN()
			if a.IsValid(i) {
				v = numberPerValue(a, i)
			}
			c.Num = append(c.Num, v)
		}
	case Time:
		for i := range n {
			ms := int64(MissingTime)
			if a.IsValid(i) {
				ms = millisPerValue(a, i)
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

func numberPerValue(a arrow.Array, i int) float64 {
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

func millisPerValue(a arrow.Array, i int) int64 {
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

// readParquetPerValue is ReadParquetColumns as it was: every text column
// read as strings, one record reader over all the row groups, and
// appendPerValue.
func readParquetPerValue(t *testing.T, path string, first, last int, columns []string) *Table {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	s, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	schema, err := arrowSchema(s)
	if err != nil {
		t.Fatal(err)
	}
	var cols []int
	if columns != nil {
		fields := make([]Field, len(columns))
		for i, name := range columns {
			j := fieldIndex(schema, name)
			fields[i], cols = schema[j], append(cols, j)
		}
		schema = fields
	}
	tab := NewTable(schema)
	groups := make([]int, last-first)
	for i := range groups {
		groups[i] = first + i
	}
	rr, err := fr.GetRecordReader(context.Background(), cols, groups)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.Record()
		for i := range tab.Columns {
			if err := appendPerValue(&tab.Columns[i], rec.Column(i)); err != nil {
				t.Fatal(err)
			}
		}
		tab.Rows += int(rec.NumRows())
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return tab
}

// identical fails unless got holds want's values bit for bit, its text
// codes and dictionaries included.
func identical(t *testing.T, got, want *Table) {
	t.Helper()
	sameShape(t, got, want)
	for c := range want.Columns {
		g, w := &got.Columns[c], &want.Columns[c]
		if len(g.Num) != len(w.Num) || len(g.Codes) != len(w.Codes) || len(g.Times) != len(w.Times) || len(g.Dict) != len(w.Dict) {
			t.Fatalf("%s: %d numbers, %d codes, %d times, %d entries; want %d, %d, %d, %d", w.Name,
				len(g.Num), len(g.Codes), len(g.Times), len(g.Dict), len(w.Num), len(w.Codes), len(w.Times), len(w.Dict))
		}
		for i := range w.Num {
			if math.Float64bits(g.Num[i]) != math.Float64bits(w.Num[i]) {
				t.Fatalf("%s row %d: %v, want %v", w.Name, i, g.Num[i], w.Num[i])
			}
		}
		for i := range w.Times {
			if g.Times[i] != w.Times[i] {
				t.Fatalf("%s row %d: %d, want %d", w.Name, i, g.Times[i], w.Times[i])
			}
		}
		for i := range w.Codes {
			if g.Codes[i] != w.Codes[i] {
				t.Fatalf("%s row %d: code %d, want %d", w.Name, i, g.Codes[i], w.Codes[i])
			}
		}
		for i := range w.Dict {
			if g.Dict[i] != w.Dict[i] {
				t.Fatalf("%s entry %d: %q, want %q", w.Name, i, g.Dict[i], w.Dict[i])
			}
		}
	}
}

// usesDictionaries fails unless exactly the named columns of the file's
// row groups [first, last) are chosen to be read as dictionaries.
func usesDictionaries(t *testing.T, path string, first, last int, want ...string) {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	var got []string
	for j := range pf.MetaData().Schema.NumColumns() {
		if smallDictionaries(pf.MetaData(), j, first, last) {
			got = append(got, pf.MetaData().Schema.Column(j).Name())
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("groups [%d, %d) read %v as dictionaries, want %v", first, last, got, want)
	}
}

// A file of Cohort's own writer reads the same as before: its few-valued
// text columns as dictionaries, its ids as strings.
func TestParquetReadsAsPerValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "customers.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	w, err := NewParquetWriter(f, customersTable(r, 0, 0).Schema())
	if err != nil {
		t.Fatal(err)
	}
	first := 0
	for _, n := range []int{70_000, 6000, 30_000, 500} {
		if err := w.Write(customersTable(r, first, n)); err != nil {
			t.Fatal(err)
		}
		first += n
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	usesDictionaries(t, path, 0, 3, "Gender", "Country", "Channel")
	usesDictionaries(t, path, 0, 4) // the last group is too small to be worth it
	for _, c := range []struct {
		first, last int
		columns     []string
	}{
		{0, 3, nil}, {0, 4, nil}, {1, 3, []string{"Channel", "Income", "CustomerID", "Gender"}}, {2, 2, nil},
	} {
		got, err := ReadParquetColumns(context.Background(), path, c.first, c.last, c.columns)
		if err != nil {
			t.Fatal(err)
		}
		identical(t, got, readParquetPerValue(t, path, c.first, c.last, c.columns))
	}
}

// everyType is a record of every column type Cohort reads, with missing
// values in each. Its text columns' values change with the seed; "tag" is
// an Arrow dictionary that lists its values backwards, with some that no
// row uses.
func everyType(seed uint64, first, n int) arrow.Record {
	mem := memory.DefaultAllocator
	r := rand.New(rand.NewPCG(seed, 7))
	null := func() bool { return r.IntN(9) == 0 }
	var fields []arrow.Field
	var cols []arrow.Array
	add := func(name string, typ arrow.DataType, value func(b array.Builder)) {
		b := array.NewBuilder(mem, typ)
		defer b.Release()
		for range n {
			if null() {
				b.AppendNull()
			} else {
				value(b)
			}
		}
		fields = append(fields, arrow.Field{Name: name, Type: typ, Nullable: true})
		cols = append(cols, b.NewArray())
	}
	row := first
	add("id", arrow.BinaryTypes.String, func(b array.Builder) {
		row++
		b.(*array.StringBuilder).Append(fmt.Sprintf("u%07d", row))
	})
	add("tier", arrow.BinaryTypes.String, func(b array.Builder) {
		b.(*array.StringBuilder).Append(fmt.Sprintf("tier%d", int(seed)+r.IntN(5)))
	})
	tags := []string{"never", "tag9", "tag8", "tag7", "tag6", "tag5", "tag4", "tag3", "tag2", "tag1", "unused"}
	dict := array.NewStringBuilder(mem)
	dict.AppendValues(tags, nil)
	indices := array.NewInt16Builder(mem)
	for range n {
		if null() {
			indices.AppendNull()
		} else {
			indices.Append(int16(1 + (int(seed)+r.IntN(4))%9))
		}
	}
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}
	fields = append(fields, arrow.Field{Name: "tag", Type: dt, Nullable: true})
	cols = append(cols, array.NewDictionaryArray(dt, indices.NewArray(), dict.NewArray()))
	add("i8", arrow.PrimitiveTypes.Int8, func(b array.Builder) { b.(*array.Int8Builder).Append(int8(r.Uint32())) })
	add("i16", arrow.PrimitiveTypes.Int16, func(b array.Builder) { b.(*array.Int16Builder).Append(int16(r.Uint32())) })
	add("i32", arrow.PrimitiveTypes.Int32, func(b array.Builder) { b.(*array.Int32Builder).Append(int32(r.Uint32())) })
	add("i64", arrow.PrimitiveTypes.Int64, func(b array.Builder) { b.(*array.Int64Builder).Append(int64(r.Uint64())) })
	add("u8", arrow.PrimitiveTypes.Uint8, func(b array.Builder) { b.(*array.Uint8Builder).Append(uint8(r.Uint32())) })
	add("u16", arrow.PrimitiveTypes.Uint16, func(b array.Builder) { b.(*array.Uint16Builder).Append(uint16(r.Uint32())) })
	add("u32", arrow.PrimitiveTypes.Uint32, func(b array.Builder) { b.(*array.Uint32Builder).Append(r.Uint32()) })
	add("u64", arrow.PrimitiveTypes.Uint64, func(b array.Builder) { b.(*array.Uint64Builder).Append(r.Uint64()) })
	add("f16", arrow.FixedWidthTypes.Float16, func(b array.Builder) {
		b.(*array.Float16Builder).Append(float16.New(float32(r.NormFloat64() * 100)))
	})
	add("f32", arrow.PrimitiveTypes.Float32, func(b array.Builder) { b.(*array.Float32Builder).Append(float32(r.NormFloat64())) })
	add("f64", arrow.PrimitiveTypes.Float64, func(b array.Builder) {
		v := r.NormFloat64() * 1e6
		if r.IntN(50) == 0 {
			v = math.Inf(1)
		}
		b.(*array.Float64Builder).Append(v)
	})
	for _, typ := range []arrow.DataType{arrow.PrimitiveTypes.Float64, arrow.PrimitiveTypes.Int64} { // required: no definition levels
		b := array.NewBuilder(mem, typ)
		for range n {
			switch b := b.(type) {
			case *array.Float64Builder:
				b.Append(r.NormFloat64())
			case *array.Int64Builder:
				b.Append(r.Int64N(1e6))
			}
		}
		fields = append(fields, arrow.Field{Name: "required_" + typ.Name(), Type: typ})
		cols = append(cols, b.NewArray())
		b.Release()
	}
	add("ok", arrow.FixedWidthTypes.Boolean, func(b array.Builder) { b.(*array.BooleanBuilder).Append(r.IntN(2) == 0) })
	add("price", &arrow.Decimal128Type{Precision: 18, Scale: 3}, func(b array.Builder) {
		b.(*array.Decimal128Builder).Append(decimal128.FromI64(r.Int64N(1e15) - 5e14))
	})
	for _, unit := range []arrow.TimeUnit{arrow.Second, arrow.Millisecond, arrow.Microsecond, arrow.Nanosecond} {
		span := int64(4e9) * int64(math.Pow10(3*int(unit)))
		add(unit.String(), &arrow.TimestampType{Unit: unit, TimeZone: "UTC"}, func(b array.Builder) {
			b.(*array.TimestampBuilder).Append(arrow.Timestamp(r.Int64N(span) - span/2))
		})
	}
	add("day", arrow.FixedWidthTypes.Date32, func(b array.Builder) { b.(*array.Date32Builder).Append(arrow.Date32(r.IntN(40_000) - 20_000)) })
	add("day64", arrow.FixedWidthTypes.Date64, func(b array.Builder) {
		b.(*array.Date64Builder).Append(arrow.Date64(86_400_000 * int64(r.IntN(40_000)-20_000)))
	})
	rec := array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// A file of Arrow's writer with every column type, missing values in each,
// and row groups whose dictionaries differ (and one that lists entries out
// of order and some that are never used) reads the same as before, whole
// or in part.
func TestArrowWrittenParquetReadsAsPerValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "every.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{70_000, 9000, 30_000}
	recs := make([]arrow.Record, len(sizes))
	first := 0
	for g, n := range sizes {
		recs[g] = everyType(uint64(g), first, n)
		defer recs[g].Release()
		first += n
	}
	props := parquet.NewWriterProperties(parquet.WithDictionaryDefault(true), parquet.WithCompression(compress.Codecs.Snappy))
	fw, err := pqarrow.NewFileWriter(recs[0].Schema(), f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if err := fw.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	usesDictionaries(t, path, 0, 3, "tier", "tag")
	usesDictionaries(t, path, 1, 2, "tier", "tag")
	// Which columns skip Arrow: the plain numbers, not the unsigned,
	// half-width, boolean or decimal ones, whose conversion Arrow owns.
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	var direct []string
	for j, f := range recs[0].Schema().Fields() {
		if directNumber(pf.MetaData().Schema.Column(j), f.Type) {
			direct = append(direct, f.Name)
		}
	}
	if want := []string{"i8", "i16", "i32", "i64", "f32", "f64", "required_float64", "required_int64"}; !slices.Equal(direct, want) {
		t.Fatalf("read directly: %v, want %v", direct, want)
	}
	for _, c := range []struct {
		first, last int
		columns     []string
	}{
		{0, 3, nil}, {1, 3, nil}, {2, 3, []string{"ns", "tag", "day"}},
	} {
		got, err := ReadParquetColumns(context.Background(), path, c.first, c.last, c.columns)
		if err != nil {
			t.Fatal(err)
		}
		identical(t, got, readParquetPerValue(t, path, c.first, c.last, c.columns))
	}
}

// appendArrow on arrays held in memory, as an Arrow IPC file gives them,
// agrees with the per-value reading: slices that start inside their
// buffers, dictionaries of other index types, one dictionary shared by
// several arrays, a null dictionary entry, and a dictionary so nearly
// distinct that the column stops deduplicating in the middle of an array.
func TestAppendArrowAsPerValue(t *testing.T) {
	rec := everyType(9, 0, 3000)
	defer rec.Release()
	var arrays []arrow.Array
	for i := range int(rec.NumCols()) {
		arrays = append(arrays, rec.Column(i), array.NewSlice(rec.Column(i), 5, 2000), array.NewSlice(rec.Column(i), 2001, 2001))
	}
	mem := memory.DefaultAllocator
	dict := array.NewStringBuilder(mem)
	for i := range 70_000 {
		if i == 3 {
			dict.AppendNull()
			continue
		}
		dict.Append(fmt.Sprintf("d%d", i%69_000))
	}
	dictionary := dict.NewArray()
	r := rand.New(rand.NewPCG(1, 1))
	next := 0
	for _, size := range []int{1000, 50_000, 20_000, 30_000} {
		b := array.NewUint32Builder(mem)
		for i := range size {
			switch {
			case r.IntN(50) == 0:
				b.AppendNull()
			case size == 1000:
				b.Append(uint32(r.IntN(5)))
			case size == 20_000 && i >= distinctProbe-51_000-10 && i < distinctProbe-51_000+10:
				b.Append(0) // the probe falls on entries already coded
			default:
				b.Append(uint32(next % 70_000))
				next++
			}
		}
		dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Uint32, ValueType: arrow.BinaryTypes.String}
		arrays = append(arrays, array.NewDictionaryArray(dt, b.NewArray(), dictionary))
	}
	small := array.NewDictionaryArray(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Uint32, ValueType: arrow.BinaryTypes.String},
		arrays[len(arrays)-4].(*array.Dictionary).Indices(), dictionary)
	arrays = append(arrays, array.NewSlice(small, 100, 900), small)
	for _, a := range arrays {
		f, err := arrowField(arrow.Field{Name: "c", Type: a.DataType()})
		if err != nil {
			t.Fatal(err)
		}
		got, want := NewTable([]Field{f}), NewTable([]Field{f})
		for range 2 {
			if err := got.Columns[0].appendArrow(a); err != nil {
				t.Fatal(err)
			}
			if err := appendPerValue(&want.Columns[0], a); err != nil {
				t.Fatal(err)
			}
			got.Rows += a.Len()
			want.Rows += a.Len()
		}
		identical(t, got, want)
	}
	// The dictionaries in a row, in one column, as an IPC file's batches.
	f := Field{Name: "c", Type: Text}
	got, want := NewTable([]Field{f}), NewTable([]Field{f})
	for _, a := range arrays[len(arrays)-6:] {
		if err := got.Columns[0].appendArrow(a); err != nil {
			t.Fatal(err)
		}
		if err := appendPerValue(&want.Columns[0], a); err != nil {
			t.Fatal(err)
		}
		got.Rows += a.Len()
		want.Rows += a.Len()
	}
	identical(t, got, want)
	if got.Columns[0].index != nil {
		t.Error("a column of mostly distinct values kept its index")
	}
}

// Reads of one file share its parsed footer, at once from many goroutines
// (run under -race in CI), and a file replaced by another is parsed again.
func TestParquetFooterParsedOncePerFileVersion(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.parquet")
	write := func(rows int) {
		tab := NewTable([]Field{{Name: "x", Type: Number}})
		for i := range rows {
			tab.Columns[0].Num = append(tab.Columns[0].Num, float64(i))
		}
		tab.Rows = rows
		tmp := filepath.Join(dir, "new.parquet")
		f, err := os.Create(tmp)
		if err != nil {
			t.Fatal(err)
		}
		w, err := NewParquetWriter(f, tab.Schema())
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(tab); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	cached := func() (n int, md any) {
		footers.Lock()
		defer footers.Unlock()
		for k, v := range footers.m {
			if k.path == path {
				n, md = n+1, v
			}
		}
		return n, md
	}
	write(10)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tab, err := ReadParquetColumns(context.Background(), path, 0, 1, nil)
			if err != nil || tab.Rows != 10 {
				t.Errorf("read %v rows, %v", tab, err)
			}
		}()
	}
	wg.Wait()
	n, first := cached()
	if _, err := ReadParquetColumns(context.Background(), path, 0, 1, nil); err != nil {
		t.Fatal(err)
	}
	if again, md := cached(); n != 1 || again != 1 || md != first {
		t.Fatalf("%d then %d footers cached for one unchanged file", n, again)
	}
	write(25)
	tab, err := ReadParquetColumns(context.Background(), path, 0, 1, nil)
	if err != nil || tab.Rows != 25 {
		t.Fatalf("after the file was replaced: %v, %v", tab, err)
	}
}

// An array that counts nulls but has no validity bitmap (what an IPC file
// with a null count and an empty validity buffer gives) reads as every
// value present, as Arrow's IsValid and the per-value reading take it:
// not a panic, which would end the worker.
func TestAppendArrowWithoutABitmapReadsEveryValue(t *testing.T) {
	none := memory.NewBufferBytes(nil)
	nums := memory.NewBufferBytes(arrow.Float64Traits.CastToBytes([]float64{1, 2, 3}))
	days := memory.NewBufferBytes(arrow.Date32Traits.CastToBytes([]arrow.Date32{1, 2, 3}))
	dict := array.NewStringBuilder(memory.DefaultAllocator)
	dict.AppendValues([]string{"a", "b"}, nil)
	entries := dict.NewArray()
	codes := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes([]int32{1, 0, 1}))
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	for _, a := range []arrow.Array{
		array.NewFloat64Data(array.NewData(arrow.PrimitiveTypes.Float64, 3, []*memory.Buffer{none, nums}, nil, 1, 0)),
		array.NewDate32Data(array.NewData(arrow.FixedWidthTypes.Date32, 3, []*memory.Buffer{none, days}, nil, 1, 0)),
		array.NewDictionaryData(array.NewDataWithDictionary(dt, 3, []*memory.Buffer{none, codes}, 1, 0, entries.Data().(*array.Data))),
	} {
		f, err := arrowField(arrow.Field{Name: "c", Type: a.DataType()})
		if err != nil {
			t.Fatal(err)
		}
		got, want := NewTable([]Field{f}), NewTable([]Field{f})
		if err := got.Columns[0].appendArrow(a); err != nil {
			t.Fatal(err)
		}
		if err := appendPerValue(&want.Columns[0], a); err != nil {
			t.Fatal(err)
		}
		got.Rows, want.Rows = a.Len(), a.Len()
		identical(t, got, want)
	}
}
