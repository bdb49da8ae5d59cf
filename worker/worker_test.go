package worker

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"reflect"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/cohort/cohort/algorithms/kmeans"
	"github.com/cohort/cohort/jobspec"
	"github.com/cohort/cohort/partition"
	pb "github.com/cohort/cohort/proto"
)

func spec() partition.Spec {
	return partition.Spec{PartitionRows: 500, Synthetic: &partition.SyntheticSpec{Kind: "blobs", Rows: 2600, Dims: 3, Clusters: 2, Spread: 1, Seed: 4}}
}

func TestStoreLoadsExclusivelyAndDrops(t *testing.T) {
	s := NewStore(2)
	ctx := context.Background()
	if _, err := s.Load(ctx, "d", spec(), []int{0, 1, 5}, false); err != nil {
		t.Fatal(err)
	}
	if _, parts, bytes := s.Stats(); parts != 3 || bytes != 2*500*8*4+2*500*8+100*8*4+100*8 {
		t.Fatalf("holds %d partitions, %d bytes", parts, bytes)
	}
	// Exclusive keeps only what is listed: partitions moved elsewhere are freed.
	if _, err := s.Load(ctx, "d", spec(), []int{1, 2}, true); err != nil {
		t.Fatal(err)
	}
	// Partition 1 was held already; only 2 is built again.
	if n := s.Built(); n != 4 {
		t.Fatalf("built %d blocks for 4 distinct loads", n)
	}
	if _, err := s.Blocks("d", []int{0}); !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("partition 0 still held: %v", err)
	}
	bs, err := s.Blocks("d", []int{2, 1})
	if err != nil || bs[0].ID != 2 || bs[1].ID != 1 {
		t.Fatalf("blocks %v, %v", bs, err)
	}
	if _, err := s.Load(ctx, "d", spec(), []int{6}, false); err == nil {
		t.Fatal("loaded partition 6 of 6")
	}
	bad := spec()
	bad.Synthetic.Dims = 0
	if _, err := s.Load(ctx, "e", bad, []int{0}, false); err == nil {
		t.Fatal("loaded a dataset with 0 dims")
	}
	s.Drop("d")
	if ds, parts, _ := s.Stats(); ds != 0 || parts != 0 {
		t.Fatalf("after drop: %d datasets, %d partitions", ds, parts)
	}
}

// serve runs the worker service on a loopback port.
func serve(t *testing.T) pb.WorkerClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterWorkerServer(srv, &server{name: "w", cores: 2, store: NewStore(2), codec: jobspec.Codec(), parallel: 2})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pb.NewWorkerClient(conn)
}

func TestRunStepOverGRPCMatchesALocalMap(t *testing.T) {
	w := serve(t)
	ctx := context.Background()
	specJSON, _ := json.Marshal(spec())
	// Running before loading is the "worker restarted" signal.
	_, err := w.RunStep(ctx, &pb.RunStepRequest{Dataset: "d", Partitions: []int32{0}, Kind: "kmeans/lloyd"})
	if status.Code(err) != codes.InvalidArgument {
		// Empty params are refused before the store is consulted.
		t.Fatalf("empty step: %v", err)
	}
	prog, _ := kmeans.New(kmeans.Config{K: 2, Seed: 1}.WithDefaults(), 2600, 3)
	step, _, _ := prog.Next()
	params, _ := step.MarshalBinary()
	_, err = w.RunStep(ctx, &pb.RunStepRequest{Dataset: "d", Partitions: []int32{0}, Kind: step.Kind(), Params: params})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("step on unloaded data: %v, want FailedPrecondition", err)
	}
	resp, err := w.LoadPartitions(ctx, &pb.LoadPartitionsRequest{Dataset: "d", SpecJson: specJSON, Partitions: []int32{3, 5}})
	if err != nil || resp.Rows != 600 {
		t.Fatalf("load: %v, %d rows", err, resp.GetRows())
	}
	out, err := w.RunStep(ctx, &pb.RunStepRequest{Dataset: "d", Partitions: []int32{5, 3}, Kind: step.Kind(), Params: params})
	if err != nil {
		t.Fatal(err)
	}
	src, _ := partition.Open(spec(), partition.Env{})
	for i, id := range []int{5, 3} {
		b, _ := src.Load(ctx, id)
		want, _ := step.Map(b)
		wantBytes, _ := want.MarshalBinary()
		if got := out.Partials[i]; got.Partition != int32(id) || !reflect.DeepEqual(got.Data, wantBytes) {
			t.Fatalf("partial %d differs from a local map", id)
		}
	}
	h, err := w.Health(ctx, &pb.HealthRequest{})
	if err != nil || h.Partitions != 2 || h.Datasets != 1 {
		t.Fatalf("health %+v, %v", h, err)
	}
}

