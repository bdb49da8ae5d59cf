package kmeans

import (
	"fmt"
	"math"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/kernels"
	"github.com/cohort/cohort/algorithms/wire"
	"github.com/cohort/cohort/partition"
)

// Step kinds on the wire.
const (
	kindPick    = "kmeans/pick"
	kindSample  = "kmeans/sample"
	kindWeights = "kmeans/weights"
	kindLloyd   = "kmeans/lloyd"
)

// pickRound tags the first-centre draw apart from the sampling rounds, and
// sampleRound the initialisation sample's draw.
const (
	pickRound   = math.MaxUint32
	sampleRound = math.MaxUint32 - 1
)

// rowHash is the random draw for one row: a function of where the row is in
// the dataset, not of who processes it or when.
func rowHash(seed uint64, restart, round int, part, row int) uint64 {
	h := partition.Mix64(seed ^ 0x6a09e667f3bcc909)
	h = partition.Mix64(h ^ uint64(restart)<<32 ^ uint64(uint32(round)))
	h = partition.Mix64(h ^ uint64(part))
	return partition.Mix64(h ^ uint64(row))
}

// unit maps a hash to [0, 1).

func rowValues(b *partition.Block, i int) []float64 {
	out := make([]float64, b.Dims)
	for j, v := range b.Row(i) {
		out[j] = float64(v)
	}
	return out
}

func checkDims(b *partition.Block, dims int) error {
	if b.Dims != dims {
		return fmt.Errorf("partition %d has %d dims, the step expects %d", b.ID, b.Dims, dims)
	}
	return b.Validate()
}

// pickStep chooses the first centre: the row with the smallest hash, which
// is a uniform choice over all rows (of the initialisation sample) made
// without knowing partition sizes.
type pickStep struct {
	Seed    uint64
	Restart int
	Dims    int
	Frac    float64 // of the rows in the initialisation sample (initSample)
}

func (s *pickStep) Kind() string { return kindPick }

func (s *pickStep) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	w.U64(s.Seed)
	w.I64(int64(s.Restart))
	w.I64(int64(s.Dims))
	w.F64(s.Frac)
	return w.B, nil
}

func (s *pickStep) Map(b *partition.Block) (algorithms.Partial, error) {
	if err := checkDims(b, s.Dims); err != nil {
		return nil, err
	}
	p := &pickPartial{}
	best := -1
	if smp := (initSample{s.Seed, s.Restart, s.Frac}); smp.all() {
		for i := 0; i < b.Rows; i++ {
			if h := rowHash(s.Seed, s.Restart, pickRound, b.ID, i); best < 0 || h < p.Key {
				p.Key, best = h, i
			}
		}
		if best >= 0 {
			p.Row = rowValues(b, best)
		}
	} else {
		sd := sampled(b, smp)
		defer b.PutScratch(sd)
		for i, r := range sd.idx {
			if h := rowHash(s.Seed, s.Restart, pickRound, b.ID, int(r)); best < 0 || h < p.Key {
				p.Key, best = h, i
			}
		}
		if best >= 0 {
			p.Row = sd.values(b, best)
		}
	}
	p.Has = best >= 0
	return p, nil
}

type pickPartial struct {
	Has bool
	Key uint64
	Row []float64
}

func (p *pickPartial) Merge(next algorithms.Partial) error {
	n, ok := next.(*pickPartial)
	if !ok {
		return fmt.Errorf("merge %T into pick partial", next)
	}
	if n.Has && (!p.Has || n.Key < p.Key) {
		*p = *n
	}
	return nil
}

func (p *pickPartial) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	w.U64(b2u(p.Has))
	w.U64(p.Key)
	w.F64s(p.Row)
	return w.B, nil
}

