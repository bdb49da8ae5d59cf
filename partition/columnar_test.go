package partition

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
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

func sameRows(t *testing.T, got, want *Table) {
	t.Helper()
	if got.Rows != want.Rows || len(got.Columns) != len(want.Columns) {
		t.Fatalf("%d rows × %d columns, want %d × %d", got.Rows, len(got.Columns), want.Rows, len(want.Columns))
	}
	for c := range want.Columns {
		g, w := &got.Columns[c], &want.Columns[c]
		if g.Field != w.Field {
			t.Fatalf("column %d: %+v, want %+v", c, g.Field, w.Field)
		}
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
