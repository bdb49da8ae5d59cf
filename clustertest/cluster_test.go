package clustertest

import (
	"testing"
	"time"
)

// A cluster with real TCP Raft and Bolt stores on disk runs a job to the
// end and releases its data, as the in-memory one does.
func TestOnDiskClusterRunsAJob(t *testing.T) {
	c := Start(t, Options{Coordinators: 2, Workers: 1, OnDisk: true, WorkerWait: 10 * time.Second})
	res := c.Run(1, "name: d\ndata:\n  synthetic: {kind: blobs, rows: 6000, dims: 3, clusters: 3, spread: 0.5, seed: 2}\n  partition_rows: 1000\ncluster: {k: 3}\n", nil)
	if res.Rows != 6000 || res.K != 3 || len(res.Centroids) != 3 {
		t.Fatalf("%d rows, k %d, %d centroids", res.Rows, res.K, len(res.Centroids))
	}
	c.AwaitReleased()
}
