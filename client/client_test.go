package client

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/cohort/cohort/proto"
)

func TestDialUnreachableFailsFastNamingTheAddress(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	began := time.Now()
	_, err := Dial(context.Background(), addr)
	if err == nil || !strings.Contains(err.Error(), "cannot reach coordinator at "+addr) {
		t.Fatalf("error %v", err)
	}
	if d := time.Since(began); d > DialTimeout+time.Second {
		t.Fatalf("took %s", d)
	}
}

func TestLeaderHint(t *testing.T) {
	st, _ := status.New(codes.FailedPrecondition, "not the leader").WithDetails(
		&errdetails.ErrorInfo{Reason: pb.ReasonNotLeader, Domain: "cohort", Metadata: map[string]string{"leader": "10.0.0.2:7400"}})
	if got := pb.LeaderHint(st.Err()); got != "10.0.0.2:7400" {
		t.Fatalf("hint %q", got)
	}
	if got := pb.LeaderHint(status.Error(codes.Internal, "x")); got != "" {
		t.Fatalf("hint %q from a plain error", got)
	}
}

func TestSummaryOutputs(t *testing.T) {
	s := SummaryOf(&pb.JobResult{
		Job: &pb.Job{Id: "job-000001"}, Algorithm: "kmeans", K: 2, Rows: 10, Dims: 2, Iterations: 3, Metrics: map[string]float64{"wcss": 1.5},
		Centroids: []*pb.Vector{{Values: []float64{1, 2}}, {Values: []float64{0.1, 3}}}, Sizes: []int64{4, 6}, Converged: true,
	})
	dir := filepath.Join(t.TempDir(), "out")
	if err := s.WriteOutputs(dir); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "summary.json"))
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"algorithm", "k", "rows", "iterations", "wcss", "centroids", "sizes", "seconds"} {
		if _, ok := back[k]; !ok {
			t.Errorf("summary.json lacks %q", k)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "centroids.csv"))
	if string(csv) != "segment,size,x0,x1\n0,4,1,2\n1,6,0.1,3\n" {
		t.Fatalf("centroids.csv:\n%s", csv)
	}
	var text strings.Builder
	s.WriteText(&text)
	if !strings.Contains(text.String(), "60.0%") {
		t.Fatalf("text summary lacks shares:\n%s", text.String())
	}
}

// A choice of k prints every candidate, the chosen one marked, and WCSS
// as bars whose lengths follow it; summary.json carries the table.
func TestChoiceOfKIsPrintedAsATable(t *testing.T) {
	ev := `{"rows":10,"k":3,"distance":"euclidean","wcss":20,"silhouette":0.61,"silhouette_rows":10,"segments":[],` +
		`"chosen_k":3,"rule":"silhouette","candidates":[{"k":2,"segments":2,"wcss":80,"silhouette":0.4},{"k":3,"segments":3,"wcss":20,"silhouette":0.61,"chosen":true},{"k":4,"segments":4,"wcss":10,"silhouette":0.5}]}`
	s := SummaryOf(&pb.JobResult{Job: &pb.Job{Id: "job-000001"}, Algorithm: "kmeans", K: 3, Rows: 10, Dims: 2, EvaluationJson: []byte(ev)})
	var text strings.Builder
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	if !strings.Contains(out, "choosing k by silhouette: k=3") || !strings.Contains(out, "evaluation (k=3,") {
		t.Fatalf("no choice in:\n%s", out)
	}
	bars := map[string]int{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && (f[0] == "→" || f[0] == "2" || f[0] == "4") {
			k := f[0]
			if k == "→" {
				k = f[1]
			}
			bars[k] = strings.Count(line, "█")
		}
	}
	if bars["2"] != elbowWidth || bars["3"] != elbowWidth/4 || bars["4"] != elbowWidth/8 {
		t.Fatalf("bars %v in:\n%s", bars, out)
	}
	var back struct {
		Evaluation struct {
			ChosenK    int `json:"chosen_k"`
			Candidates []struct {
				K int `json:"k"`
			} `json:"candidates"`
		} `json:"evaluation"`
	}
	b, _ := json.Marshal(s)
	if err := json.Unmarshal(b, &back); err != nil || back.Evaluation.ChosenK != 3 || len(back.Evaluation.Candidates) != 3 {
		t.Fatalf("summary.json %s (%v)", b, err)
	}
}

// Stability and a holdout print as tables: the resamples' agreement, each
// segment's recovery with the unstable one marked, and the two sides of
// the holdout in columns.
func TestStabilityAndHoldoutArePrinted(t *testing.T) {
	ev := `{"rows":80,"k":2,"distance":"euclidean","wcss":20,"silhouette":0.61,"silhouette_rows":80,"segments":[{"segment":0,"size":60},{"segment":1,"size":20}],` +
		`"stability":{"resamples":5,"fraction":0.8,"adjusted_rand":{"mean":0.9,"min":0.8,"max":1,"of":5},"prediction_strength":{"mean":0.7,"min":0.6,"max":0.8,"of":5},` +
		`"segments":[{"segment":0,"jaccard":{"mean":0.95,"min":0.9,"max":1,"of":5},"dissolved":0,"recovered":5,"prediction_strength":{"mean":0.9,"min":0.9,"max":0.9,"of":5}},` +
		`{"segment":1,"jaccard":{"mean":0.5,"min":0.4,"max":0.6,"of":5},"dissolved":3,"recovered":0,"prediction_strength":{"mean":0.6,"min":0.5,"max":0.7,"of":5},"unstable":true}],"unstable":[1]},` +
		`"holdout":{"fraction":0.2,"fitted":{"rows":80,"silhouette":0.61,"wcss_per_row":0.25,"shares":[0.75,0.25]},"held_out":{"rows":20,"silhouette":0.58,"wcss_per_row":0.3,"shares":[0.7,0.3]}}}`
	s := SummaryOf(&pb.JobResult{Job: &pb.Job{Id: "job-000001"}, Algorithm: "kmeans", K: 2, Rows: 100, Dims: 2, EvaluationJson: []byte(ev)})
	var text strings.Builder
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	for _, want := range []string{
		"stability (5 refits, each on 80% of the rows):",
		"adjusted Rand index against the full fit 0.900 (0.800 to 1.000)",
		"prediction strength (at least 0.8 is stable) 0.700 (0.600 to 0.800)",
		"held out (20% of the rows kept out of the fit, assigned after):",
	} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	lines := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			lines[strings.Join(f[:min(len(f), 2)], " ")] = strings.Join(f, " ")
		}
	}
	if got := lines["1 0.500"]; got != "1 0.500 (0.400 to 0.600) 3 0 0.600 (0.500 to 0.700) unstable" {
		t.Errorf("segment 1's stability: %q in:\n%s", got, out)
	}
	if got := lines["silhouette 0.6100"]; got != "silhouette 0.6100 0.5800" {
		t.Errorf("the holdout's silhouettes: %q in:\n%s", got, out)
	}
	if got := lines["segment 1"]; got != "segment 1 share 25.0% 30.0%" {
		t.Errorf("the holdout's shares: %q in:\n%s", got, out)
	}
}
