package bench

import (
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/cohort/cohort/partition"
)

// memReadPasses is odd so the median is one measured pass.
const memReadPasses = 5

// MemoryRead is the time to read a dataset's blocks once from memory: the
// floor under a Lloyd iteration, which must read every row at least once.
type MemoryRead struct {
	Bytes   int64
	Seconds float64 // median of memReadPasses passes
	Sum     uint64  // the words' sum, kept so no pass can be optimised away
}

// GBps is the read bandwidth in decimal gigabytes per second.
func (m MemoryRead) GBps() float64 { return float64(m.Bytes) / m.Seconds / 1e9 }

// readMemory times full passes over the Data of blocks (rows × stride
// float32, padding included, because a Lloyd pass streams the same bytes).
func readMemory(blocks []*partition.Block) MemoryRead {
	words := make([][]uint64, 0, len(blocks))
	var bytes int64
	for _, b := range blocks {
		if len(b.Data) == 0 {
			continue
		}
		// A stride is a multiple of 8 floats, so Data holds whole 64-bit
		// words, and Go aligns allocations of 8 bytes or more to 8.
		words = append(words, unsafe.Slice((*uint64)(unsafe.Pointer(&b.Data[0])), len(b.Data)/2))
		bytes += int64(len(b.Data)) * 4
	}
	m := MemoryRead{Bytes: bytes}
	times := make([]float64, memReadPasses)
	for i := range times {
		t := time.Now()
		m.Sum = sumWordsParallel(words, runtime.GOMAXPROCS(0))
		times[i] = time.Since(t).Seconds()
	}
	m.Seconds = median(times)
	return m
}

// sumWordsParallel adds every word with wrap-around, split evenly by words
// (not by block) over threads goroutines, so a dataset of fewer blocks than
// cores still uses every core. Addition mod 2⁶⁴ is order-free, so the sum
// does not depend on the split.
func sumWordsParallel(slices [][]uint64, threads int) uint64 {
	var total int
	for _, s := range slices {
		total += len(s)
	}
	threads = max(1, min(threads, total))
	sums := make([]uint64, threads)
	var wg sync.WaitGroup
	for g := range threads {
		lo, hi := total*g/threads, total*(g+1)/threads
		wg.Go(func() {
			var s uint64
			off := 0 // word offset of the current slice in the whole
			for _, w := range slices {
				a, b := max(lo-off, 0), min(hi-off, len(w))
				if a < b {
					s += sumWords(w[a:b])
				}
				off += len(w)
				if off >= hi {
					break
				}
			}
			sums[g] = s
		})
	}
	wg.Wait()
	var s uint64
	for _, x := range sums {
		s += x
	}
	return s
}

// sumWords keeps eight independent accumulators so successive loads do not
// wait on one add chain: the loop is then limited by memory bandwidth, not
// by add latency.
func sumWords(w []uint64) uint64 {
	var s0, s1, s2, s3, s4, s5, s6, s7 uint64
	for len(w) >= 8 {
		v := w[:8:8]
		s0 += v[0]
		s1 += v[1]
		s2 += v[2]
		s3 += v[3]
		s4 += v[4]
		s5 += v[5]
		s6 += v[6]
		s7 += v[7]
		w = w[8:]
	}
	for _, x := range w {
		s0 += x
	}
	return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7
}
