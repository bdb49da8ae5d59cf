package localcluster

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/cohort/cohort/client"
	"github.com/cohort/cohort/partition"
	pb "github.com/cohort/cohort/proto"
	"github.com/cohort/cohort/worker"
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

func TestHeldBlocksFindsEachPartitionOnItsWorker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := Start(ctx, Config{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	spec := partition.Spec{Synthetic: &partition.SyntheticSpec{Kind: "blobs", Rows: 5000, Dims: 3, Clusters: 3, Spread: 1}, PartitionRows: 1000}
	if _, err := cl.Workers[0].Store().Load(ctx, "ds", spec, []int{0, 2, 4}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.HeldBlocks("ds", 5); !errors.Is(err, worker.ErrNotLoaded) {
		t.Fatalf("partitions 1 and 3 are nowhere, got %v", err)
	}
	if _, err := cl.Workers[1].Store().Load(ctx, "ds", spec, []int{1, 3}, true); err != nil {
		t.Fatal(err)
	}
	blocks, err := cl.HeldBlocks("ds", 5)
	if err != nil {
		t.Fatal(err)
	}
	for id, b := range blocks {
		if b.ID != id || b.Rows != 1000 {
			t.Fatalf("block %d: id %d, %d rows", id, b.ID, b.Rows)
		}
	}
}
