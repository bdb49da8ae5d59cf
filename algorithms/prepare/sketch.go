package prepare

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Sketch is a mergeable quantile sketch with relative accuracy (DDSketch's
// idea, with log-linear buckets): every quantile it returns is within Alpha of the
// true value's magnitude. Merging adds bucket counts, so a merged sketch is
// the same whatever the order or grouping of its parts: quantiles do not
// depend on how a dataset was partitioned or on which workers held it.
//
// The sketch also keeps the exact minimum and maximum: Quantile(0) and
// Quantile(1) return them, and no quantile lies outside them (a bucket's
// representative can overshoot the largest value in the bucket).
//
// Values of magnitude at most minMagnitude count as zero. NaN and ±Inf
// have no place in an order of magnitudes and are refused; callers decide
// what they mean (ColumnStats counts them as missing).
//
// Accuracy is relative to the value, not to the spread: a column whose
// values sit far from zero (years, Unix times) gets quantiles coarse by
// Alpha of that distance.
//
// The zero value is an empty sketch.
type Sketch struct {
	pos, neg buckets
	zero     int64
	count    int64
	min, max float64 // meaningful when count > 0
}

// Alpha is the sketch's relative accuracy: a returned quantile q̃ of true
// value q has |q̃ − q| ≤ Alpha·|q|.
const Alpha = 0.005

// minMagnitude: smaller values are zero for the sketch. Money, ages and
// standardised features are nowhere near it.
const minMagnitude = 1e-12

var (

	// The bucket indices finite values above minMagnitude can have; a
	// decoded sketch outside them is corrupt. They bound a bucket array at
	// about 136,000 counts (data spans far fewer powers of two).
	minIndex = index(math.Nextafter(minMagnitude, math.Inf(1)))
	maxIndex = index(math.MaxFloat64)
)

// buckets counts magnitudes by bucket index (index), densely from
// offset.
type buckets struct {
	offset int
	counts []int64
}

// index is a magnitude's bucket: its float64 bits' exponent and top
// mantissaBits mantissa bits, read as one number, so buckets are log-linear
// (as in HDR histograms): 2^mantissaBits equal slices of each power of
// two, so a bucket [lo, hi) of [2^e, 2^(e+1)) has hi − lo = 2^(e−7) and
// hi/lo ≤ 1 + 2^-mantissaBits, which keeps every value in it within Alpha
// of its representative (bucketValue). This costs a shift where
// log-spaced buckets, ⌈log_γ v⌉, cost math.Log, which was a fifth of a
// 1M-row job's CPU. v must be a normal float (above minMagnitude).
func index(v float64) int { return int(math.Float64bits(v) >> (52 - mantissaBits)) }

// mantissaBits: 7 puts every value within 2^-8 / (1 + 2^-8) ≈ 0.39% of
// its bucket's representative, inside Alpha.
const mantissaBits = 7

// bucketValue is the value a bucket stands for: the point of least
// relative distance to every value in [lo, hi), 2·lo·hi/(lo + hi),
// computed on the mantissas, so that even the top bucket's is finite
// (below 2·2^e); Quantile clamps it to the values seen.
func bucketValue(i int) float64 {
	const slices = 1 << mantissaBits
	k, e := i&(slices-1), i>>mantissaBits
	lo, hi := 1+float64(k)/slices, 1+float64(k+1)/slices
	return math.Ldexp(2*lo*hi/(lo+hi), e-1023)
}

func (b *buckets) add(i int, n int64) {
	switch {
	case len(b.counts) == 0:
		b.offset, b.counts = i, []int64{0}
	case i < b.offset:
		grown := make([]int64, len(b.counts)+b.offset-i)
		copy(grown[b.offset-i:], b.counts)
		b.offset, b.counts = i, grown
	case i >= b.offset+len(b.counts):
		b.counts = append(b.counts, make([]int64, i-b.offset-len(b.counts)+1)...)
	}
	b.counts[i-b.offset] += n
}

// Add counts a finite value; NaN or ±Inf is a caller's bug and panics.
func (s *Sketch) Add(v float64) {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		panic(fmt.Sprintf("prepare: sketch of %v", v))
	case v > minMagnitude:
		s.pos.add(index(v), 1)
	case v < -minMagnitude:
		s.neg.add(index(-v), 1)
	default:
		s.zero++
	}
	// v is finite (refused above otherwise): comparisons, not math.Min
	// and math.Max, whose NaN and signed-zero cases cost a tenth of a
	// profile's time.
	switch {
	case s.count == 0:
		s.min, s.max = v, v
	case v < s.min:
		s.min = v
	case v > s.max:
		s.max = v
	}
	s.count++
}

// Count is how many values were added.
func (s *Sketch) Count() int64 { return s.count }

