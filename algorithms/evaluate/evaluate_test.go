package evaluate

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/algorithms/kmeans"
	"github.com/cohort/cohort/partition"
)

// reference is what testdata/sklearn_reference.py computed with
// scikit-learn.
type reference struct {
	Centroids           [][]float64 `json:"centroids"`
	Labels              []int32     `json:"labels"`
	Silhouette          float64     `json:"silhouette"`
	SilhouetteManhattan float64     `json:"silhouette_manhattan"`
	CalinskiHarabasz    float64     `json:"calinski_harabasz"`
	DaviesBouldin       float64     `json:"davies_bouldin"`
	PerSegment          []struct {
		Size          int64   `json:"size"`
		Silhouette    float64 `json:"silhouette"`
		NegativeShare float64 `json:"negative_share"`
	} `json:"per_segment"`
}

const mallPath = "../../../shared/data/mall_customers/Mall_Customers.csv"

func references(t *testing.T) map[string]reference {
	t.Helper()
	data, err := os.ReadFile("testdata/sklearn.json")
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]reference
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// readRows reads the numeric columns cols of a CSV file (skipping a
// header when it has one).
func readRows(t *testing.T, path string, header bool, cols ...int) [][]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("no %s: %v", path, err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if header {
		recs = recs[1:]
	}
	var out [][]float64
	for _, rec := range recs {
		row := make([]float64, len(cols))
		for j, c := range cols {
			if row[j], err = strconv.ParseFloat(strings.TrimSpace(rec[c]), 64); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, row)
	}
	return out
}

