package prepare

import "github.com/cohort/cohort/partition"

// eachChunk encodes rows [0, rows) partition.ChunkRows at a time into one
// reused buffer, hands each chunk's feature rows to use, and adds up the
// counts. No rows are encoded once, so the counts have their shape.
// Statistics and sums are added row by row in the same order as over the
// whole partition, so chunking changes no bit of them.
func eachChunk(rows int, encode func(lo, hi int, buf []float64) ([]float64, Counts), use func(features []float64)) Counts {
	var total Counts
	var buf []float64
	for lo := 0; lo == 0 || lo < rows; lo += partition.ChunkRows {
		features, cnt := encode(lo, min(lo+partition.ChunkRows, rows), buf[:0])
		use(features)
		total.Merge(cnt)
		buf = features
	}
	return total
}
