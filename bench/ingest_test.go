package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cohort/cohort/bench/synth"
	"github.com/cohort/cohort/partition"
)

// BenchmarkIngest reads a synthetic customers file (200,000 rows of ten
// mixed columns, missing values, long-tailed money) into a typed table on
// one goroutine, as a worker reads a partition: bytes are the file's, so
// MB/s is ingest speed per core for that format; rows/s is comparable
// across formats.
func BenchmarkIngest(b *testing.B) {
	const rows = 200_000
	dir := b.TempDir()
	table := synth.Customers(1, 0, 0, rows)
	for _, ext := range []string{".csv", ".csv.gz", ".parquet"} {
		path := filepath.Join(dir, "customers"+ext)
		w, err := partition.CreateTable(path, table.Schema())
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Write(table); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		// Sniffing is the coordinator's, once per file, not a partition's.
		var format partition.CSVFormat
		var schema []partition.Field
		if ext != ".parquet" {
			if format, schema, err = partition.SniffCSV(path, partition.CSVHints{}); err != nil {
				b.Fatal(err)
			}
		}
		b.Run("format="+ext[1:], func(b *testing.B) {
			b.SetBytes(st.Size())
			for b.Loop() {
				var got *partition.Table
				if ext == ".parquet" {
					pf, err := partition.InspectParquet(path)
					if err != nil {
						b.Fatal(err)
					}
					if got, err = partition.ReadParquetColumns(context.Background(), path, 0, len(pf.GroupRows), nil); err != nil {
						b.Fatal(err)
					}
				} else {
					var rejects []partition.Reject
					var err error
					if got, _, rejects, err = partition.ReadCSVRange(path, format, schema, 0, -1); err != nil || len(rejects) > 0 {
						b.Fatal(err, rejects)
					}
				}
				if got.Rows != rows {
					b.Fatalf("%d rows read, want %d", got.Rows, rows)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
