package worker

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// ErrPartsMissing means a bucket was asked of a worker that does not hold
// every part of it: the shuffle sent it elsewhere, or this worker
// restarted since. The coordinator answers by running the shuffle again.
var ErrPartsMissing = errors.New("shuffle parts missing on this worker")

// Inbox holds the parts other workers (and this one) sent for the buckets
// this worker holds, by shuffle, bucket and source partition, until the
// shuffle is dropped.
type Inbox struct {
	mu       sync.Mutex
	shuffles map[string]map[int]map[int][]byte
	// dropped are the shuffles dropped lately (order, oldest first, bounds
	// them): a part of one that arrives late is refused rather than
	// bringing it back.
	dropped map[string]bool
	order   []string
}

// droppedKept bounds the dropped shuffles remembered.
const droppedKept = 1024

// ErrShuffleDropped is the error of a part sent for a dropped shuffle.
var ErrShuffleDropped = errors.New("the shuffle was dropped")

func newInbox() *Inbox {
	return &Inbox{shuffles: map[string]map[int]map[int][]byte{}, dropped: map[string]bool{}}
}

// Put keeps source's part of a bucket, replacing one sent before: a step
// that is run again sends the same parts again.
func (in *Inbox) Put(shuffle string, bucket, source int, data []byte) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.dropped[shuffle] {
		return fmt.Errorf("part of bucket %d of %s: %w", bucket, shuffle, ErrShuffleDropped)
	}
	sh := in.shuffles[shuffle]
	if sh == nil {
		sh = map[int]map[int][]byte{}
		in.shuffles[shuffle] = sh
	}
	b := sh[bucket]
	if b == nil {
		b = map[int][]byte{}
		sh[bucket] = b
	}
	b[source] = data
	return nil
}

// Parts returns a bucket's parts in source order, or ErrPartsMissing
// naming the sources not heard from.
func (in *Inbox) Parts(shuffle string, bucket, sources int) ([][]byte, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	got := in.shuffles[shuffle][bucket]
	out := make([][]byte, sources)
	var missing []int
	for s := range out {
		data, ok := got[s]
		if !ok {
			missing = append(missing, s)
			continue
		}
		out[s] = data
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("bucket %d of %s: no part from %d of %d source partitions (first %v): %w",
			bucket, shuffle, len(missing), sources, missing[:min(5, len(missing))], ErrPartsMissing)
	}
	return out, nil
}

// Drop forgets a shuffle's parts, and refuses any sent after.
func (in *Inbox) Drop(shuffle string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.dropLocked(shuffle)
}

// DropPrefix drops every shuffle whose name starts with prefix: all the
// runs of a job's shuffle, including those of an earlier leader, which
// no later run names.
func (in *Inbox) DropPrefix(prefix string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for name := range in.shuffles {
		if strings.HasPrefix(name, prefix) {
			in.dropLocked(name)
		}
	}
}

func (in *Inbox) dropLocked(shuffle string) {
	delete(in.shuffles, shuffle)
	if in.dropped[shuffle] {
		return
	}
	if len(in.order) == droppedKept {
		delete(in.dropped, in.order[0])
		in.order = in.order[1:]
	}
	in.dropped[shuffle] = true
	in.order = append(in.order, shuffle)
}

// Stats counts the parts held and their bytes.
func (in *Inbox) Stats() (parts int, bytes int64) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, sh := range in.shuffles {
		for _, b := range sh {
			for _, data := range b {
				parts++
				bytes += int64(len(data))
			}
		}
	}
	return parts, bytes
}