// Merge adds o's counts to s.
func (s *Sketch) Merge(o *Sketch) {
	if o.count == 0 {
		return
	}
	for i, n := range o.pos.counts {
		if n != 0 {
			s.pos.add(o.pos.offset+i, n)
		}
	}
	for i, n := range o.neg.counts {
		if n != 0 {
			s.neg.add(o.neg.offset+i, n)
		}
	}
	if s.count == 0 {
		s.min, s.max = o.min, o.max
	} else {
		s.min, s.max = math.Min(s.min, o.min), math.Max(s.max, o.max)
	}
	s.zero += o.zero
	s.count += o.count
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1; outside, the nearest end) by
// the lower rank ⌊q·(count−1)⌋, as numpy's "lower" method: the minimum
// exactly at q = 0, the maximum exactly at q = 1, and in between within
// Alpha of the value of that rank. NaN for an empty sketch or a NaN q.
func (s *Sketch) Quantile(q float64) float64 {
	if s.count == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	q = min(1, max(0, q))
	rank := int64(q * float64(s.count-1))
	switch rank {
	case 0:
		return s.min
	case s.count - 1:
		return s.max
	}
	// Negative values from the most negative up, then zeros, then positive.
	seen := int64(0)
	for i := len(s.neg.counts) - 1; i >= 0; i-- {
		if seen += s.neg.counts[i]; seen > rank {
			return s.clamp(-bucketValue(s.neg.offset + i))
		}
	}
	if seen += s.zero; seen > rank {
		return s.clamp(0)
	}
	for i, n := range s.pos.counts {
		if seen += n; seen > rank {
			return s.clamp(bucketValue(s.pos.offset + i))
		}
	}
	// Unreachable: count is the sum of the buckets (UnmarshalBinary checks).
	return s.max
}

// clamp keeps a bucket's representative within the values seen: the true
// quantile is within them, so clamping never adds error.
func (s *Sketch) clamp(v float64) float64 { return min(s.max, max(s.min, v)) }

// sketchVersion leads the encoding, so a sketch from another build is
// refused rather than misread.
const sketchVersion = 2

// MarshalBinary encodes the sketch for a partial: a version byte, the count
// and the zero count as uvarints, then (if count > 0) the minimum and
// maximum as little-endian float64 bits, then for the positive and the
// negative buckets the offset as a varint, the number of counts and the
// counts as uvarints.
func (s *Sketch) MarshalBinary() ([]byte, error) {
	out := []byte{sketchVersion}
	out = binary.AppendUvarint(out, uint64(s.count))
	out = binary.AppendUvarint(out, uint64(s.zero))
	if s.count > 0 {
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(s.min))
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(s.max))
	}
	for _, b := range []*buckets{&s.pos, &s.neg} {
		out = binary.AppendVarint(out, int64(b.offset))
		out = binary.AppendUvarint(out, uint64(len(b.counts)))
		for _, n := range b.counts {
			out = binary.AppendUvarint(out, uint64(n))
		}
	}
	return out, nil
}

var errSketch = errors.New("prepare: malformed sketch")

// sketchReader reads the encoding; the first error sticks.
type sketchReader struct {
	b   []byte
	err error
}

func (r *sketchReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", errSketch, fmt.Sprintf(format, args...))
	}
}

// count reads a non-negative int64 encoded as a uvarint.
func (r *sketchReader) count(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	switch {
	case n == 0:
		r.fail("truncated in %s", what)
		return 0
	case n < 0 || v > math.MaxInt64:
		r.fail("%s overflows", what)
		return 0
	}
	r.b = r.b[n:]
	return int64(v)
}

func (r *sketchReader) varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	switch {
	case n == 0:
		r.fail("truncated in %s", what)
		return 0
	case n < 0:
		r.fail("%s overflows", what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *sketchReader) float(what string) float64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.fail("truncated in %s", what)
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

// UnmarshalBinary decodes what MarshalBinary wrote. Corrupt input (short,
// with trailing bytes, counts that do not add up, indices no finite value
// has) is an error wrapping errSketch, never a panic; s is changed only on
// success.
func (s *Sketch) UnmarshalBinary(data []byte) error {
	if len(data) == 0 {
		return fmt.Errorf("%w: empty", errSketch)
	}
	if data[0] != sketchVersion {
		return fmt.Errorf("%w: version %d; this build reads version %d", errSketch, data[0], sketchVersion)
	}
	r := &sketchReader{b: data[1:]}
	var d Sketch
	d.count = r.count("count")
	d.zero = r.count("zero count")
	if d.count > 0 {
		d.min, d.max = r.float("minimum"), r.float("maximum")
		if r.err == nil && !(d.min <= d.max && !math.IsInf(d.min, 0) && !math.IsInf(d.max, 0)) {
			r.fail("minimum %v and maximum %v", d.min, d.max)
		}
	}
	// Sum the buckets without overflow: every count is ≥ 0, so it suffices
	// that none takes the sum past count.
	left := d.count - d.zero
	if r.err == nil && left < 0 {
		r.fail("zero count %d exceeds count %d", d.zero, d.count)
	}
	for _, b := range []*buckets{&d.pos, &d.neg} {
		off := r.varint("bucket offset")
		n := r.count("bucket length")
		if r.err != nil {
			return r.err
		}
		if n == 0 {
			continue
		}
		// Each count takes at least a byte, which bounds the allocation by
		// the input's size.
		if n > int64(len(r.b)) {
			r.fail("%d buckets but %d bytes left", n, len(r.b))
			return r.err
		}
		if off < int64(minIndex) || off > int64(maxIndex) || n > int64(maxIndex)-off+1 {
			r.fail("buckets %d..%d outside %d..%d", off, off+n-1, minIndex, maxIndex)
			return r.err
		}
		b.offset, b.counts = int(off), make([]int64, n)
		for i := range b.counts {
			c := r.count("bucket count")
			if r.err == nil && c > left {
				r.fail("buckets hold more than count %d", d.count)
			}
			if r.err != nil {
				return r.err
			}
			b.counts[i], left = c, left-c
		}
	}
	switch {
	case r.err != nil:
		return r.err
	case left != 0:
		return fmt.Errorf("%w: count %d but zero and buckets hold %d", errSketch, d.count, d.count-left)
	case len(r.b) != 0:
		return fmt.Errorf("%w: %d trailing bytes", errSketch, len(r.b))
	}
	*s = d
	return nil
}
