package coordinator

import (
	"context"
	"time"

	"github.com/hashicorp/memberlist"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cohort/cohort/gossip"
	pb "github.com/cohort/cohort/proto"
)

// watchLeadership starts leader-only work when this node wins an election
// and stops all of it together when it loses one.
func (n *Node) watchLeadership() {
	defer n.wg.Done()
	for {
		select {
		case <-n.ctx.Done():
			n.revokeLeadership()
			return
		case leader := <-n.notify:
			if leader {
				n.establishLeadership()
			} else {
				n.revokeLeadership()
			}
		}
	}
}

func (n *Node) establishLeadership() {
	n.leaderMu.Lock()
	defer n.leaderMu.Unlock()
	if n.leaderCancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(n.ctx)
	n.leaderCancel = cancel
	n.log.Printf("became leader")
	n.wg.Add(2)
	go func() {
		defer n.wg.Done()
		// A barrier makes sure every entry of earlier terms is applied before
		// the driver reads jobs and checkpoints from the FSM.
		if err := n.raft.Barrier(10 * time.Second).Error(); err != nil {
			n.log.Printf("barrier after election: %v", err)
			return
		}
		if _, err := n.apply(cmdRegisterServer, Server{ID: n.cfg.ID, RaftAddr: n.RaftAddr(), GRPCAddr: n.GRPCAddr(), GossipAddr: n.GossipAddr()}); err != nil {
			n.log.Printf("register self: %v", err)
		}
		n.runDriver(ctx)
	}()
	go func() {
		defer n.wg.Done()
		n.reconcileLoop(ctx)
	}()
}

func (n *Node) revokeLeadership() {
	n.leaderMu.Lock()
	defer n.leaderMu.Unlock()
	if n.leaderCancel != nil {
		n.log.Printf("lost leadership")
		n.leaderCancel()
		n.leaderCancel = nil
	}
}

// watchMembers turns gossip events into worker entries. Followers see the
// events too but only the leader can write, and reconcileLoop repairs anything
// missed across a leader change.
func (n *Node) watchMembers(events <-chan memberlist.NodeEvent) {
	defer n.wg.Done()
	for {
		select {
		case <-n.ctx.Done():
			return
		case ev := <-events:
			if !n.IsLeader() {
				continue
			}
			meta, err := gossip.DecodeMeta(ev.Node.Meta)
			if err != nil || meta.Role != gossip.RoleWorker {
				continue
			}
			w := Worker{Name: ev.Node.Name, GRPCAddr: meta.GRPCAddr, Cores: meta.Cores, MemoryBytes: meta.MemoryBytes}
			switch ev.Event {
			case memberlist.NodeJoin, memberlist.NodeUpdate:
				n.log.Printf("worker %s joined at %s (%d cores)", w.Name, w.GRPCAddr, w.Cores)
				_, err = n.apply(cmdWorkerUp, w)
			case memberlist.NodeLeave:
				n.log.Printf("worker %s left or failed", w.Name)
				_, err = n.apply(cmdWorkerDown, w)
			}
			if err != nil {
				n.log.Printf("record worker %s: %v", w.Name, err)
			}
		}
	}
}

// reconcileLoop makes the FSM's worker list match gossip's live members.
func (n *Node) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		n.reconcile()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *Node) reconcile() {
	alive := map[string]Worker{}
	for _, m := range n.gossip.Members() {
		meta, err := gossip.DecodeMeta(m.Meta)
		if err != nil || meta.Role != gossip.RoleWorker {
			continue
		}
		alive[m.Name] = Worker{Name: m.Name, GRPCAddr: meta.GRPCAddr, Cores: meta.Cores, MemoryBytes: meta.MemoryBytes}
	}
	var up, down []Worker
	n.fsm.Read(func(s *State) {
		for name, w := range alive {
			if cur, ok := s.Workers[name]; !ok || cur != w {
				up = append(up, w)
			}
		}
		for name, w := range s.Workers {
			if _, ok := alive[name]; !ok {
				down = append(down, w)
			}
		}
	})
	for _, w := range up {
		if _, err := n.apply(cmdWorkerUp, w); err != nil {
			n.log.Printf("reconcile worker %s: %v", w.Name, err)
		}
	}
	for _, w := range down {
		if _, err := n.apply(cmdWorkerDown, w); err != nil {
			n.log.Printf("reconcile worker %s: %v", w.Name, err)
		}
	}
}

// joinCluster asks an existing coordinator to add this node as a voter, then
// joins its gossip pool. It retries until it succeeds or the node stops,
// because the cluster may still be electing a leader.
func (n *Node) joinCluster() {
	defer n.wg.Done()
	target := n.cfg.Join
	for attempt := 0; ; attempt++ {
		err := func() error {
			conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
			defer cancel()
			resp, err := pb.NewCoordinatorClient(conn).JoinCluster(ctx, &pb.JoinClusterRequest{
				Id: n.cfg.ID, RaftAddr: n.RaftAddr(), GrpcAddr: n.GRPCAddr(), GossipAddr: n.GossipAddr(),
			})
			if err != nil {
				if leader := pb.LeaderHint(err); leader != "" {
					target = leader
				}
				return err
			}
			if _, err := n.gossip.Join(resp.GossipAddrs); err != nil {
				return err
			}
			return nil
		}()
		if err == nil {
			n.log.Printf("joined the cluster via %s", n.cfg.Join)
			return
		}
		if attempt%10 == 0 {
			n.log.Printf("join via %s: %v (retrying)", target, err)
		}
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}
