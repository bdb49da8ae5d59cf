package worker

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/cohort/cohort/gossip"
	"github.com/cohort/cohort/upload"
)

// openUploads gives the worker a private directory for the uploaded files
// its partitions read, removed when it stops.
func (n *Node) openUploads() error {
	dir, err := os.MkdirTemp("", "cohort-worker-uploads-")
	if err != nil {
		return fmt.Errorf("worker: upload directory: %w", err)
	}
	s, err := upload.NewStore(dir)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	n.uploads = s
	n.store.files = n.resolveFile
	return nil
}

// resolveFile is the local copy of an uploaded file, fetched from a
// coordinator the first time a partition needs it.
func (n *Node) resolveFile(ctx context.Context, name string) (string, error) {
	if !upload.IsURI(name) {
		return "", fmt.Errorf("%s: this worker fetches only uploads (%s...)", name, upload.Scheme)
	}
	var sources []upload.Source
	for _, addr := range n.coordinators() {
		sources = append(sources, upload.FromClient(n.peers.Coordinator(addr)))
	}
	// Coordinators are trusted to send what they hold: the hash, not a
	// size, is checked.
	return n.uploads.Resolve(ctx, name, sources, 0)
}

// coordinators are the client API addresses of the coordinators gossip
// knows, and the one the worker was started with.
func (n *Node) coordinators() []string {
	var out []string
	if n.cfg.Coordinator != "" {
		out = append(out, n.cfg.Coordinator)
	}
	n.gossipMu.Lock()
	g := n.gossip
	n.gossipMu.Unlock()
	if g != nil {
		for _, m := range g.Members() {
			meta, err := gossip.DecodeMeta(m.Meta)
			if err == nil && meta.Role == gossip.RoleCoordinator && meta.GRPCAddr != "" && !slices.Contains(out, meta.GRPCAddr) {
				out = append(out, meta.GRPCAddr)
			}
		}
	}
	return out
}
