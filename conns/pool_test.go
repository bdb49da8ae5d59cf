package conns

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/cohort/cohort/proto"
)

type healthy struct{ pb.UnimplementedWorkerServer }

func (healthy) Health(context.Context, *pb.HealthRequest) (*pb.HealthResponse, error) {
	return &pb.HealthResponse{Name: "w"}, nil
}

// One connection per address, reused; a malformed address fails each call
// Unavailable, as an unreachable node does; a closed pool dials again.
func TestPoolReusesAndReportsBadAddresses(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterWorkerServer(srv, healthy{})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)

	p := NewPool()
	defer p.Close()
	addr := lis.Addr().String()
	if p.Conn(addr) != p.Conn(addr) {
		t.Fatal("two connections to one address")
	}
	if h, err := p.Worker(addr).Health(context.Background(), &pb.HealthRequest{}); err != nil || h.Name != "w" {
		t.Fatalf("health %v, %v", h, err)
	}
	if _, err := p.Worker("bad:addr:x").Health(context.Background(), &pb.HealthRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("a malformed address: %v, want Unavailable", err)
	}
	p.Close()
	if _, err := p.Worker(addr).Health(context.Background(), &pb.HealthRequest{}); err != nil {
		t.Fatalf("after Close: %v", err)
	}
}