// sampleStep is one k-means‖ pass: it sums the cost (squared distance to the
// nearest candidate) and, when Phi is set, keeps each row with probability
// L·d²/Phi. Phi is the previous pass's cost, an upper bound of this one's,
// which fuses the cost pass and the sampling pass of the paper into one.
type sampleStep struct {
	Seed    uint64
	Restart int
	Round   int
	L       float64
	Phi     float64
	Dims    int
	Cand    [][]float64
	Frac    float64 // of the rows in the initialisation sample
}

func (s *sampleStep) Kind() string { return kindSample }

func (s *sampleStep) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	w.U64(s.Seed)
	w.I64(int64(s.Restart))
	w.I64(int64(s.Round))
	w.F64(s.L)
	w.F64(s.Phi)
	w.Matrix(s.Cand, s.Dims)
	w.F64(s.Frac)
	return w.B, nil
}

func (s *sampleStep) Map(b *partition.Block) (algorithms.Partial, error) {
	if err := checkDims(b, s.Dims); err != nil {
		return nil, err
	}
	p := &samplePartial{Dims: s.Dims}
	sd := seed(b, initSample{s.Seed, s.Restart, s.Frac}, s.Cand, s.Dims)
	defer b.PutScratch(sd)
	for i, d := range sd.dist {
		p.Cost += float64(d)
		if s.Phi > 0 && partition.Unit(rowHash(s.Seed, s.Restart, s.Round, b.ID, sd.row(i))) < s.L*float64(d)/s.Phi {
			p.Rows = append(p.Rows, sd.values(b, i))
		}
	}
	return p, nil
}

type samplePartial struct {
	Cost float64
	Dims int
	Rows [][]float64
}

func (p *samplePartial) Merge(next algorithms.Partial) error {
	n, ok := next.(*samplePartial)
	if !ok {
		return fmt.Errorf("merge %T into sample partial", next)
	}
	if len(p.Rows) > 0 && len(n.Rows) > 0 && n.Dims != p.Dims {
		return fmt.Errorf("merge sample partial of %d dims into one of %d", n.Dims, p.Dims)
	}
	if len(p.Rows) == 0 && len(n.Rows) > 0 {
		p.Dims = n.Dims
	}
	p.Cost += n.Cost
	p.Rows = append(p.Rows, n.Rows...)
	return nil
}

func (p *samplePartial) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	w.F64(p.Cost)
	w.Matrix(p.Rows, p.Dims)
	return w.B, nil
}

// weightsStep counts the rows nearest to each candidate, the weights of the
// k-means++ pass that reduces the candidates to k centres.
type weightsStep struct {
	Dims int
	Cand [][]float64
	// The initialisation sample's draw (initSample), whose rows alone
	// are counted.
	Seed    uint64
	Restart int
	Frac    float64
}

func (s *weightsStep) Kind() string { return kindWeights }

func (s *weightsStep) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	w.Matrix(s.Cand, s.Dims)
	w.U64(s.Seed)
	w.I64(int64(s.Restart))
	w.F64(s.Frac)
	return w.B, nil
}

func (s *weightsStep) Map(b *partition.Block) (algorithms.Partial, error) {
	if err := checkDims(b, s.Dims); err != nil {
		return nil, err
	}
	p := &weightsPartial{Counts: make([]int64, len(s.Cand))}
	sd := seed(b, initSample{s.Seed, s.Restart, s.Frac}, s.Cand, s.Dims)
	defer b.PutScratch(sd)
	for _, c := range sd.label {
		p.Counts[c]++
	}
	return p, nil
}

type weightsPartial struct{ Counts []int64 }

func (p *weightsPartial) Merge(next algorithms.Partial) error {
	n, ok := next.(*weightsPartial)
	if !ok || len(n.Counts) != len(p.Counts) {
		return fmt.Errorf("merge mismatched weights partial")
	}
	for i, c := range n.Counts {
		p.Counts[i] += c
	}
	return nil
}

func (p *weightsPartial) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	w.I64s(p.Counts)
	return w.B, nil
}

