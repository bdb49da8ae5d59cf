package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cohort/cohort/partition"
)

// npyBlocks is a small dataset whose stride (8) exceeds its dims (5) and
// whose last partition is short, so padding and ordering both show.
func npyBlocks(t *testing.T) ([]*partition.Block, int64, int) {
	t.Helper()
	src, err := partition.NewBlobs(partition.SyntheticSpec{Kind: "blobs", Rows: 2500, Dims: 5, Clusters: 3, Spread: 1, Seed: 9}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := partition.LoadAll(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	return blocks, 2500, 5
}

func TestNPYHeaderAndDataRoundTrip(t *testing.T) {
	blocks, rows, dims := npyBlocks(t)
	var buf bytes.Buffer
	w, err := newNPYWriter(&buf, rows, dims)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		if err := w.WriteBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f := buf.Bytes()
	if string(f[:6]) != "\x93NUMPY" || f[6] != 1 || f[7] != 0 {
		t.Fatalf("magic/version % x", f[:8])
	}
	hlen := int(binary.LittleEndian.Uint16(f[8:10]))
	header := string(f[10 : 10+hlen])
	if (10+hlen)%64 != 0 || !strings.HasSuffix(header, "\n") {
		t.Fatalf("header of %d bytes does not end a 64-byte line: %q", hlen, header)
	}
	m := regexp.MustCompile(`^\{'descr': '([^']+)', 'fortran_order': (\w+), 'shape': \((\d+), (\d+)\), \} *\n$`).FindStringSubmatch(header)
	if m == nil {
		t.Fatalf("header %q", header)
	}
	gotRows, _ := strconv.Atoi(m[3])
	gotDims, _ := strconv.Atoi(m[4])
	if m[1] != "<f4" || m[2] != "False" || int64(gotRows) != rows || gotDims != dims {
		t.Fatalf("descr %s fortran_order %s shape (%d, %d)", m[1], m[2], gotRows, gotDims)
	}
	data := f[10+hlen:]
	if int64(len(data)) != rows*int64(dims)*4 {
		t.Fatalf("%d data bytes, want %d", len(data), rows*int64(dims)*4)
	}
	var r int
	for _, b := range blocks {
		for i := range b.Rows {
			for j, v := range b.Row(i) {
				got := binary.LittleEndian.Uint32(data[(r*dims+j)*4:])
				if got != math.Float32bits(v) {
					t.Fatalf("row %d col %d: %08x, want %08x", r, j, got, math.Float32bits(v))
				}
			}
			r++
		}
	}
}

func TestNPYWriterRefusesAWrongRowCount(t *testing.T) {
	blocks, rows, dims := npyBlocks(t)
	w, _ := newNPYWriter(&bytes.Buffer{}, rows-1, dims)
	var err error
	for _, b := range blocks {
		if err = w.WriteBlock(b); err != nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "overruns") {
		t.Fatalf("overrun accepted: %v", err)
	}
	w, _ = newNPYWriter(&bytes.Buffer{}, rows, dims)
	_ = w.WriteBlock(blocks[0])
	if err := w.Close(); err == nil {
		t.Fatal("short file closed without error")
	}
}

// TestNumpyReadsTheNPY checks the writer against numpy itself, when the
// Debian numpy that --compare uses is installed.
func TestNumpyReadsTheNPY(t *testing.T) {
	if err := exec.Command(python, "-c", "import numpy").Run(); err != nil {
		t.Skipf("%s cannot import numpy (%v); apt-get install -y python3-numpy to run this test", python, err)
	}
	blocks, rows, dims := npyBlocks(t)
	path, err := writeRowsNPY(t.TempDir(), blocks, rows, dims)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, "-c", `import sys, hashlib, numpy as np
x = np.load(sys.argv[1])
print(x.dtype, x.shape[0], x.shape[1], x.flags['C_CONTIGUOUS'], hashlib.sha256(x.tobytes()).hexdigest())`, path).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy: %v\n%s", err, out)
	}
	h := sha256.New()
	for _, b := range blocks {
		for i := range b.Rows {
			for _, v := range b.Row(i) {
				h.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
			}
		}
	}
	want := fmt.Sprintf("float32 2500 5 True %x", h.Sum(nil))
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("numpy read %q, want %q", got, want)
	}
}
