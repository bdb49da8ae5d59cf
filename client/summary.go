package client

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cohort/cohort/algorithms/choose"
	"github.com/cohort/cohort/algorithms/features"
	"github.com/cohort/cohort/algorithms/prepare"
	"github.com/cohort/cohort/algorithms/profile"
	"github.com/cohort/cohort/partition"
	pb "github.com/cohort/cohort/proto"
)

// Summary is the result of a finished job as `--json` prints it and as
// summary.json stores it; field names are part of the CLI contract.
type Summary struct {
	Job        string      `json:"job"`
	Name       string      `json:"name,omitempty"`
	Algorithm  string      `json:"algorithm"`
	K          int         `json:"k"`
	Rows       int64       `json:"rows"`
	Dims       int         `json:"dims"`
	Iterations int         `json:"iterations"`
	Converged  bool        `json:"converged"`
	Centroids  [][]float64 `json:"centroids,omitempty"` // the segments' centres, when the algorithm has them
	Sizes      []int64     `json:"sizes"`
	Seconds    float64     `json:"seconds"`
	Workers    int         `json:"workers"`
	// Metrics are the algorithm's own measures (k-means: wcss); the JSON
	// has each at the top level too, as the CLI contract names them.
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Details are other facts the algorithm reports (a JSON object),
	// merged into the top level of the JSON.
	Details json.RawMessage `json:"-"`
	// A job over files: the names of the dims, and what reading and
	// preparing the data did to its rows.
	Features []string          `json:"features,omitempty"`
	Data     *DataSummary      `json:"data,omitempty"`
	Profiles []profile.Profile `json:"profiles,omitempty"`
	// Evaluation is the segmentation's scores, when the spec asked for
	// them (evaluate:).
	Evaluation *choose.Report `json:"evaluation,omitempty"`
	// Transactions, for a job over a transaction log, is what became of
	// its lines: every one is in a customer's row or counted here.
	Transactions *features.LogSummary `json:"transactions,omitempty"`
	// Stages are the job's stages in order, with their wall time and
	// what they read from the data's source; Phases the finer steps
	// within them.
	Stages []Stage `json:"stages,omitempty"`
	Phases []Phase `json:"phases,omitempty"`

	pipeline json.RawMessage // the fitted preparation, for pipeline.json
}

// Stage is one stage of a job's pipeline.
type Stage struct {
	Name      string  `json:"name"`
	Seconds   float64 `json:"seconds"`
	BytesRead int64   `json:"bytes_read"`
	Note      string  `json:"note,omitempty"`
}

// Phase is the wall time a job spent in one phase.
type Phase struct {
	Phase   string  `json:"phase"`
	Seconds float64 `json:"seconds"`
}

// DataSummary accounts for every row of a job's files: read into a
// segment, dropped by a rule, or unreadable (with where and why, for the
// first ones).
type DataSummary struct {
	Read      int64              `json:"read"`
	Rejected  int64              `json:"rejected"`
	Dropped   int64              `json:"dropped"`
	DroppedBy map[string]int64   `json:"dropped_by,omitempty"`
	Imputed   map[string]int64   `json:"imputed,omitempty"`
	Outliers  map[string]int64   `json:"outliers,omitempty"`
	Rejects   []partition.Reject `json:"rejects,omitempty"`
	// Duplicates are rows folded into another of the same customer id, or
	// dropped with it, by DuplicateRule (data.duplicates).
	Duplicates    int64  `json:"duplicates,omitempty"`
	DuplicateRule string `json:"duplicate_rule,omitempty"`
	// With PCA, the share of the variance each component explains.
	Explained []float64 `json:"pca_explained,omitempty"`
}

// duplicateWords say what each data.duplicates rule did to the rows it
// counts.
var duplicateWords = map[string]string{
	prepare.DupFirst: "dropped, each after the first row of its customer id",
	prepare.DupLast:  "dropped, each before the last row of its customer id",
	prepare.DupMerge: "merged into the row of their customer id (each column's last value that is not missing)",
	prepare.DupDrop:  "dropped, every row of a customer id that is on several",
}