// modelOf is a k-means model of scikit-learn's centroids.
func modelOf(t *testing.T, ref reference) algorithms.Model {
	t.Helper()
	sizes := make([]int64, len(ref.Centroids))
	for _, l := range ref.Labels {
		sizes[l]++
	}
	m, err := kmeans.NewModel(kmeans.Result{Centroids: ref.Centroids, Sizes: sizes})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func evaluateBlocks(t *testing.T, cfg Config, m algorithms.Model, blocks []*partition.Block, par int) *Report {
	t.Helper()
	var rows int64
	for _, b := range blocks {
		rows += int64(b.Rows)
	}
	p, err := New(cfg, kmeans.Name, m, rows, blocks[0].Dims)
	if err != nil {
		t.Fatal(err)
	}
	if err := algorithms.Drive(context.Background(), p, &algorithms.LocalExecutor{Blocks: blocks, Parallelism: par}, nil); err != nil {
		t.Fatal(err)
	}
	r, err := p.Report()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func near(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: none, want %v", what, want)
	}
	if d := math.Abs(*got - want); d > 1e-9*math.Abs(want) {
		t.Fatalf("%s = %.15g, scikit-learn %.15g (relative %.2g)", what, *got, want, d/math.Abs(want))
	}
}

// The metrics equal scikit-learn's on the same labels: Mall Customers'
// income and spending score (k = 5, no scaling) and a blobs set, the
// silhouette Euclidean and Manhattan, per segment too; and the report
// has the same bits for one partition at a time or three.
func TestMetricsEqualScikitLearn(t *testing.T) {
	refs := references(t)
	for _, c := range []struct {
		name  string
		rows  [][]float64
		parts int
	}{
		{"mall", readRows(t, mallPath, true, 3, 4), 3},
		{"blobs", readRows(t, "testdata/blobs.csv", false, 0, 1, 2, 3), 5},
	} {
		ref := refs[c.name]
		m := modelOf(t, ref)
		blocks := partition.BlocksOf(c.rows, c.parts)
		// The model labels the rows as scikit-learn did.
		var got []int32
		for _, b := range blocks {
			out := algorithms.NewAssigned(m.Output(), b.Rows)
			if err := m.Assign(b.Data, b.Rows, b.Stride, out); err != nil {
				t.Fatal(err)
			}
			got = append(got, out.Segment...)
		}
		if !reflect.DeepEqual(got, ref.Labels) {
			t.Fatalf("%s: the model's labels differ from scikit-learn's", c.name)
		}
		r := evaluateBlocks(t, Config{}, m, blocks, 1)
		near(t, c.name+" silhouette", r.Silhouette, ref.Silhouette)
		near(t, c.name+" Calinski-Harabasz", r.CalinskiHarabasz, ref.CalinskiHarabasz)
		near(t, c.name+" Davies-Bouldin", r.DaviesBouldin, ref.DaviesBouldin)
		if r.SilhouetteCI != nil || r.SilhouetteRows != int64(len(c.rows)) {
			t.Fatalf("%s: %d rows measured, interval %v: want every row, exactly", c.name, r.SilhouetteRows, r.SilhouetteCI)
		}
		for s, ps := range ref.PerSegment {
			got := r.PerSegment[s]
			if got.Size != ps.Size {
				t.Fatalf("%s segment %d: size %d, want %d", c.name, s, got.Size, ps.Size)
			}
			near(t, c.name+" segment silhouette", got.Silhouette, ps.Silhouette)
			if *got.NegativeShare != ps.NegativeShare {
				t.Fatalf("%s segment %d: negative share %v, want %v", c.name, s, *got.NegativeShare, ps.NegativeShare)
			}
		}
		if again := evaluateBlocks(t, Config{}, m, blocks, 3); !reflect.DeepEqual(again, r) {
			t.Fatalf("%s: the report changed with the parallelism", c.name)
		}
		man := evaluateBlocks(t, Config{Distance: Manhattan}, m, blocks, 2)
		near(t, c.name+" Manhattan silhouette", man.Silhouette, ref.SilhouetteManhattan)
		if *man.CalinskiHarabasz != *r.CalinskiHarabasz || r.SimplifiedSilhouette == nil || *r.SimplifiedSilhouette == *r.Silhouette {
			t.Fatalf("%s: Calinski-Harabasz depends on the silhouette's distance, or the simplified silhouette passes for the silhouette", c.name)
		}
	}
}

// The reference file is what scikit-learn computes now: when Python with
// scikit-learn is installed, the script runs again into a temporary copy
// and must give the same numbers.
func TestReferenceIsCurrent(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import sklearn").Run(); err != nil {
		t.Skip("no scikit-learn for /usr/bin/python3 (apt-get install python3-sklearn)")
	}
	if _, err := os.Stat(mallPath); err != nil {
		t.Skip("no Mall Customers file")
	}
	dir := t.TempDir()
	script, err := os.ReadFile("testdata/sklearn_reference.py")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(mallPath)
	text := strings.Replace(string(script), `os.path.join(here, "../../../../shared/data/mall_customers/Mall_Customers.csv")`, strconv.Quote(abs), 1)
	if err := os.WriteFile(filepath.Join(dir, "ref.py"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(py, filepath.Join(dir, "ref.py")).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	fresh, err := os.ReadFile(filepath.Join(dir, "sklearn.json"))
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]reference
	committed, _ := os.ReadFile("testdata/sklearn.json")
	if json.Unmarshal(fresh, &a) != nil || json.Unmarshal(committed, &b) != nil {
		t.Fatal("unreadable reference")
	}
	for name, r := range b {
		f := a[name]
		for _, pair := range [][2]float64{{f.Silhouette, r.Silhouette}, {f.CalinskiHarabasz, r.CalinskiHarabasz}, {f.DaviesBouldin, r.DaviesBouldin}, {f.SilhouetteManhattan, r.SilhouetteManhattan}} {
			if math.Abs(pair[0]-pair[1]) > 1e-12*math.Abs(pair[1]) {
				t.Fatalf("%s: scikit-learn now gives %v, the committed reference %v: run testdata/sklearn_reference.py", name, pair[0], pair[1])
			}
		}
	}
}

func blobsModel(t *testing.T) (algorithms.Model, []*partition.Block) {
	t.Helper()
	return modelOf(t, references(t)["blobs"]), partition.BlocksOf(readRows(t, "testdata/blobs.csv", false, 0, 1, 2, 3), 4)
}

// A sampled silhouette's 95% interval covers the exact value for at least
// 95 of 100 seeds (1000 of a third of the 3000 rows), every segment is
// measured, and the rows measured are about the sample asked for.
func TestSampledSilhouetteIntervalCoversTheExactValue(t *testing.T) {
	const seeds = 100
	m, blocks := blobsModel(t)
	exact := *evaluateBlocks(t, Config{}, m, blocks, 2).Silhouette
	covered := 0
	for seed := range uint64(seeds) {
		r := evaluateBlocks(t, Config{Exact: 500, Sample: 1000, Seed: seed}, m, blocks, 2)
		if r.SilhouetteCI == nil {
			t.Fatal("a sampled silhouette without an interval")
		}
		if r.SilhouetteRows < 850 || r.SilhouetteRows > 1150 {
			t.Fatalf("seed %d: %d rows measured for a sample of 1000", seed, r.SilhouetteRows)
		}
		for _, s := range r.PerSegment {
			if s.Measured < 100 || s.Silhouette == nil {
				t.Fatalf("seed %d: segment %d measured on %d rows", seed, s.Segment, s.Measured)
			}
		}
		if ci := r.SilhouetteCI; ci[0] <= exact && exact <= ci[1] {
			covered++
		}
	}
	t.Logf("the interval covered the exact silhouette for %d of %d seeds", covered, seeds)
	if covered < seeds*95/100 {
		t.Fatalf("the interval covered the exact silhouette %.4f for %d of 100 seeds", exact, covered)
	}
}

// One segment leaves the silhouette, Calinski-Harabasz and Davies-Bouldin
// undefined: absent, with a note, never NaN.
func TestOneSegmentIsSaidNotNaN(t *testing.T) {
	_, blocks := blobsModel(t)
	m, err := kmeans.NewModel(kmeans.Result{Centroids: [][]float64{{0, 0, 0, 0}}, Sizes: []int64{3000}})
	if err != nil {
		t.Fatal(err)
	}
	r := evaluateBlocks(t, Config{}, m, blocks, 2)
	if r.Silhouette != nil || r.CalinskiHarabasz != nil || r.DaviesBouldin != nil || len(r.Notes) == 0 || math.IsNaN(r.WCSS) || r.WCSS <= 0 {
		t.Fatalf("one segment: %+v", r)
	}
	data, err := json.Marshal(r)
	if err != nil || strings.Contains(string(data), "NaN") {
		t.Fatalf("report %s: %v", data, err)
	}
}

// noiseModel is k-means whose second segment is noise (−1): a stand-in
// for DBSCAN's outliers.
type noiseModel struct{ algorithms.Model }

func (n noiseModel) Assign(data []float32, rows, stride int, out algorithms.Assigned) error {
	if err := n.Model.Assign(data, rows, stride, out); err != nil {
		return err
	}
	for i, c := range out.Segment {
		if c == 1 {
			out.Segment[i] = -1
		}
	}
	return nil
}

// A sample no smaller than the data measures every row, and says so; the
// report's JSON names its fields as the summary's contract does.
func TestSampleAsLargeAsTheDataIsExactWithANote(t *testing.T) {
	m, blocks := blobsModel(t)
	r := evaluateBlocks(t, Config{Exact: 100, Sample: 5000}, m, blocks, 2)
	if r.SilhouetteCI != nil || r.SilhouetteRows != 3000 || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "every row was measured") {
		t.Fatalf("a sample of 5000 of 3000 rows: %d measured, notes %q", r.SilhouetteRows, r.Notes)
	}
	exact := evaluateBlocks(t, Config{}, m, blocks, 2)
	if *r.Silhouette != *exact.Silhouette {
		t.Fatalf("silhouette %v, the exact %v", *r.Silhouette, *exact.Silhouette)
	}
	data, err := json.Marshal(exact)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"rows", "k", "wcss", "silhouette", "calinski_harabasz", "davies_bouldin", "simplified_silhouette", "segments"} {
		if _, ok := fields[key]; !ok {
			t.Fatalf("the report's JSON has no %q: %s", key, data)
		}
	}
	var segs []map[string]any
	if err := json.Unmarshal(fields["segments"], &segs); err != nil || len(segs) != 6 || segs[0]["negative_share"] == nil {
		t.Fatalf("segments %s: %v", fields["segments"], err)
	}
}

