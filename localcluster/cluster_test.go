package localcluster

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/cohort/cohort/client"
	pb "github.com/cohort/cohort/proto"
)

func TestEmbeddedClusterRunsAJobAndCleansUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := Start(ctx, Config{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	dir := cl.tempDir
	c, err := client.Dial(ctx, cl.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil || len(st.Workers) != 2 || st.LeaderId != "embedded" {
		t.Fatalf("status %+v, %v", st, err)
	}
	job, err := c.Submit(ctx, []byte("data:\n  synthetic: {rows: 5000, dims: 3, clusters: 3}\n  partition_rows: 1000\ncluster:\n  k: 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	final, err := c.Wait(ctx, job.Id, nil)
	if err != nil || final.State != pb.JobState_JOB_STATE_SUCCEEDED {
		t.Fatalf("job %+v, %v", final, err)
	}
	if err := cl.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("temporary raft dir %s left behind: %v", dir, err)
	}
}

func TestRefusesNegativeWorkers(t *testing.T) {
	if _, err := Start(context.Background(), Config{Workers: -1}); err == nil {
		t.Fatal("started with -1 workers")
	}
}
