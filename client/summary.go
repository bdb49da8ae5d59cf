package client

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

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
	Restart    int         `json:"restart"`
	WCSS       float64     `json:"wcss"`
	Centroids  [][]float64 `json:"centroids"`
	Sizes      []int64     `json:"sizes"`
	Seconds    float64     `json:"seconds"`
	Workers    int         `json:"workers"`
}

// SummaryOf flattens a result message.
func SummaryOf(r *pb.JobResult) Summary {
	s := Summary{
		Algorithm: r.Algorithm, K: int(r.K), Rows: r.Rows, Dims: int(r.Dims),
		Iterations: int(r.Iterations), Converged: r.Converged, Restart: int(r.Restart),
		WCSS: r.Wcss, Sizes: r.Sizes, Seconds: r.Seconds, Workers: int(r.Workers),
	}
	if r.Job != nil {
		s.Job, s.Name = r.Job.Id, r.Job.Name
	}
	for _, c := range r.Centroids {
		s.Centroids = append(s.Centroids, c.Values)
	}
	return s
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
	fmt.Fprintf(w, "%d iterations (%s), WCSS %.6g, %.2fs\n\n", s.Iterations, conv, s.WCSS, s.Seconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "segment\tsize\tshare\tcentroid\t")
	for i, c := range s.Centroids {
		var size int64
		if i < len(s.Sizes) {
			size = s.Sizes[i]
		}
		share := 0.0
		if s.Rows > 0 {
			share = 100 * float64(size) / float64(s.Rows)
		}
		fmt.Fprintf(tw, "%d\t%d\t%.1f%%\t%s\t\n", i, size, share, vector(c, 6))
	}
	return tw.Flush()
}

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

// WriteOutputs stores summary.json and centroids.csv under dir.
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
	var b strings.Builder
	b.WriteString("segment,size")
	for j := range s.Dims {
		fmt.Fprintf(&b, ",x%d", j)
	}
	b.WriteString("\n")
	for i, c := range s.Centroids {
		fmt.Fprintf(&b, "%d,%d", i, s.Sizes[i])
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
