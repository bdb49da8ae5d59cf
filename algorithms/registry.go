package algorithms

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/cohort/cohort/partition"
)

// Algorithm is a clustering algorithm as the rest of the system knows it:
// by name, through the functions it registers. Nothing outside its own
// package names it.
type Algorithm struct {
	Name    string
	Summary string // one line for `cohort algorithms`
	// Params are the keys of the spec's cluster section it reads, besides
	// "algorithm"; any other key is refused with the keys listed.
	Params []Param
	// Configure reads the cluster section (the keys already checked
	// against Params) with the job's seed.
	Configure func(p Params, seed uint64) (Config, error)
	// Codec decodes its steps and partials, whose kinds are
	// "Name/something".
	Codec Codec
	// DecodeModel reads a model that Model.Encode wrote.
	DecodeModel func(data []byte) (Model, error)
	// Aliases are other names a spec may use ("k-means").
	Aliases []string
	// Default marks the algorithm a spec that names none runs, and whose
	// models the Raft log and snapshots hold without a name (those written
	// before the registry existed). At most one algorithm is the default.
	Default bool
}

// Param documents one parameter of an algorithm.
type Param struct {
	Name    string
	Default string // "" for a required parameter
	Doc     string
}

// Config is an algorithm configured by a spec, before the data is known.
type Config interface {
	// Check refuses the configuration for data of rows × dims (k > rows,
	// say), with the parameter named as the spec names it.
	Check(rows int64, dims int) error
	// MaxIter is what progress counts iterations against (0: nothing).
	MaxIter() int
	// New starts fitting data of rows × dims; Resume continues from a
	// Fit's checkpoint.
	New(rows int64, dims int) (Fit, error)
	Resume(checkpoint []byte) (Fit, error)
}

// Fit is a Program that ends with a model.
type Fit interface {
	Program
	// Model is the fitted model, once Next has said done.
	Model() (Model, error)
}

// Model is a fitted segmentation: it describes itself and assigns new
// prepared rows to its segments.
type Model interface {
	// Encode is what DecodeModel reads back; it is stored in the Raft log.
	Encode() ([]byte, error)
	Describe() Description
	// Output names what Assign writes besides the segment.
	Output() Output
	// Assign gives each of rows rows (row-major float32, stride values
	// apart, the model's dims first) a segment, -1 for none (noise), a
	// score and the flags Output names. out's slices hold rows entries.
	// It must be safe to call from several goroutines at once.
	Assign(data []float32, rows, stride int, out Assigned) error
}

// Description is what every model reports of itself.
type Description struct {
	Segments   int
	Dims       int
	Sizes      []int64
	Iterations int
	Converged  bool
	// Metrics are the fit's own measures, by name (k-means: wcss).
	Metrics map[string]float64
	// Centres, when segments have them, in the space the model ran in.
	Centres [][]float64
	// Details are other facts worth showing, as a JSON object whose
	// fields go into a job's summary.
	Details json.RawMessage
}

// Output names the per-row results an assignment writes.
type Output struct {
	Score string   // e.g. "distance"
	Flags []string // e.g. "core"
}

// Assigned receives an assignment's per-row results.
type Assigned struct {
	Segment []int32
	Score   []float32
	Flags   [][]bool // one slice of rows entries per Output.Flags
}

// Slice is rows [lo, hi) of a, sharing its memory.
func (a Assigned) Slice(lo, hi int) Assigned {
	s := Assigned{Segment: a.Segment[lo:hi], Score: a.Score[lo:hi]}
	for _, f := range a.Flags {
		s.Flags = append(s.Flags, f[lo:hi])
	}
	return s
}

// NewAssigned allocates results for rows rows of a model's output.
func NewAssigned(o Output, rows int) Assigned {
	a := Assigned{Segment: make([]int32, rows), Score: make([]float32, rows)}
	for range o.Flags {
		a.Flags = append(a.Flags, make([]bool, rows))
	}
	return a
}

// Bucket builds one bucket of a shuffled dataset from its parts, given in
// source order: a table of the named columns (nil: every one) of the
// bucket's rows, and how many input rows were folded into others. schema
// and params are the shuffle's (partition.ShuffleSpec).
type Bucket func(parts [][]byte, schema []partition.Field, params json.RawMessage, columns []string) (*partition.Table, int64, error)

// The registry is written by init functions only and read after: like
// database/sql's drivers, it is fixed before any job runs.
var registry = struct {
	sync.RWMutex
	algorithms map[string]*Algorithm
	codecs     Codecs
	buckets    map[string]Bucket
	models     map[string]func([]byte) (Model, error)
}{algorithms: map[string]*Algorithm{}, codecs: Codecs{}, buckets: map[string]Bucket{}, models: map[string]func([]byte) (Model, error){}}

// Register adds an algorithm, and its codec under its name. It panics on
// a name registered twice or an incomplete registration, which are
// programming errors found at start-up.
func Register(a Algorithm) {
	switch {
	case a.Name == "" || strings.ContainsAny(a.Name, "/ "):
		panic(fmt.Sprintf("algorithms: bad algorithm name %q", a.Name))
	case a.Configure == nil || a.Codec == nil || a.DecodeModel == nil:
		panic(fmt.Sprintf("algorithms: %s registers no Configure, Codec or DecodeModel", a.Name))
	}
	registry.Lock()
	defer registry.Unlock()
	if _, ok := registry.algorithms[a.Name]; ok {
		panic(fmt.Sprintf("algorithms: %s registered twice", a.Name))
	}
	if a.Default {
		for _, o := range registry.algorithms {
			if o.Default {
				panic(fmt.Sprintf("algorithms: %s and %s are both the default", o.Name, a.Name))
			}
		}
	}
	registry.algorithms[a.Name] = &a
	registerCodec(a.Name, a.Codec)
}