// Rows without a segment are counted apart and left out of every metric.
func TestNoiseRowsAreLeftOut(t *testing.T) {
	m, blocks := blobsModel(t)
	p, err := New(Config{}, kmeans.Name, noiseModel{m}, 3000, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := algorithms.Drive(context.Background(), p, &algorithms.LocalExecutor{Blocks: blocks}, nil); err != nil {
		t.Fatal(err)
	}
	r, _ := p.Report()
	want := references(t)["blobs"].PerSegment[1].Size
	if r.Noise != want || r.Rows != 3000-want || r.Segments != 5 || r.PerSegment[1].Size != 0 || r.SilhouetteRows != r.Rows {
		t.Fatalf("noise %d rows %d segments %d: want %d noise rows left out", r.Noise, r.Rows, r.Segments, want)
	}
}

// Steps and partials cross the wire and come back the same; a truncated
// partial is an error.
func TestStepsAndPartialsRoundTrip(t *testing.T) {
	m, blocks := blobsModel(t)
	ref, err := algorithms.NewModelRef(kmeans.Name, m)
	if err != nil {
		t.Fatal(err)
	}
	steps := []algorithms.Step{
		&segmentsStep{Ref: ref, K: 6, Dims: 4},
		&spreadStep{Ref: ref, Dims: 4, Means: [][]float64{{1, 2, 3, 4}, {-1, 0, 2, 5}, {0, 0, 0, 0}, {1, 1, 1, 1}, {2, 2, 2, 2}, {3, 3, 3, 3}}, Frac: []float64{1, 0, 0.5, 1, 1, 0.1}, Seed: 3, Distance: Euclidean},
		&distancesStep{Ref: ref, K: 6, Dims: 4, Rows: blocks[0].Data[:8], Distance: Manhattan},
	}
	for _, s := range steps {
		params, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		back, err := (Codec{}).DecodeStep(s.Kind(), params)
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.Map(blocks[1])
		if err != nil {
			t.Fatal(err)
		}
		got, err := back.Map(blocks[1])
		if err != nil {
			t.Fatal(err)
		}
		data, err := got.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		decoded, err := (Codec{}).DecodePartial(s.Kind(), data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(decoded, want) {
			t.Fatalf("%s: the partial changed on the wire", s.Kind())
		}
		if _, err := (Codec{}).DecodePartial(s.Kind(), data[:len(data)-1]); err == nil {
			t.Fatalf("%s: a truncated partial decoded", s.Kind())
		}
	}
	// A halved step's plan travels too; a cut or padded one is refused.
	half := &distancesStep{Ref: ref, K: 6, Dims: 4, Rows: blocks[0].Data[:8], Distance: Euclidean,
		Half: &halfPlan{Token: 99, Lo: 2, Labels: []int32{3, 5}, Parts: []int64{0, 0, 10, 1, 10, 7}}}
	params, err := half.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := (Codec{}).DecodeStep(half.Kind(), params)
	if err != nil {
		t.Fatal(err)
	}
	b := back.(*distancesStep)
	if b.Ref.Algorithm != ref.Algorithm || !reflect.DeepEqual(b.Ref.Model, ref.Model) || b.K != 6 || b.Dims != 4 ||
		!reflect.DeepEqual(b.Rows, half.Rows) || b.Distance != Euclidean || !reflect.DeepEqual(b.Half, half.Half) {
		t.Fatalf("the halved step changed on the wire: %+v %+v", b, b.Half)
	}
	for _, bad := range [][]byte{params[:len(params)-1], append(params, 0), params[:10]} {
		if _, err := (Codec{}).DecodeStep(half.Kind(), bad); err == nil {
			t.Fatalf("%d bytes of a %d-byte step decoded", len(bad), len(params))
		}
	}
}