func dataSummary(raw []byte) (*DataSummary, []string, error) {
	var pl prepare.Pipeline
	if err := json.Unmarshal(raw, &pl); err != nil || pl.Encoder == nil {
		return nil, nil, fmt.Errorf("decode the job's preparation: %v", err)
	}
	d := &DataSummary{Read: pl.Counts.Rows, Rejected: pl.Rejected, Dropped: pl.Counts.Dropped, Rejects: pl.Rejects,
		Duplicates: pl.Duplicates, DuplicateRule: pl.DuplicateRule}
	byInput := func(counts []int64) map[string]int64 {
		var m map[string]int64
		for i, n := range counts {
			if n > 0 && i < len(pl.Encoder.Inputs) {
				if m == nil {
					m = map[string]int64{}
				}
				m[pl.Encoder.Inputs[i].Column] = n
			}
		}
		return m
	}
	d.DroppedBy, d.Imputed, d.Outliers = byInput(pl.Counts.DropBy), byInput(pl.Counts.Imputed), byInput(pl.Counts.Outside)
	if pl.PCA != nil {
		d.Explained = pl.PCA.Explained
	}
	return d, pl.Names(), nil
}

// SummaryOf flattens a result message.
func SummaryOf(r *pb.JobResult) Summary {
	s := Summary{
		Algorithm: r.Algorithm, K: int(r.K), Rows: r.Rows, Dims: int(r.Dims),
		Iterations: int(r.Iterations), Converged: r.Converged, Metrics: r.Metrics, Details: r.DetailsJson,
		Sizes: r.Sizes, Seconds: r.Seconds, Workers: int(r.Workers),
	}
	if r.Job != nil {
		s.Job, s.Name = r.Job.Id, r.Job.Name
	}
	for _, c := range r.Centroids {
		s.Centroids = append(s.Centroids, c.Values)
	}
	if len(r.PreparedJson) > 0 {
		s.pipeline = r.PreparedJson
		// A preparation this client cannot read leaves the summary
		// without it rather than failing a finished job.
		s.Data, s.Features, _ = dataSummary(r.PreparedJson)
	}
	for _, p := range r.Phases {
		s.Phases = append(s.Phases, Phase{p.Phase, p.Seconds})
	}
	for _, st := range r.Stages {
		s.Stages = append(s.Stages, Stage{st.Name, st.Seconds, st.BytesRead, st.Note})
	}
	if len(r.ProfilesJson) > 0 {
		_ = json.Unmarshal(r.ProfilesJson, &s.Profiles) // as above: shown if readable
	}
	if len(r.EvaluationJson) > 0 {
		var e choose.Report
		if json.Unmarshal(r.EvaluationJson, &e) == nil {
			s.Evaluation = &e
		}
	}
	if len(r.TransactionsJson) > 0 {
		var t features.LogSummary
		if json.Unmarshal(r.TransactionsJson, &t) == nil {
			s.Transactions = &t
		}
	}
	return s
}

// MarshalJSON writes the summary's fields, then each metric and detail at
// the top level, where no field of the summary has the name already.
func (s Summary) MarshalJSON() ([]byte, error) {
	type plain Summary
	base, err := json.Marshal(plain(s))
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(base, &fields); err != nil {
		return nil, err
	}
	extra := map[string]json.RawMessage{}
	if len(s.Details) > 0 {
		if err := json.Unmarshal(s.Details, &extra); err != nil {
			return nil, fmt.Errorf("the algorithm's details: %w", err)
		}
	}
	for k, v := range s.Metrics {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", k, err)
		}
		extra[k] = b
	}
	for k, v := range extra {
		if _, ok := fields[k]; !ok {
			fields[k] = v
		}
	}
	return json.Marshal(fields)
}

