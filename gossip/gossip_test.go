package gossip

import (
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

func TestMembersSeeEachOthersMetadataAndDepartures(t *testing.T) {
	events := make(chan memberlist.NodeEvent, 16)
	a, err := Start(Config{Name: "a", Addr: "127.0.0.1:0", Meta: Meta{Role: RoleCoordinator, GRPCAddr: "127.0.0.1:7400"},
		Events: &memberlist.ChannelEventDelegate{Ch: events}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown()
	b, err := Start(Config{Name: "b", Addr: "127.0.0.1:0", Meta: Meta{Role: RoleWorker, GRPCAddr: "127.0.0.1:9", Cores: 4, MemoryBytes: 1 << 30}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join([]string{Addr(a)}); err != nil {
		t.Fatal(err)
	}
	want := Meta{Role: RoleWorker, GRPCAddr: "127.0.0.1:9", Cores: 4, MemoryBytes: 1 << 30}
	for ev := range events {
		if ev.Node.Name != "b" {
			continue
		}
		if ev.Event != memberlist.NodeJoin {
			t.Fatalf("first event for b: %v", ev.Event)
		}
		if m, err := DecodeMeta(ev.Node.Meta); err != nil || m != want {
			t.Fatalf("metadata %+v, %v", m, err)
		}
		break
	}
	b.Leave(time.Second)
	b.Shutdown()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Node.Name == "b" && ev.Event == memberlist.NodeLeave {
				return
			}
		case <-timeout:
			t.Fatal("no leave event for b")
		}
	}
}

func TestBadAddressesAreNamed(t *testing.T) {
	for _, addr := range []string{"nohost", "127.0.0.1:http"} {
		if _, err := Start(Config{Name: "x", Addr: addr}); err == nil {
			t.Errorf("started on %q", addr)
		}
	}
	if _, err := DecodeMeta([]byte("{")); err == nil {
		t.Error("decoded broken metadata")
	}
}
