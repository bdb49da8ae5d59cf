package partition

import (
	"fmt"
	"math"
	"slices"
)

// OneHot is a run of a preparation's features that one category column
// makes: in every row exactly one of them is hot and the others cold, so
// which one is hot says the whole run. Cold and Hot are each feature's
// two values as the block's float32 holds them before quantizing (one-hot
// 0 and 1, scaled).
type OneHot struct {
	At   int       // the run's first feature
	Cold []float32 // each feature's value when another of the run is hot
	Hot  []float32 // and when it is the one
}

// OneHotPreparer is a Preparer that can say which of its features are
// one-hot runs: its blocks are packed (Block.Packed), a code a run
// instead of a float32 a feature.
type OneHotPreparer interface {
	Preparer
	OneHot() []OneHot
}

// maxNarrowRun is the most features a run may have for its codes to fit
// a byte, maxRun in two.
const (
	maxNarrowRun = 1 << 8
	maxRun       = 1 << 16
)

// packed is a block's rows in place of Data: the features outside every
// run as float32, row by row, and each run's hot feature as a code per
// row. Only put writes the codes, each below its run's width, which is
// why expansion trusts them.
type packed struct {
	dense  []int32   // the features outside every run, ascending
	values []float32 // Rows × len(dense)
	at     []int32   // each run's first feature, ascending
	width  []int32   // each run's features
	// codes are the hot feature's offset within its run, Rows × len(at):
	// in codes8 unless a run is wider than maxNarrowRun (wide).
	wide    bool
	codes8  []uint8
	codes16 []uint16
	// base is a row (Stride values) with every run's features cold and
	// the padding zero, which expanding a row starts from; hot is each
	// run feature's hot value (Dims, zero outside the runs).
	base []float32
	hot  []float32
}

// newPacked lays out a packed block of up to rows rows for runs of dims
// features; an error says how runs do not fit them (a Preparer's bug).
func newPacked(dims, rows int, runs []OneHot) (*packed, error) {
	runs = slices.Clone(runs)
	slices.SortFunc(runs, func(a, b OneHot) int { return a.At - b.At })
	p := &packed{base: make([]float32, PadDims(dims)), hot: make([]float32, dims)}
	next := 0 // the first feature not yet placed
	for _, r := range runs {
		n := len(r.Hot)
		if n > maxRun {
			return nil, fmt.Errorf("one-hot run of %d features at feature %d: more than the %d a code can name", n, r.At, maxRun)
		}
		if n < 1 || len(r.Cold) != n || r.At < next || r.At+n > dims {
			return nil, fmt.Errorf("one-hot run of %d features (%d cold values) at feature %d does not fit %d features after feature %d", n, len(r.Cold), r.At, dims, next)
		}
		for f := next; f < r.At; f++ {
			p.dense = append(p.dense, int32(f))
		}
		copy(p.base[r.At:], r.Cold)
		copy(p.hot[r.At:], r.Hot)
		p.at, p.width = append(p.at, int32(r.At)), append(p.width, int32(n))
		p.wide = p.wide || n > maxNarrowRun
		next = r.At + n
	}
	for f := next; f < dims; f++ {
		p.dense = append(p.dense, int32(f))
	}
	p.values = make([]float32, rows*len(p.dense))
	if p.wide {
		p.codes16 = make([]uint16, rows*len(p.at))
	} else {
		p.codes8 = make([]uint8, rows*len(p.at))
	}
	return p, nil
}

// rowBytes is what a row takes packed.
func (p *packed) rowBytes() int {
	code := 1
	if p.wide {
		code = 2
	}
	return 4*len(p.dense) + code*len(p.at)
}

// put packs row (its real features) as row i; false when the row is not
// one the runs describe, and then the block cannot be packed.
func (p *packed) put(i int, row []float32) bool {
	nd, nr := len(p.dense), len(p.at)
	vals := p.values[i*nd : (i+1)*nd]
	for d, f := range p.dense {
		vals[d] = row[f]
	}
	for g, at := range p.at {
		end := at + p.width[g]
		code, ok := hotOf(row[at:end], p.base[at:end], p.hot[at:end])
		if !ok {
			return false
		}
		if p.wide {
			p.codes16[i*nr+g] = uint16(code)
		} else {
			p.codes8[i*nr+g] = uint8(code)
		}
	}
	return true
}

// hotOf is which of a run's features its values say is hot, comparing
// bits so that expansion gives back these very values; false when they
// are not a row of the run.
func hotOf(vals, cold, hot []float32) (int, bool) {
	code := -1
	for f, v := range vals {
		b := math.Float32bits(v)
		if b == math.Float32bits(cold[f]) {
			continue
		}
		if code >= 0 || b != math.Float32bits(hot[f]) {
			return 0, false
		}
		code = f
	}
	if code >= 0 {
		return code, true
	}
	// Every feature reads cold: a row of the run only if one feature's
	// hot value is its cold one.
	for f := range vals {
		if math.Float32bits(hot[f]) == math.Float32bits(cold[f]) {
			return f, true
		}
	}
	return 0, false
}

// expand writes rows [lo, hi) into dst, stride values each.
func (p *packed) expand(lo, hi, stride int, dst []float32) {
	if p.wide {
		expandRows(p, p.codes16, lo, hi-lo, nil, stride, dst)
	} else {
		expandRows(p, p.codes8, lo, hi-lo, nil, stride, dst)
	}
}

// gather writes the rows idx into dst, stride values each.
func (p *packed) gather(idx []int32, stride int, dst []float32) {
	if p.wide {
		expandRows(p, p.codes16, 0, len(idx), idx, stride, dst)
	} else {
		expandRows(p, p.codes8, 0, len(idx), idx, stride, dst)
	}
}