// WriteJSON prints the summary as indented JSON.
func (s Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteText prints the summary for a person: totals, then one line per segment.
func (s Summary) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "job %s: %s, k=%d, %d rows × %d dims on %d workers\n", s.Job, s.Algorithm, s.K, s.Rows, s.Dims, s.Workers)
	conv := "converged"
	if !s.Converged {
		conv = "stopped at max_iter"
	}
	line := fmt.Sprintf("%d iterations (%s)", s.Iterations, conv)
	var given struct {
		Labels string   `json:"labels"`
		Levels []string `json:"levels"`
	}
	if len(s.Details) > 0 && json.Unmarshal(s.Details, &given) == nil && given.Labels != "" {
		// Labels made elsewhere: nothing was fitted, and the segments'
		// numbers stand for the labels.
		var names []string
		for i, l := range given.Levels {
			names = append(names, fmt.Sprintf("%d = %s", i, l))
		}
		line = fmt.Sprintf("labels in column %s scored, not fitted (segments %s)", given.Labels, strings.Join(names, ", "))
	}
	for _, name := range slices.Sorted(maps.Keys(s.Metrics)) {
		line += fmt.Sprintf(", %s %.6g", name, s.Metrics[name])
	}
	fmt.Fprintf(w, "%s, %.2fs\n", line, s.Seconds)
	if len(s.Stages) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "stage\tseconds\tread\t")
		for _, st := range s.Stages {
			fmt.Fprintf(tw, "%s\t%.2f\t%s\t\n", st.Name, st.Seconds, byteSize(st.BytesRead))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, st := range s.Stages {
			if st.Note != "" {
				fmt.Fprintf(w, "  %s: %s\n", st.Name, st.Note)
			}
		}
	}
	if len(s.Phases) > 0 {
		var parts []string
		for _, p := range s.Phases {
			parts = append(parts, fmt.Sprintf("%s %.2fs", p.Phase, p.Seconds))
		}
		fmt.Fprintf(w, "phases: %s\n", strings.Join(parts, ", "))
	}
	if t := s.Transactions; t != nil {
		fmt.Fprintf(w, "transactions: %d lines read (%d could not be read) into %d customers in %d buckets, as of %s\n",
			t.Lines, t.Rejected, t.Customers, t.Buckets, t.AsOf)
		fmt.Fprintf(w, "  not a customer's: %d lines without a customer id (amount %.2f), %d without a time, order or value; %d lines are returns or cancellations\n",
			t.NoCustomer, t.NoCustomerAmount, t.Incomplete, t.Returns)
	}
	if d := s.Data; d != nil {
		fmt.Fprintf(w, "rows: %d read, %d could not be read, %d dropped for missing values; features: %s\n",
			d.Read, d.Rejected, d.Dropped, strings.Join(s.Features, ", "))
		if what, ok := duplicateWords[d.DuplicateRule]; ok {
			fmt.Fprintf(w, "duplicates (data.duplicates: %s): %d rows %s\n", d.DuplicateRule, d.Duplicates, what)
		}
		if len(d.Explained) > 0 {
			var total float64
			for _, e := range d.Explained {
				total += e
			}
			fmt.Fprintf(w, "PCA: %d components explain %.1f%% of the variance\n", len(d.Explained), 100*total)
		}
		for _, r := range d.Rejects[:min(3, len(d.Rejects))] {
			fmt.Fprintf(w, "  not read: %s line %d: %s\n", r.File, r.Line, r.Reason)
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if len(s.Centroids) > 0 {
		fmt.Fprintln(tw, "segment\tsize\tshare\tcentroid\t")
	} else {
		fmt.Fprintln(tw, "segment\tsize\tshare\t")
	}
	// Sizes are the fit's: of the rows fitted, fewer than all when some
	// were held out.
	var fitted int64
	for _, size := range s.Sizes {
		fitted += size
	}
	if fitted > 0 && fitted < s.Rows {
		fmt.Fprintf(w, "segments of the %d rows fitted:\n", fitted)
	}
	for i, size := range s.Sizes {
		share := 0.0
		if fitted > 0 {
			share = 100 * float64(size) / float64(fitted)
		}
		if i < len(s.Centroids) {
			fmt.Fprintf(tw, "%d\t%d\t%.1f%%\t%s\t\n", i, size, share, vector(s.Centroids[i], 6))
		} else {
			fmt.Fprintf(tw, "%d\t%d\t%.1f%%\t\n", i, size, share)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := s.writeEvaluation(w); err != nil {
		return err
	}
	return s.writeProfiles(w)
}

// writeEvaluation prints the segmentation's scores: overall, then each
// segment's silhouette and share of rows nearer another segment.
func (s Summary) writeEvaluation(w io.Writer) error {
	e := s.Evaluation
	if e == nil {
		return nil
	}
	how := fmt.Sprintf("every row's silhouette measured, %s distance", e.Distance)
	if e.SilhouetteCI != nil {
		how = fmt.Sprintf("silhouette estimated from %d of %d rows, %s distance", e.SilhouetteRows, e.Rows, e.Distance)
	}
	if err := writeCandidates(w, e); err != nil {
		return err
	}
	if e.ChosenK > 0 {
		how = fmt.Sprintf("k=%d, %s", e.ChosenK, how)
	}
	fmt.Fprintf(w, "\nevaluation (%s):\n", how)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	metric := func(name string, v *float64, extra string) {
		if v != nil {
			fmt.Fprintf(tw, "  %s\t%.6g%s\t\n", name, *v, extra)
		}
	}
	ci := ""
	if c := e.SilhouetteCI; c != nil {
		ci = fmt.Sprintf("  (95%% interval %.4f to %.4f)", c[0], c[1])
	}
	metric("silhouette", e.Silhouette, ci)
	metric("simplified silhouette (to the means)", e.SimplifiedSilhouette, "")
	metric("Calinski-Harabasz", e.CalinskiHarabasz, "")
	metric("Davies-Bouldin", e.DaviesBouldin, "")
	metric("WCSS (about the means)", &e.WCSS, "")
	if e.Noise > 0 {
		fmt.Fprintf(tw, "  rows without a segment, left out\t%d\t\n", e.Noise)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range e.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	if e.Silhouette != nil {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "segment\tsilhouette\tbelow 0\tmeasured\t")
		for _, g := range e.PerSegment {
			if g.Silhouette == nil {
				continue
			}
			fmt.Fprintf(tw, "%d\t%.4f\t%.1f%%\t%d\t\n", g.Segment, *g.Silhouette, 100**g.NegativeShare, g.Measured)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if err := writeStability(w, e.Stability); err != nil {
		return err
	}
	return writeHoldout(w, e.Holdout)
}

// writeProfiles prints each segment's profile in the data's own units:
// label, then each number's median (and mean) against all rows' median,
// then the top categories with their share against the overall share.
func (s Summary) writeProfiles(w io.Writer) error {
	if len(s.Profiles) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nsegment profiles (medians in the data's units; all rows' median in brackets):")
	for _, p := range s.Profiles {
		fmt.Fprintf(w, "\n%d  %s — %d customers (%.1f%%)\n", p.Segment, p.Label, p.Size, 100*p.Share)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, n := range p.Numbers {
			if n.Time {
				fmt.Fprintf(tw, "   %s\t%s\t[%s]\t\n", n.Column, day(n.Median), day(n.Overall))
				continue
			}
			fmt.Fprintf(tw, "   %s\t%.6g (mean %.4g)\t[%.6g]\t\n", n.Column, n.Median, n.Mean, n.Overall)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, t := range p.Texts {
			var parts []string
			for _, c := range t.Top {
				parts = append(parts, fmt.Sprintf("%s %.0f%% [%.0f%%]", c.Value, 100*c.Share, 100*c.Overall))
			}
			fmt.Fprintf(w, "   %s: %s\n", t.Column, strings.Join(parts, ", "))
		}
	}
	return nil
}

// byteSize is n in the binary unit that keeps it readable.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func day(ms float64) string { return time.UnixMilli(int64(ms)).UTC().Format(time.DateOnly) }

func vector(v []float64, limit int) string {
	parts := make([]string, 0, min(len(v), limit)+1)
	for i, x := range v {
		if i == limit {
			parts = append(parts, fmt.Sprintf("… (%d dims)", len(v)))
			break
		}
		parts = append(parts, strconv.FormatFloat(x, 'g', 4, 64))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// WriteOutputs stores summary.json, centroids.csv (for segments with
// centres), profiles.json and pipeline.json under dir.
func (s Summary) WriteOutputs(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output dir: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, "summary.json"))
	if err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	if err := s.WriteJSON(f); err != nil {
		f.Close()
		return fmt.Errorf("write summary: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	if err := s.writeCentroids(dir); err != nil {
		return err
	}
	if len(s.Profiles) > 0 {
		data, err := json.MarshalIndent(s.Profiles, "", "  ")
		if err != nil {
			return fmt.Errorf("write profiles: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "profiles.json"), append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("write profiles: %w", err)
		}
	}
	if len(s.pipeline) > 0 {
		// The preparation is part of the model: new customers must be
		// prepared the same way before they are assigned a segment.
		if err := os.WriteFile(filepath.Join(dir, "pipeline.json"), s.pipeline, 0o644); err != nil {
			return fmt.Errorf("write pipeline: %w", err)
		}
	}
	return nil
}

// writeCentroids stores centroids.csv, when the segments have centres.
func (s Summary) writeCentroids(dir string) error {
	if len(s.Centroids) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("segment,size")
	for j := range s.Dims {
		if j < len(s.Features) {
			b.WriteString("," + csvField(s.Features[j]))
		} else {
			fmt.Fprintf(&b, ",x%d", j)
		}
	}
	b.WriteString("\n")
	for i, c := range s.Centroids {
		var size int64
		if i < len(s.Sizes) {
			size = s.Sizes[i]
		}
		fmt.Fprintf(&b, "%d,%d", i, size)
		for _, x := range c {
			b.WriteString("," + strconv.FormatFloat(x, 'g', -1, 64))
		}
		b.WriteString("\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "centroids.csv"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write centroids: %w", err)
	}
	return nil
}

// csvField quotes a header name that needs it ("Gender=F" does not;
// "Income, net" does).
func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n\r") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
