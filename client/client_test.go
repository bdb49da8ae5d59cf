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
