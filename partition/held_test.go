package partition

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// A prepared dataset made From a raw one is built from the raw tables a
// node holds, reading nothing, and keeps them for Reread; a partition the
// node does not hold is read from the source, counted, and kept too.
// Without From, Reread reads the source again and counts it.
func TestPreparedFromHeldRawTables(t *testing.T) {
	fs := idsAndX(t)
	var err error
	open := func(s Spec, held func(string, int) *Block) Source {
		src, err := Open(s, Env{Prepare: func(json.RawMessage) (Preparer, error) { return dropThirds{}, nil }, Held: held})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	raw := open(Spec{Files: fs, Columns: []string{"x", "id"}}, nil)
	kept := map[int]*Block{}
	for _, id := range []int{0, 2} {
		if kept[id], err = raw.Load(context.Background(), id); err != nil || kept[id].BytesRead != fs.Pieces[id].Bytes || kept[id].BytesRead == 0 {
			t.Fatalf("raw piece %d: %v, %d bytes read of %d", id, err, kept[id].BytesRead, fs.Pieces[id].Bytes)
		}
	}
	held := func(name string, id int) *Block {
		if name != "job/raw" {
			return nil
		}
		return kept[id]
	}
	prepared := open(Spec{Files: fs, Prepare: json.RawMessage(`{}`), From: "job/raw", Columns: []string{"id"}}, held)
	for id := range fs.Pieces {
		blk, err := prepared.Load(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		wantRead := int64(0)
		if kept[id] == nil {
			wantRead = fs.Pieces[id].Bytes
		}
		if !blk.SumExact || !sumExact(blk) {
			t.Fatalf("piece %d: a prepared block not quantized", id)
		}
		if blk.BytesRead != wantRead || blk.Rereads != nil || blk.Table == nil {
			t.Fatalf("piece %d: %d bytes read (want %d), rereads %v, table %v", id, blk.BytesRead, wantRead, blk.Rereads, blk.Table != nil)
		}
		if kept[id] != nil && blk.Table != kept[id].Table {
			t.Fatalf("piece %d: prepared from a copy, not the held table", id)
		}
		ids, err := blk.Reread(context.Background(), []string{"id"})
		if err != nil || ids.Rows != blk.Table.Rows || ids.Column("id") == nil {
			t.Fatalf("piece %d: reread %v", id, err)
		}
		// Every kept row's features are its x, as a read from the file gives.
		for r, i := range blk.IDs {
			if x := blk.Table.Column("x").Num[i]; float64(blk.Row(r)[0]) != x || int(x)%3 == 0 {
				t.Fatalf("piece %d row %d: feature %v of x %v", id, r, blk.Row(r)[0], x)
			}
		}
	}
	plain := open(Spec{Files: fs, Prepare: json.RawMessage(`{}`)}, held)
	blk, err := plain.Load(context.Background(), 1)
	if err != nil || blk.Table != nil || blk.Rereads == nil {
		t.Fatalf("without From: %v, table %v", err, blk.Table != nil)
	}
	if _, err := blk.Reread(context.Background(), []string{"id"}); err != nil || blk.Rereads.Load() != fs.Pieces[1].Bytes {
		t.Fatalf("reread %v, %d bytes counted of %d", err, blk.Rereads.Load(), fs.Pieces[1].Bytes)
	}
	if !slices.Equal(union([]string{"a", "b"}, []string{"b", "c"}), []string{"a", "b", "c"}) {
		t.Fatal("union")
	}
}

// Consuming, the prepared blocks are made from the held tables, which the
// node lets go (Take), and keep none: Reread reads the source again and
// counts it. A partition the node does not hold is read from the source.
func TestPreparedConsumesHeldRawTables(t *testing.T) {
	fs := idsAndX(t)
	var err error
	prep := func(json.RawMessage) (Preparer, error) { return dropThirds{}, nil }
	raw, err := Open(Spec{Files: fs, Columns: []string{"x", "id"}}, Env{Prepare: prep})
	if err != nil {
		t.Fatal(err)
	}
	kept := map[int]*Block{}
	for _, id := range []int{0, 2} {
		if kept[id], err = raw.Load(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	take := func(name string, id int) *Block {
		b := kept[id]
		delete(kept, id)
		return b
	}
	spec := Spec{Files: fs, Prepare: json.RawMessage(`{}`), From: "job/raw", Consume: true}
	if _, err := Open(spec, Env{Prepare: prep, Held: take}); err == nil {
		t.Fatal("a consuming dataset opened with no way to take the tables")
	}
	if _, err := Open(Spec{Files: fs, Prepare: json.RawMessage(`{}`), Consume: true}, Env{Prepare: prep, Held: take, Take: take}); err == nil {
		t.Fatal("Consume without From was accepted")
	}
	src, err := Open(spec, Env{Prepare: prep, Held: func(string, int) *Block { t.Fatal("held, not taken"); return nil }, Take: take})
	if err != nil {
		t.Fatal(err)
	}
	for id := range fs.Pieces {
		wasHeld := kept[id] != nil
		blk, err := src.Load(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if kept[id] != nil || blk.Table != nil || blk.Rereads == nil {
			t.Fatalf("piece %d: still held %v, table %v, rereads %v", id, kept[id] != nil, blk.Table != nil, blk.Rereads)
		}
		if wantRead := map[bool]int64{true: 0, false: fs.Pieces[id].Bytes}[wasHeld]; blk.BytesRead != wantRead {
			t.Fatalf("piece %d: %d bytes read, want %d", id, blk.BytesRead, wantRead)
		}
		ids, err := blk.Reread(context.Background(), []string{"id", "x"})
		if err != nil || blk.Rereads.Load() != fs.Pieces[id].Bytes {
			t.Fatalf("piece %d: reread %v, %d bytes counted of %d", id, err, blk.Rereads.Load(), fs.Pieces[id].Bytes)
		}
		for r, i := range blk.IDs {
			if x := ids.Column("x").Num[i]; float64(blk.Row(r)[0]) != x {
				t.Fatalf("piece %d row %d: feature %v of x %v", id, r, blk.Row(r)[0], x)
			}
		}
	}
}

// idsAndX is a CSV of 3000 rows (id, x) planned into several pieces.
func idsAndX(t *testing.T) *FileSet {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,x\n")
	for r := range 3000 {
		fmt.Fprintf(&b, "c%d,%d\n", r, r)
	}
	fs, err := PlanFiles(writeFile(t, "d.csv", b.String()), CSVHints{}, 8<<10)
	if err != nil || len(fs.Pieces) < 3 {
		t.Fatalf("%d pieces, %v", len(fs.Pieces), err)
	}
	return fs
}
