package upload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	pb "github.com/cohort/cohort/proto"
)

// Scheme starts the name of an uploaded file.
const Scheme = "upload://"

// chunkBytes is how much of a file one message carries.
const chunkBytes = 1 << 20

// URI names an uploaded file by its content's SHA-256 and its base name.
func URI(sha, name string) string { return Scheme + sha + "/" + name }

// IsURI says whether path names an uploaded file.
func IsURI(path string) bool { return strings.HasPrefix(path, Scheme) }

// Parse splits an upload URI into its hash and name.
func Parse(uri string) (sha, name string, err error) {
	rest, ok := strings.CutPrefix(uri, Scheme)
	if !ok {
		return "", "", fmt.Errorf("%q is not an upload (%sSHA256/NAME)", uri, Scheme)
	}
	sha, name, _ = strings.Cut(rest, "/")
	if _, err := hex.DecodeString(sha); err != nil || len(sha) != 2*sha256.Size {
		return "", "", fmt.Errorf("upload %q: %q is not a SHA-256", uri, sha)
	}
	if err := checkName(name); err != nil {
		return "", "", fmt.Errorf("upload %q: %w", uri, err)
	}
	return sha, name, nil
}

// ErrBadName is the error of an upload named other than by a plain file
// name.
var ErrBadName = errors.New("not a plain file name")

// checkName refuses names that are not a plain file name.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) || name != filepath.Base(name) {
		return fmt.Errorf("%q: %w", name, ErrBadName)
	}
	return nil
}

// Store is a node's upload directory: Dir/SHA256/NAME.
type Store struct {
	dir string

	mu       sync.Mutex
	fetching map[string]chan struct{} // by URI: held by the one fetch at a time
}

// NewStore keeps uploads under dir, which it creates.
func NewStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("upload directory: %w", err)
	}
	return &Store{dir: dir, fetching: map[string]chan struct{}{}}, nil
}

// Dir is where the store keeps its files.
func (s *Store) Dir() string { return s.dir }

// Local is the path of an upload held here, and whether it is.
func (s *Store) Local(uri string) (string, bool) {
	sha, name, err := Parse(uri)
	if err != nil {
		return "", false
	}
	p := filepath.Join(s.dir, sha, name)
	if _, err := os.Stat(p); err != nil {
		return "", false
	}
	return p, true
}

// ErrTooLarge is the error of a file past the size a store accepts.
var ErrTooLarge = errors.New("file too large")

// Receive stores a file read from r under its content's name and returns
// its URI and size; a file of more than limit bytes (if limit > 0) is
// refused with ErrTooLarge. A partial file never appears under the name.
func (s *Store) Receive(name string, r io.Reader, limit int64) (string, int64, error) {
	return s.receive(name, r, "", limit)
}

// receive is Receive, refusing content whose hash is not want (if set).
func (s *Store) receive(name string, r io.Reader, want string, limit int64) (string, int64, error) {
	if err := checkName(name); err != nil {
		return "", 0, err
	}
	tmp, err := os.CreateTemp(s.dir, ".receive-*")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	h := sha256.New()
	if limit > 0 {
		r = io.LimitReader(r, limit+1)
	}
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("receive %s: %w", name, err)
	}
	if limit > 0 && n > limit {
		return "", 0, fmt.Errorf("receive %s: more than %d bytes: %w", name, limit, ErrTooLarge)
	}
	sha := hex.EncodeToString(h.Sum(nil))
	if want != "" && sha != want {
		return "", 0, fmt.Errorf("receive %s: content has hash %s, not %s", name, sha, want)
	}
	if err := os.MkdirAll(filepath.Join(s.dir, sha), 0o755); err != nil {
		return "", 0, err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.dir, sha, name)); err != nil {
		return "", 0, err
	}
	return URI(sha, name), n, nil
}

// Serve sends an upload held here in chunks.
func (s *Store) Serve(uri string, send func(*pb.FileChunk) error) error {
	p, ok := s.Local(uri)
	if !ok {
		return fmt.Errorf("%s: %w", uri, os.ErrNotExist)
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return Send(f, "", send)
}

// Send streams r in chunks, the first named name.
func Send(r io.Reader, name string, send func(*pb.FileChunk) error) error {
	buf := make([]byte, chunkBytes)
	first := true
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 || first {
			c := &pb.FileChunk{Data: buf[:n]}
			if first {
				c.Name, first = name, false
			}
			if serr := send(c); serr != nil {
				return serr
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Source is a coordinator that may hold an upload.
type Source interface {
	FetchUpload(ctx context.Context, uri string) (io.ReadCloser, error)
}

// Resolve is the local path of an upload, fetched first from the first of
// sources that has it when this node does not; the content must have the
// hash the URI names, and no more than limit bytes if limit > 0.
func (s *Store) Resolve(ctx context.Context, uri string, sources []Source, limit int64) (string, error) {
	if p, ok := s.Local(uri); ok {
		return p, nil
	}
	sha, name, err := Parse(uri)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	turn := s.fetching[uri]
	if turn == nil {
		turn = make(chan struct{}, 1)
		s.fetching[uri] = turn
	}
	s.mu.Unlock()
	// Wait for a fetch of the same file to end, unless ctx ends first.
	select {
	case turn <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-turn }()
	if p, ok := s.Local(uri); ok {
		return p, nil // fetched while this call waited
	}
	var errs []error
	for _, src := range sources {
		rc, err := src.FetchUpload(ctx, uri)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_, _, err = s.receive(name, rc, sha, limit)
		rc.Close()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return filepath.Join(s.dir, sha, name), nil
	}
	if len(errs) == 0 {
		return "", fmt.Errorf("upload %s is not on this node and no coordinator is known to fetch it from", uri)
	}
	return "", fmt.Errorf("upload %s: no coordinator could send it: %w", uri, errors.Join(errs...))
}

// FromClient is a coordinator's API as a Source.
func FromClient(c pb.CoordinatorClient) Source { return clientSource{c} }

type clientSource struct{ c pb.CoordinatorClient }

func (cs clientSource) FetchUpload(ctx context.Context, uri string) (io.ReadCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := cs.c.FetchUpload(ctx, &pb.FetchUploadRequest{Uri: uri})
	if err != nil {
		cancel()
		return nil, err
	}
	return &ChunkReader{Recv: stream.Recv, Cancel: cancel}, nil
}

// ChunkReader reads the bytes of a stream of chunks.
type ChunkReader struct {
	Recv   func() (*pb.FileChunk, error)
	Cancel func() // on Close, if set
	buf    []byte
}

func (r *ChunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		c, err := r.Recv()
		if err != nil {
			return 0, err // io.EOF at the end of the stream
		}
		r.buf = c.Data
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *ChunkReader) Close() error {
	if r.Cancel != nil {
		r.Cancel()
	}
	return nil
}