// RegisterSteps adds the codec of steps that are not an algorithm's (data
// preparation, results), for kinds "prefix/something".
func RegisterSteps(prefix string, c Codec) {
	registry.Lock()
	defer registry.Unlock()
	registerCodec(prefix, c)
}

func registerCodec(prefix string, c Codec) {
	if _, ok := registry.codecs[prefix]; ok {
		panic(fmt.Sprintf("algorithms: steps %q registered twice", prefix))
	}
	registry.codecs[prefix] = c
}

// RegisterBucket adds the builder of a shuffle's buckets of one kind
// (partition.ShuffleSpec.Kind).
func RegisterBucket(kind string, b Bucket) {
	registry.Lock()
	defer registry.Unlock()
	if _, ok := registry.buckets[kind]; ok {
		panic(fmt.Sprintf("algorithms: bucket kind %q registered twice", kind))
	}
	registry.buckets[kind] = b
}

// RegisterModel adds the decoder of a model no algorithm fits (labels
// made elsewhere, given with the data), under a name no algorithm has, so
// that a ModelRef or a job's result of it decodes as a fitted one does. It
// is not an algorithm: a spec cannot name it.
func RegisterModel(name string, decode func([]byte) (Model, error)) {
	registry.Lock()
	defer registry.Unlock()
	if _, ok := registry.models[name]; ok || registry.algorithms[name] != nil {
		panic(fmt.Sprintf("algorithms: model %q registered twice", name))
	}
	registry.models[name] = decode
}

// DecodeModel reads a model that Model.Encode wrote, by the algorithm
// that fitted it or the model registered under name.
func DecodeModel(name string, data []byte) (Model, error) {
	registry.RLock()
	decode, ok := registry.models[name]
	registry.RUnlock()
	if ok {
		return decode(data)
	}
	a, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	return a.DecodeModel(data)
}

// Lookup returns the algorithm registered under name (or one of its
// aliases, in any case); "" is the default algorithm.
func Lookup(name string) (*Algorithm, error) {
	registry.RLock()
	defer registry.RUnlock()
	for _, a := range registry.algorithms {
		if name == "" && a.Default || strings.EqualFold(name, a.Name) ||
			slices.ContainsFunc(a.Aliases, func(s string) bool { return strings.EqualFold(name, s) }) {
			return a, nil
		}
	}
	if name == "" {
		return nil, fmt.Errorf("no algorithm named (registered: %s)", strings.Join(namesLocked(), ", "))
	}
	return nil, fmt.Errorf("unknown algorithm %q (registered: %s)", name, strings.Join(namesLocked(), ", "))
}

// List returns every registered algorithm, by name.
func List() []*Algorithm {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]*Algorithm, 0, len(registry.algorithms))
	for _, n := range namesLocked() {
		out = append(out, registry.algorithms[n])
	}
	return out
}

// Names lists the registered algorithms' names, sorted.
func Names() []string {
	registry.RLock()
	defer registry.RUnlock()
	return namesLocked()
}

func namesLocked() []string {
	names := make([]string, 0, len(registry.algorithms))
	for n := range registry.algorithms {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Registered is the codec of every registered step kind. Coordinators and
// workers must be built with the same registrations.
func Registered() Codec { return registeredCodec{} }

type registeredCodec struct{}

func (registeredCodec) DecodeStep(kind string, params []byte) (Step, error) {
	registry.RLock()
	c := registry.codecs
	registry.RUnlock()
	return c.DecodeStep(kind, params)
}

func (registeredCodec) DecodePartial(kind string, data []byte) (Partial, error) {
	registry.RLock()
	c := registry.codecs
	registry.RUnlock()
	return c.DecodePartial(kind, data)
}

// BuildBucket builds a bucket by its shuffle's kind.
func BuildBucket(sh *partition.ShuffleSpec, parts [][]byte, columns []string) (*partition.Table, int64, error) {
	registry.RLock()
	b, ok := registry.buckets[sh.Kind]
	kinds := make([]string, 0, len(registry.buckets))
	for k := range registry.buckets {
		kinds = append(kinds, k)
	}
	registry.RUnlock()
	if !ok {
		slices.Sort(kinds)
		return nil, 0, fmt.Errorf("unknown shuffle kind %q (registered: %s)", sh.Kind, strings.Join(kinds, ", "))
	}
	return b(parts, sh.Schema, sh.Params, columns)
}

// ModelRef is a fitted model as a step carries it: by its algorithm's
// name and encoding on the wire, decoded once by Decoded on the node that
// maps the step, however many partitions it maps.
type ModelRef struct {
	Algorithm string `json:"algorithm"`
	Model     []byte `json:"model"`

	once  sync.Once
	model Model
	err   error
}

// NewModelRef refers to m, fitted by the named algorithm; in the process
// that made it, Decoded returns m itself.
func NewModelRef(algorithm string, m Model) (*ModelRef, error) {
	data, err := m.Encode()
	if err != nil {
		return nil, fmt.Errorf("encode the %s model: %w", algorithm, err)
	}
	r := &ModelRef{Algorithm: algorithm, Model: data, model: m}
	r.once.Do(func() {})
	return r, nil
}

// Decoded is the model, decoded by its registered algorithm.
func (r *ModelRef) Decoded() (Model, error) {
	r.once.Do(func() { r.model, r.err = DecodeModel(r.Algorithm, r.Model) })
	return r.model, r.err
}
