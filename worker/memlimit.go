package worker

import (
	"os"
	"runtime/debug"
)

// memoryShare is the share of the machine's memory a node's Go heap may
// grow to before the collector works harder to stay under it.
const memoryShare = 0.8

// LimitMemory sets the Go runtime's soft memory limit to memoryShare of
// the machine's memory, unless GOMEMLIMIT already sets one, and returns
// the limit (0 if none was set). A worker's heap is mostly partitions that
// stay live; with the collector's default headroom (the heap may grow to
// twice what is live) a dataset that fits in memory twice over would not
// be allowed to fit once. At 100M customers the prepared blocks were 10 GB
// of a 23 GB machine.
func LimitMemory() int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	total := TotalMemory()
	if total <= 0 {
		return 0
	}
	limit := int64(float64(total) * memoryShare)
	debug.SetMemoryLimit(limit)
	return limit
}