// A stream dataset holds no blocks: a step reads each partition it maps,
// with the same partial as a held one, and a partition moved away is no
// longer this worker's to read.
func TestStreamDatasetsAreReadByEachStep(t *testing.T) {
	w := serve(t)
	ctx := context.Background()
	streamed := spec()
	streamed.Stream = true
	for name, sp := range map[string]partition.Spec{"held": spec(), "streamed": streamed} {
		specJSON, _ := json.Marshal(sp)
		if _, err := w.LoadPartitions(ctx, &pb.LoadPartitionsRequest{Dataset: name, SpecJson: specJSON, Partitions: []int32{1, 4}, Exclusive: true}); err != nil {
			t.Fatal(err)
		}
	}
	h, err := w.Health(ctx, &pb.HealthRequest{})
	if err != nil || h.Partitions != 4 || h.BytesResident != 2*500*8*4+2*500*8 {
		t.Fatalf("health %+v, %v: the streamed dataset must hold no bytes", h, err)
	}
	prog, _ := kmeans.New(kmeans.Config{K: 2, Seed: 1}.WithDefaults(), 2600, 3)
	step, _, _ := prog.Next()
	params, _ := step.MarshalBinary()
	run := func(name string, ids ...int32) (*pb.RunStepResponse, error) {
		return w.RunStep(ctx, &pb.RunStepRequest{Dataset: name, Partitions: ids, Kind: step.Kind(), Params: params})
	}
	held, err := run("held", 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := run("streamed", 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range held.Partials {
		if a, b := held.Partials[i], got.Partials[i]; a.Partition != b.Partition || !reflect.DeepEqual(a.Data, b.Data) {
			t.Fatalf("partition %d: a streamed partial differs from a held one's", a.Partition)
		}
	}
	specJSON, _ := json.Marshal(streamed)
	if _, err := w.LoadPartitions(ctx, &pb.LoadPartitionsRequest{Dataset: "streamed", SpecJson: specJSON, Partitions: []int32{4}, Exclusive: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := run("streamed", 1); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("a partition moved away was read: %v", err)
	}
}

// An inbox gives a bucket's parts in source order only once every source
// sent one, and refuses a late part of a shuffle it dropped.
func TestInboxPartsAndDrops(t *testing.T) {
	in := newInbox()
	if err := in.Put("s", 1, 1, []byte("b")); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Parts("s", 1, 2); !errors.Is(err, ErrPartsMissing) {
		t.Fatalf("a bucket missing source 0: %v", err)
	}
	in.Put("s", 1, 0, []byte("a"))
	in.Put("s", 1, 0, []byte("A")) // sent again: replaces
	parts, err := in.Parts("s", 1, 2)
	if err != nil || string(parts[0]) != "A" || string(parts[1]) != "b" {
		t.Fatalf("parts %q, %v", parts, err)
	}
	if n, bytes := in.Stats(); n != 2 || bytes != 2 {
		t.Fatalf("%d parts, %d bytes", n, bytes)
	}
	in.Drop("s")
	if err := in.Put("s", 1, 0, []byte("late")); !errors.Is(err, ErrShuffleDropped) {
		t.Fatalf("a late part of a dropped shuffle: %v", err)
	}
	if n, _ := in.Stats(); n != 0 {
		t.Fatalf("%d parts after the drop", n)
	}
}

// Dropping a job's dataset drops every run of its shuffle, an earlier
// leader's too, and no other job's.
func TestDroppingAJobDropsAllItsShuffles(t *testing.T) {
	s := NewStore(1)
	for _, name := range []string{"job-1" + partition.ShuffleMark + "a", "job-1" + partition.ShuffleMark + "b", "job-12" + partition.ShuffleMark + "a"} {
		if err := s.inbox.Put(name, 0, 0, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	s.Drop("job-1")
	if n, _ := s.inbox.Stats(); n != 1 {
		t.Fatalf("%d parts left, want job-12's one", n)
	}
	if err := s.inbox.Put("job-1"+partition.ShuffleMark+"a", 0, 1, nil); !errors.Is(err, ErrShuffleDropped) {
		t.Fatalf("a late part of a dropped run: %v", err)
	}
}

// A dataset loaded again under its name with another spec is the other
// one (an earlier leader's run held the name); dropping a job's name
// drops its other datasets too, and only its own.
func TestStoreReplacesAChangedSpecAndDropsAJobsDatasets(t *testing.T) {
	s := NewStore(2)
	ctx := context.Background()
	other := spec()
	other.Synthetic.Seed = 5
	for _, name := range []string{"job-1", "job-1/raw", "job-1/regroup-1", "job-10/raw"} {
		if _, err := s.Load(ctx, name, spec(), []int{0}, false); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := s.Blocks("job-1/raw", []int{0})
	if _, err := s.Load(ctx, "job-1/raw", other, []int{0}, false); err != nil {
		t.Fatal(err)
	}
	after, _ := s.Blocks("job-1/raw", []int{0})
	if before[0] == after[0] || before[0].Data[0] == after[0].Data[0] {
		t.Fatal("the block of the earlier spec was kept under the name")
	}
	s.Drop("job-1")
	if ds, _, _ := s.Stats(); ds != 1 {
		t.Fatalf("%d datasets after dropping job-1; want job-10/raw alone", ds)
	}
	if _, err := s.Blocks("job-10/raw", []int{0}); err != nil {
		t.Fatalf("another job's dataset went: %v", err)
	}
}
