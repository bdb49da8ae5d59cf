package prepare

import (
	"encoding/binary"
	"math"
	"reflect"
	"testing"

	"github.com/cohort/cohort/partition"
)

// Column statistics survive the wire exactly, and every truncation of
// their bytes, and a negative count, is an error rather than a panic.
func TestStatsWireRoundTripAndRefusals(t *testing.T) {
	tab := partition.NewTable([]partition.Field{{Name: "n", Type: partition.Number}, {Name: "c", Type: partition.Text}, {Name: "e", Type: partition.Number}})
	for i := range 500 {
		v := float64(i%37) * 1.5
		if i%11 == 0 {
			v = math.NaN()
		}
		tab.Columns[0].Num = append(tab.Columns[0].Num, v)
		tab.Columns[1].Codes = append(tab.Columns[1].Codes, int32(i%3))
		tab.Columns[2].Num = append(tab.Columns[2].Num, math.NaN()) // no values: no extremes
	}
	tab.Columns[1].Dict = []string{"a", "b", "c"}
	tab.Rows = 500
	stats := Stats(tab)
	data, err := MarshalStats(stats)
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalStats(data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := MarshalStats(back)
	if !reflect.DeepEqual(data, again) || back[0].Sketch.Quantile(0.5) != stats[0].Sketch.Quantile(0.5) ||
		!reflect.DeepEqual(back[1].Categories, stats[1].Categories) || !math.IsInf(back[2].Min, 1) {
		t.Fatalf("round trip changed the statistics:\n%+v\n%+v", stats, back)
	}
	for n := range len(data) {
		if _, err := UnmarshalStats(data[:n]); err == nil {
			t.Fatalf("decoded %d of %d bytes without error", n, len(data))
		}
	}
	bad := []byte{statsVersion}
	bad = binary.AppendUvarint(bad, 1)
	bad = binary.AppendVarint(bad, -1)
	bad = append(bad, make([]byte, 40)...)
	if _, err := UnmarshalStats(bad); err == nil {
		t.Fatal("decoded a negative count")
	}
	if _, err := UnmarshalStats(append([]byte{statsVersion + 1}, data[1:]...)); err == nil {
		t.Fatal("decoded another version")
	}
}
