package partition

import (
	"errors"
	"hash/fnv"
)

// Place assigns each of n partitions to one worker by rendezvous (highest
// random weight) hashing: a partition goes to the worker with the largest
// hash(worker, partition). Adding or removing one of W workers moves only
// about 1/W of the partitions, and every coordinator computes the same map
// from the same worker set, whatever order the names arrive in.
func Place(n int, workers []string) (map[int]string, error) {
	if len(workers) == 0 {
		return nil, errors.New("place partitions: no workers")
	}
	seeds := make([]uint64, len(workers))
	for i, w := range workers {
		h := fnv.New64a()
		h.Write([]byte(w))
		seeds[i] = h.Sum64()
	}
	out := make(map[int]string, n)
	for p := 0; p < n; p++ {
		best, bestW := uint64(0), ""
		for i, w := range workers {
			s := Mix64(seeds[i] ^ Mix64(uint64(p)+0x9e3779b97f4a7c15))
			if bestW == "" || s > best || (s == best && w < bestW) {
				best, bestW = s, w
			}
		}
		out[p] = bestW
	}
	return out, nil
}

// Mix64 is the splitmix64 finaliser: a bijective scramble of 64 bits. Placement
// uses it because FNV alone leaves nearby inputs correlated; samplers use it to
// make a random draw a pure function of a row's position in the dataset.
func Mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Unit is h as a float64 uniform in [0, 1): its top 53 bits.
func Unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// RowDraw is row's uniform draw in [0, 1) from the stream base (a seed
// already mixed with the partition): what a sampler compares with its
// share, so that which rows are drawn depends on nothing but their place.
func RowDraw(base uint64, row int) float64 {
	return Unit(Mix64(base + uint64(row)*0x9e3779b97f4a7c15))
}
