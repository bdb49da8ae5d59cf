package prepare

// chunkRows is how many rows a pass over a partition encodes at a time:
// a whole partition's float64 features would be twice its float32 block,
// freshly allocated, and faulting fresh memory in costs more than filling
// it. Statistics and sums are added row by row in the same order either
// way, so chunking changes no bit of them.
const chunkRows = 1 << 14

// eachChunk encodes rows [0, rows) a chunk at a time into one reused
// buffer, hands each chunk's feature rows to use, and adds up the counts.
// No rows are encoded once, so the counts have their shape.
func eachChunk(rows int, encode func(lo, hi int, buf []float64) ([]float64, Counts), use func(features []float64)) Counts {
	var total Counts
	var buf []float64
	for lo := 0; lo == 0 || lo < rows; lo += chunkRows {
		features, cnt := encode(lo, min(lo+chunkRows, rows), buf[:0])
		use(features)
		total.Merge(cnt)
		buf = features
	}
	return total
}
