package upload

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	pb "github.com/cohort/cohort/proto"
)

// fixed serves the same bytes whatever is asked, like a coordinator that
// holds one file.
type fixed struct {
	data  []byte
	err   error
	calls int
}

func (f *fixed) FetchUpload(context.Context, string) (io.ReadCloser, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return io.NopCloser(bytes.NewReader(f.data)), nil
}

func TestReceiveNamesAFileByItsContent(t *testing.T) {
	s, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	uri, n, err := s.Receive("log.csv", strings.NewReader("a,b\n1,2\n"), 0)
	if err != nil || n != 8 {
		t.Fatalf("%v, %d bytes", err, n)
	}
	if !IsURI(uri) || !strings.HasSuffix(uri, "/log.csv") {
		t.Fatalf("uri %s", uri)
	}
	again, _, _ := s.Receive("log.csv", strings.NewReader("a,b\n1,2\n"), 0)
	if again != uri {
		t.Fatalf("the same content got two names: %s, %s", uri, again)
	}
	p, ok := s.Local(uri)
	if got, _ := os.ReadFile(p); !ok || string(got) != "a,b\n1,2\n" {
		t.Fatalf("local copy %q at %s (%v)", got, p, ok)
	}
	var sent bytes.Buffer
	if err := s.Serve(uri, func(c *pb.FileChunk) error { sent.Write(c.Data); return nil }); err != nil || sent.String() != "a,b\n1,2\n" {
		t.Fatalf("served %q, %v", sent.String(), err)
	}
	for _, bad := range []string{"", "..", "a/b", `a\b`} {
		if _, _, err := s.Receive(bad, strings.NewReader("x"), 0); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	if _, _, err := s.Receive("big.csv", strings.NewReader("123456789"), 8); !errors.Is(err, ErrTooLarge) {
		t.Errorf("9 bytes past a limit of 8: %v", err)
	}
	if _, _, err := s.Receive("fits.csv", strings.NewReader("12345678"), 8); err != nil {
		t.Errorf("8 bytes within a limit of 8: %v", err)
	}
	for _, bad := range []string{"s3://x/y", Scheme + "abc/log.csv", Scheme + strings.Repeat("0", 64) + "/../x"} {
		if _, _, err := Parse(bad); err == nil {
			t.Errorf("uri %q accepted", bad)
		}
	}
}

// A node without the file fetches it once, from the first source that
// sends content with the hash its name says, and refuses other content.
func TestResolveFetchesAndChecksTheHash(t *testing.T) {
	origin, _ := NewStore(t.TempDir())
	uri, _, err := origin.Receive("log.csv", strings.NewReader("the real content"), 0)
	if err != nil {
		t.Fatal(err)
	}
	node, _ := NewStore(t.TempDir())
	liar, down, honest := &fixed{data: []byte("something else")}, &fixed{err: errors.New("unreachable")}, &fixed{data: []byte("the real content")}
	p, err := node.Resolve(context.Background(), uri, []Source{down, liar, honest}, 16)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != "the real content" {
		t.Fatalf("resolved to %q", got)
	}
	if _, err := node.Resolve(context.Background(), uri, []Source{honest}, 16); err != nil || honest.calls != 1 {
		t.Fatalf("a second resolve fetched again (%d calls): %v", honest.calls, err)
	}
	other, _ := NewStore(t.TempDir())
	if _, err := other.Resolve(context.Background(), uri, []Source{liar}, 0); err == nil || !strings.Contains(err.Error(), "hash") {
		t.Fatalf("content of another hash accepted: %v", err)
	}
	if _, ok := other.Local(uri); ok {
		t.Fatal("refused content was kept")
	}
	if _, err := other.Resolve(context.Background(), uri, []Source{honest}, 15); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("16 bytes fetched past a limit of 15: %v", err)
	}
	if _, err := other.Resolve(context.Background(), uri, nil, 0); err == nil {
		t.Fatal("resolved with no source")
	}
}

func TestChunksCarryTheWholeFile(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), chunkBytes/5) // two chunks
	var chunks []*pb.FileChunk
	if err := Send(bytes.NewReader(data), "f.csv", func(c *pb.FileChunk) error {
		chunks = append(chunks, &pb.FileChunk{Name: c.Name, Data: bytes.Clone(c.Data)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 2 || chunks[0].Name != "f.csv" || chunks[1].Name != "" {
		t.Fatalf("%d chunks", len(chunks))
	}
	i := 0
	r := &ChunkReader{Recv: func() (*pb.FileChunk, error) {
		if i == len(chunks) {
			return nil, io.EOF
		}
		i++
		return chunks[i-1], nil
	}}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes of %d: %v", len(got), len(data), err)
	}
	var empty []*pb.FileChunk
	if err := Send(bytes.NewReader(nil), "e.csv", func(c *pb.FileChunk) error { empty = append(empty, c); return nil }); err != nil || len(empty) != 1 || empty[0].Name != "e.csv" {
		t.Fatalf("an empty file is one named chunk: %v, %d", err, len(empty))
	}
}

// blocking holds a fetch until released.
type blocking struct{ release chan struct{} }

func (b blocking) FetchUpload(ctx context.Context, _ string) (io.ReadCloser, error) {
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return nil, errors.New("released")
}

// A caller waiting for another's fetch of the same file gives up when its
// own context ends.
func TestResolveWaitEndsWithItsContext(t *testing.T) {
	s, _ := NewStore(t.TempDir())
	uri := URI(strings.Repeat("ab", 32), "x.csv")
	b := blocking{release: make(chan struct{})}
	first := make(chan error, 1)
	go func() {
		_, err := s.Resolve(context.Background(), uri, []Source{b}, 0)
		first <- err
	}()
	for {
		s.mu.Lock()
		started := s.fetching[uri] != nil && len(s.fetching[uri]) == 1
		s.mu.Unlock()
		if started {
			break
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Resolve(ctx, uri, []Source{b}, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting caller: %v", err)
	}
	close(b.release)
	if err := <-first; err == nil {
		t.Fatal("the first fetch succeeded with nothing to fetch")
	}
}