// lloydStep assigns rows to the nearest centroid and sums them.
type lloydStep struct {
	Dims int
	Cent [][]float64
	// Exact asks every partition for its WCSS and farthest rows, which a
	// pass that trusts its bounds does not measure (see lloydPass).
	Exact bool
}

func (s *lloydStep) Kind() string { return kindLloyd }

func (s *lloydStep) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	w.Matrix(s.Cent, s.Dims)
	w.U64(b2u(s.Exact))
	return w.B, nil
}

func (s *lloydStep) Map(b *partition.Block) (algorithms.Partial, error) {
	if err := checkDims(b, s.Dims); err != nil {
		return nil, err
	}
	k := len(s.Cent)
	p := newLloydPartial(k, s.Dims)
	tot := kernels.Totals{Sums: p.Sums, Counts: p.Counts, FarDist: make([]float32, k), FarRow: make([]int32, k)}
	for c := range tot.FarRow {
		tot.FarRow[c] = -1
	}
	if _, p.Lazy = lloydPass(b, s.Cent, s.Dims, &tot, s.Exact); p.Lazy {
		return p, nil
	}
	p.WCSS = tot.WCSS
	for c, r := range tot.FarRow {
		if r >= 0 {
			p.Far[c] = farPoint{Has: true, Dist: float64(tot.FarDist[c]), Part: int64(b.ID), Row: int64(r), X: rowValues(b, int(r))}
		}
	}
	return p, nil
}

// farPoint is the row farthest from its centroid within one cluster: where
// an empty cluster is re-seeded.
type farPoint struct {
	Has  bool
	Dist float64
	Part int64
	Row  int64
	X    []float64
}

type lloydPartial struct {
	K, Dims int
	Sums    []float64 // K × Dims
	Counts  []int64
	WCSS    float64
	Far     []farPoint
	// Lazy: some partition did not measure every row, so WCSS and Far are
	// not known (sums and counts are).
	Lazy bool
}

func newLloydPartial(k, dims int) *lloydPartial {
	return &lloydPartial{K: k, Dims: dims, Sums: make([]float64, k*dims), Counts: make([]int64, k), Far: make([]farPoint, k)}
}

func (p *lloydPartial) Merge(next algorithms.Partial) error {
	n, ok := next.(*lloydPartial)
	if !ok || n.K != p.K || n.Dims != p.Dims {
		return fmt.Errorf("merge mismatched lloyd partial")
	}
	for i, v := range n.Sums {
		p.Sums[i] += v
	}
	for i, c := range n.Counts {
		p.Counts[i] += c
	}
	p.WCSS += n.WCSS
	p.Lazy = p.Lazy || n.Lazy
	// Strictly greater keeps the earlier partition on ties: merge order, not
	// arrival order, decides.
	for c, f := range n.Far {
		if f.Has && (!p.Far[c].Has || f.Dist > p.Far[c].Dist) {
			p.Far[c] = f
		}
	}
	return nil
}

