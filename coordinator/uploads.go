package coordinator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cohort/cohort/partition"
	pb "github.com/cohort/cohort/proto"
	"github.com/cohort/cohort/upload"
)

// DefaultMaxUpload is the largest file a client may upload unless the
// coordinator is told otherwise: every coordinator keeps a copy on disk.
const DefaultMaxUpload = 16 << 30

// openUploads opens the node's upload directory: under --data-dir, so that
// uploads outlive a restart, or a temporary one removed on Close.
func (n *Node) openUploads() error {
	dir := filepath.Join(n.cfg.DataDir, "uploads")
	if n.cfg.DataDir == "" {
		tmp, err := os.MkdirTemp("", "cohort-uploads-"+n.cfg.ID+"-")
		if err != nil {
			return fmt.Errorf("coordinator: upload directory: %w", err)
		}
		dir = tmp
		n.closer = append(n.closer, func() error { return os.RemoveAll(tmp) })
	}
	s, err := upload.NewStore(dir)
	if err != nil {
		return fmt.Errorf("coordinator: %w", err)
	}
	n.uploads = s
	return nil
}

// UploadFile implements the client API: the leader stores the file and
// records it in the FSM, and every other coordinator fetches a copy.
func (a *api) UploadFile(stream pb.Coordinator_UploadFileServer) error {
	if !a.n.IsLeader() {
		return a.n.toStatus(ErrNotLeader)
	}
	first, err := stream.Recv()
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "upload: no first chunk: %v", err)
	}
	r := &upload.ChunkReader{Recv: func() (*pb.FileChunk, error) {
		if first != nil {
			c := first
			first = nil
			return c, nil
		}
		return stream.Recv()
	}}
	uri, size, err := a.n.uploads.Receive(first.Name, r, a.n.cfg.MaxUploadBytes)
	switch {
	case errors.Is(err, upload.ErrTooLarge):
		return status.Errorf(codes.ResourceExhausted, "upload: %v (the coordinator's --max-upload)", err)
	case errors.Is(err, upload.ErrBadName):
		return status.Errorf(codes.InvalidArgument, "upload: %v", err)
	case err != nil:
		return status.Errorf(codes.Internal, "upload: %v", err)
	}
	if _, err := a.n.apply(cmdAddUpload, Upload{URI: uri, Bytes: size, At: time.Now().UnixNano()}); err != nil {
		return a.n.toStatus(err)
	}
	a.n.log.Printf("received %s (%d bytes)", uri, size)
	return stream.SendAndClose(&pb.UploadFileResponse{Uri: uri, Bytes: size})
}

// FetchUpload implements the client API: an upload this coordinator holds.
func (a *api) FetchUpload(req *pb.FetchUploadRequest, stream pb.Coordinator_FetchUploadServer) error {
	if _, _, err := upload.Parse(req.Uri); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if _, ok := a.n.uploads.Local(req.Uri); !ok {
		return status.Errorf(codes.NotFound, "coordinator %s does not hold %s", a.n.cfg.ID, req.Uri)
	}
	return a.n.uploads.Serve(req.Uri, stream.Send)
}

// otherCoordinators are the coordinators an upload may be fetched from.
func (n *Node) otherCoordinators() []upload.Source {
	var addrs []string
	n.fsm.Read(func(s *State) {
		for id, srv := range s.Servers {
			if id != n.cfg.ID && srv.GRPCAddr != "" {
				addrs = append(addrs, srv.GRPCAddr)
			}
		}
	})
	slices.Sort(addrs)
	out := make([]upload.Source, len(addrs))
	for i, a := range addrs {
		out[i] = upload.FromClient(n.pool.Coordinator(a))
	}
	return out
}

// resolveUpload is an upload's local path on this coordinator, fetched
// from another if this one does not hold it yet.
func (n *Node) resolveUpload(ctx context.Context, uri string) (string, error) {
	var up Upload
	known := false
	n.fsm.Read(func(s *State) { up, known = s.Uploads[uri] })
	if !known {
		return "", fmt.Errorf("data.path %s: no such upload (send the file with `cohort submit --upload`)", uri)
	}
	return n.uploads.Resolve(ctx, uri, n.otherCoordinators(), up.Bytes)
}

// syncUploads keeps a copy of every upload the FSM records, so that any
// coordinator can lead a job over it and serve it to workers.
func (n *Node) syncUploads() {
	defer n.wg.Done()
	failed := map[string]time.Time{}
	for {
		changed := n.fsm.Changed()
		var missing []Upload
		n.fsm.Read(func(s *State) {
			for uri, up := range s.Uploads {
				if _, ok := n.uploads.Local(uri); !ok && time.Since(failed[uri]) > 5*time.Second {
					missing = append(missing, up)
				}
			}
		})
		for _, up := range missing {
			uri := up.URI
			if _, err := n.uploads.Resolve(n.ctx, uri, n.otherCoordinators(), up.Bytes); err != nil && !errors.Is(err, context.Canceled) {
				n.log.Printf("copy upload %s: %v", uri, err)
				failed[uri] = time.Now()
			}
		}
		select {
		case <-n.ctx.Done():
			return
		case <-changed:
		case <-time.After(5 * time.Second):
		}
	}
}

// planFiles plans a job's files into pieces. An uploaded file is planned
// from this coordinator's copy and its pieces keep the upload's URI, which
// each worker resolves to its own copy.
func (n *Node) planFiles(ctx context.Context, path string, hints partition.CSVHints) (*partition.FileSet, error) {
	if !upload.IsURI(path) {
		return partition.PlanFiles(path, hints, 0)
	}
	local, err := n.resolveUpload(ctx, path)
	if err != nil {
		return nil, err
	}
	fs, err := partition.PlanFiles(local, hints, 0)
	if err != nil {
		return nil, fmt.Errorf("%s (uploaded): %w", path, err)
	}
	for i := range fs.Pieces {
		fs.Pieces[i].File = path
	}
	return fs, nil
}
