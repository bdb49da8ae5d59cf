package gossip

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"

	"github.com/hashicorp/memberlist"
)

// Roles a node can gossip.
const (
	RoleWorker      = "worker"
	RoleCoordinator = "coordinator"
)

// Meta is what a node advertises in its memberlist metadata. memberlist caps
// metadata at 512 bytes, which this stays far below.
type Meta struct {
	Role        string `json:"role"`
	GRPCAddr    string `json:"grpc"`
	Cores       int    `json:"cores,omitempty"`
	MemoryBytes int64  `json:"mem,omitempty"`
}

// DecodeMeta reads a node's metadata.
func DecodeMeta(b []byte) (Meta, error) {
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return Meta{}, fmt.Errorf("decode node metadata: %w", err)
	}
	return m, nil
}

type delegate struct{ meta []byte }

func (d delegate) NodeMeta(limit int) []byte {
	if len(d.meta) > limit {
		return nil
	}
	return d.meta
}
func (delegate) NotifyMsg([]byte)                           {}
func (delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (delegate) LocalState(join bool) []byte                { return nil }
func (delegate) MergeRemoteState(buf []byte, join bool)     {}

// Config describes one gossip member.
type Config struct {
	Name   string
	Addr   string // host:port to bind; port 0 picks a free one
	Meta   Meta
	Events memberlist.EventDelegate // may be nil
	Log    io.Writer                // memberlist's chatter; nil discards
}

// Start creates the member. Timers are memberlist's LAN profile: a dead
// node is noticed within about five seconds, and a worker whose cores are
// all busy with a step (and its garbage collector) still answers a probe
// in time. The local profile's 200 ms probe timeout declared such a worker
// dead in the middle of a 10M-row preparation on two cores.
func Start(cfg Config) (*memberlist.Memberlist, error) {
	host, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("gossip address %q: %w", cfg.Addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("gossip address %q: bad port: %w", cfg.Addr, err)
	}
	meta, err := json.Marshal(cfg.Meta)
	if err != nil {
		return nil, err
	}
	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.Name
	mc.BindAddr = host
	mc.BindPort = port
	mc.AdvertisePort = port
	mc.Delegate = delegate{meta: meta}
	mc.Events = cfg.Events
	out := cfg.Log
	if out == nil {
		out = io.Discard
	}
	mc.Logger = log.New(out, "gossip "+cfg.Name+": ", log.LstdFlags)
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("start gossip on %s: %w", cfg.Addr, err)
	}
	return ml, nil
}

// Addr is the member's gossip address as others should dial it.
func Addr(ml *memberlist.Memberlist) string {
	n := ml.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}