func (p *lloydPartial) MarshalBinary() ([]byte, error) {
	// Sized up front: a worker encodes one partial per partition per step,
	// and growing the buffer from nothing took more time than the encoding.
	n := 8*(4+len(p.Sums)+len(p.Counts)) + 8*4*len(p.Far)
	for _, f := range p.Far {
		n += 4 * len(f.X)
	}
	w := wire.Writer{B: make([]byte, 0, n)}
	w.I64(int64(p.K))
	w.I64(int64(p.Dims))
	for _, v := range p.Sums {
		w.F64(v)
	}
	for _, c := range p.Counts {
		w.I64(c)
	}
	w.F64(p.WCSS)
	w.U64(b2u(p.Lazy))
	// A farthest row is a row of the data, float32, so it travels as
	// float32: a partial is mostly these rows, and there is one partial per
	// partition per step.
	for _, f := range p.Far {
		w.U64(b2u(f.Has))
		w.F64(f.Dist)
		w.I64(f.Part)
		w.I64(f.Row)
		if f.Has {
			for _, v := range f.X {
				w.F32(float32(v))
			}
		}
	}
	return w.B, nil
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// Codec decodes every k-means step and partial.
type Codec struct{}

// DecodeStep implements algorithms.Codec.
func (Codec) DecodeStep(kind string, params []byte) (algorithms.Step, error) {
	r := &wire.Reader{B: params}
	var s algorithms.Step
	switch kind {
	case kindPick:
		s = &pickStep{Seed: r.U64(), Restart: int(r.I64()), Dims: int(r.I64()), Frac: r.F64()}
	case kindSample:
		st := &sampleStep{Seed: r.U64(), Restart: int(r.I64()), Round: int(r.I64()), L: r.F64(), Phi: r.F64()}
		st.Cand, st.Dims = r.Matrix()
		st.Frac = r.F64()
		if r.Err == nil && len(st.Cand) == 0 {
			r.Err = fmt.Errorf("no candidates")
		}
		s = st
	case kindWeights:
		st := &weightsStep{}
		st.Cand, st.Dims = r.Matrix()
		st.Seed, st.Restart, st.Frac = r.U64(), int(r.I64()), r.F64()
		if r.Err == nil && len(st.Cand) == 0 {
			r.Err = fmt.Errorf("no candidates")
		}
		s = st
	case kindLloyd:
		st := &lloydStep{}
		st.Cent, st.Dims = r.Matrix()
		st.Exact = r.U64() == 1
		if r.Err == nil && len(st.Cent) == 0 {
			r.Err = fmt.Errorf("no centroids")
		}
		s = st
	default:
		return nil, fmt.Errorf("unknown k-means step %q", kind)
	}
	if err := r.Done(kind + " step"); err != nil {
		return nil, err
	}
	return s, nil
}

// DecodePartial implements algorithms.Codec.
func (Codec) DecodePartial(kind string, data []byte) (algorithms.Partial, error) {
	r := &wire.Reader{B: data}
	var p algorithms.Partial
	switch kind {
	case kindPick:
		pp := &pickPartial{Has: r.U64() == 1, Key: r.U64(), Row: r.F64s()}
		p = pp
	case kindSample:
		sp := &samplePartial{Cost: r.F64()}
		sp.Rows, sp.Dims = r.Matrix()
		p = sp
	case kindWeights:
		p = &weightsPartial{Counts: r.I64s()}
	case kindLloyd:
		k, dims := r.I64(), r.I64()
		if r.Err == nil && (k < 1 || dims < 1 || k > int64(len(r.B)) || dims > int64(len(r.B)) || k*dims > int64(len(r.B))/8) {
			r.Err = fmt.Errorf("lloyd partial shape %d×%d does not fit %d bytes", k, dims, len(r.B))
		}
		if r.Err != nil {
			break
		}
		lp := newLloydPartial(int(k), int(dims))
		for i := range lp.Sums {
			lp.Sums[i] = r.F64()
		}
		for i := range lp.Counts {
			lp.Counts[i] = r.I64()
		}
		lp.WCSS = r.F64()
		lp.Lazy = r.U64() == 1
		rows := make([]float64, k*dims) // the farthest rows' values, one allocation
		for c := range lp.Far {
			f := farPoint{Has: r.U64() == 1, Dist: r.F64(), Part: r.I64(), Row: r.I64()}
			if f.Has {
				f.X = rows[int64(c)*dims : int64(c+1)*dims : int64(c+1)*dims]
				for j := range f.X {
					f.X[j] = float64(r.F32())
				}
			}
			lp.Far[c] = f
		}
		p = lp
	default:
		return nil, fmt.Errorf("unknown k-means partial %q", kind)
	}
	if err := r.Done(kind + " partial"); err != nil {
		return nil, err
	}
	return p, nil
}
