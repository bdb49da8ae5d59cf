package coordinator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cohort/cohort/algorithms/features"
	pb "github.com/cohort/cohort/proto"
)

// holds says whether the coordinator at addr serves the upload.
func holds(t *testing.T, addr, uri string) bool {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := pb.NewCoordinatorClient(conn).FetchUpload(ctx, &pb.FetchUploadRequest{Uri: uri})
	if err != nil {
		return false
	}
	for {
		if _, err := stream.Recv(); err != nil {
			return err == io.EOF
		}
	}
}

// A file uploaded through a follower reaches the leader (the client
// follows the redirect), every coordinator keeps a copy, and after the
// leader is lost the new one runs a job over the upload, its worker
// fetching the file from a coordinator that is left.
func TestUploadIsCopiedToEveryCoordinatorAndOutlivesTheLeader(t *testing.T) {
	c := startCoordinators(t, 3, 20*time.Second)
	c.AddWorkers(1)
	follower := 0
	for c.Coords[follower].IsLeader() {
		follower++
	}
	resp, err := c.Client(follower).Upload(context.Background(), retailExcerpt)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(resp.Uri, "/online_retail_excerpt.csv") || resp.Bytes == 0 {
		t.Fatalf("upload answered %+v", resp)
	}
	c.Await("every coordinator holds the upload", func() bool {
		for _, n := range c.Coords {
			if !holds(t, n.GRPCAddr(), resp.Uri) {
				return false
			}
		}
		return true
	})
	leader := c.Leader()
	leader.Close()
	c.Await("a new leader", func() bool { l := c.Leader(); return l != nil && l != leader })
	survivor := 0
	for c.Coords[survivor] == leader {
		survivor++
	}
	spec := strings.Replace(retailSpec("", 20), "path: "+retailExcerpt, "path: "+resp.Uri, 1)
	res := c.Run(survivor, spec, nil)
	var sum features.LogSummary
	if err := json.Unmarshal(res.TransactionsJson, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Lines != 3877 || sum.Customers != 60 {
		t.Fatalf("transactions %+v", sum)
	}

	// An upload no one sent is refused by name.
	missing := fmt.Sprintf("upload://%s/x.csv", strings.Repeat("ab", 32))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := c.Client(survivor)
	job, err := cl.Submit(ctx, []byte(strings.Replace(spec, resp.Uri, missing, 1)))
	if err != nil {
		t.Fatal(err)
	}
	final, err := cl.Wait(ctx, job.Id, nil)
	if err != nil || final.State != pb.JobState_JOB_STATE_FAILED || !strings.Contains(final.Error, "no such upload") {
		t.Fatalf("job over a missing upload: %v, %s: %s", err, final.GetState(), final.GetError())
	}
}