// expandRows writes n rows into dst, stride values each, with the codes
// of p's width: rows lo, lo+1, … or, if idx is not nil, the rows idx.
// Every row starts as base, copied into the first and then doubled, a few
// large copies instead of one a row; then each row's numbers and hot
// features are written in, from locals: through p, the compiler loaded
// each slice again for every value, as a write to a row might have
// changed p.
func expandRows[C uint8 | uint16](p *packed, codes []C, lo, n int, idx []int32, stride int, dst []float32) {
	dense, at, hot, values := p.dense, p.at, p.hot, p.values
	nd, nr := len(dense), len(at)
	dst = dst[:n*stride]
	copy(dst, p.base)
	for k := stride; k < len(dst); k *= 2 {
		copy(dst[k:], dst[:k])
	}
	for j := range n {
		r := lo + j
		if idx != nil {
			r = int(idx[j])
		}
		row, vals := dst[j*stride:(j+1)*stride], values[r*nd:(r+1)*nd]
		for d, f := range dense {
			row[f] = vals[d]
		}
		for g, c := range codes[r*nr : (r+1)*nr] {
			f := int(at[g]) + int(c)
			row[f] = hot[f]
		}
	}
}

// unpack is the first n rows expanded into a dense block's Data, with
// room for rows rows.
func (p *packed) unpack(n, rows, stride int) []float32 {
	data := make([]float32, rows*stride)
	p.expand(0, n, stride, data)
	return data
}

// truncate keeps the first n rows.
func (p *packed) truncate(n int) {
	nd, nr := len(p.dense), len(p.at)
	p.values = p.values[: n*nd : n*nd]
	if p.wide {
		p.codes16 = p.codes16[: n*nr : n*nr]
	} else {
		p.codes8 = p.codes8[: n*nr : n*nr]
	}
}

// bytes is the memory p holds.
func (p *packed) bytes() int64 {
	return int64(len(p.values)+len(p.base)+len(p.hot))*4 + int64(len(p.codes8)) + int64(len(p.codes16))*2 + int64(len(p.dense)+len(p.at)+len(p.width))*4
}

// validate checks p's shape against the block's.
func (p *packed) validate(b *Block) error {
	if b.Data != nil || len(p.base) != b.Stride || len(p.hot) != b.Dims || len(p.width) != len(p.at) ||
		len(p.values) != b.Rows*len(p.dense) || len(p.codes8)+len(p.codes16) != b.Rows*len(p.at) || p.wide != (p.codes16 != nil) {
		return fmt.Errorf("partition %d: inconsistent packed block: rows=%d dims=%d stride=%d data=%d base=%d values=%d of %d features, codes=%d+%d of %d runs",
			b.ID, b.Rows, b.Dims, b.Stride, len(b.Data), len(p.base), len(p.values), len(p.dense), len(p.codes8), len(p.codes16), len(p.at))
	}
	next, d := 0, 0
	for g, at := range p.at {
		for ; d < len(p.dense) && int(p.dense[d]) < int(at); d++ {
			if int(p.dense[d]) != next {
				return fmt.Errorf("partition %d: packed feature %d out of order", b.ID, p.dense[d])
			}
			next++
		}
		if int(at) != next || p.width[g] < 1 {
			return fmt.Errorf("partition %d: packed run %d at feature %d, expected %d", b.ID, g, at, next)
		}
		next += int(p.width[g])
	}
	for ; d < len(p.dense); d++ {
		if int(p.dense[d]) != next {
			return fmt.Errorf("partition %d: packed feature %d out of order", b.ID, p.dense[d])
		}
		next++
	}
	if next != b.Dims {
		return fmt.Errorf("partition %d: packed features cover %d of %d", b.ID, next, b.Dims)
	}
	return nil
}

// quantize rounds p's values onto the grid Quantize gives the columns
// cols (quanta q, their inverses inv): a dense feature's values row by
// row, a run feature's cold and hot values once, as every one of its
// rows would be rounded. A run feature is on the list only when both its
// values occur (a column of one magnitude is not), so rounding one never
// touches a value the block does not hold.
func (p *packed) quantize(cols []int, q, inv []float64, rows int) {
	slot := make([]int, len(p.hot)) // feature → dense column, or −1
	for f := range slot {
		slot[f] = -1
	}
	for d, f := range p.dense {
		slot[f] = d
	}
	var dcols []int
	var dq, dinv []float64
	for n, j := range cols {
		if d := slot[j]; d >= 0 {
			dcols, dq, dinv = append(dcols, d), append(dq, q[n]), append(dinv, inv[n])
			continue
		}
		p.base[j], p.hot[j] = onGrid(p.base[j], q[n], inv[n]), onGrid(p.hot[j], q[n], inv[n])
	}
	if len(dcols) == 0 {
		return
	}
	nd := len(p.dense)
	for i := range rows {
		vals := p.values[i*nd : (i+1)*nd]
		for n, d := range dcols {
			vals[d] = onGrid(vals[d], dq[n], dinv[n])
		}
	}
}

// RowBytes is what a row of the blocks prep makes takes in memory, its id
// included: packed when prep has one-hot runs, else Stride float32.
func RowBytes(prep Preparer) int64 {
	w := prep.Width()
	if runs := oneHotRuns(prep); len(runs) > 0 {
		if p, err := newPacked(w, 0, runs); err == nil {
			return int64(p.rowBytes() + 8)
		}
	}
	return int64(4*PadDims(w) + 8)
}

func oneHotRuns(prep Preparer) []OneHot {
	if o, ok := prep.(OneHotPreparer); ok {
		return o.OneHot()
	}
	return nil
}

// densePreparer is a Preparer without its one-hot runs: its blocks stay
// dense (Env.Dense).
type densePreparer struct{ Preparer }
