package bench

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/cohort/cohort/partition"
)

// npyWriter streams a rows × dims float32 matrix as a NumPy .npy file (format
// v1.0), one partition block at a time, so the peer reads the very rows the
// cluster clustered without the bench holding a second copy of them.
type npyWriter struct {
	w          *bufio.Writer
	rows, done int64
	dims       int
	buf        []byte
}

// npyHeader is the v1.0 preamble: magic, version, a little-endian uint16
// header length, then a Python dict literal padded with spaces so the data
// starts on a 64-byte boundary (what numpy itself writes), ending in \n.
func npyHeader(rows int64, dims int) []byte {
	return npyPreamble("<f4", fmt.Sprintf("(%d, %d)", rows, dims))
}

// npyPreamble is the header of an array of numpy type descr and shape, a
// Python tuple literal.
func npyPreamble(descr, shape string) []byte {
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
	const pre = 6 + 2 + 2 // magic, version, length
	n := pre + len(dict) + 1
	dict += strings.Repeat(" ", (64-n%64)%64) + "\n"
	h := make([]byte, 0, pre+len(dict))
	h = append(h, "\x93NUMPY"...)
	h = append(h, 1, 0)
	h = binary.LittleEndian.AppendUint16(h, uint16(len(dict)))
	return append(h, dict...)
}

func newNPYWriter(w io.Writer, rows int64, dims int) (*npyWriter, error) {
	n := &npyWriter{w: bufio.NewWriterSize(w, 1<<20), rows: rows, dims: dims}
	if _, err := n.w.Write(npyHeader(rows, dims)); err != nil {
		return nil, fmt.Errorf("write npy header: %w", err)
	}
	return n, nil
}

// WriteBlock appends a block's rows, real dimensions only: the stride's zero
// padding is Cohort's layout, not the data.
func (n *npyWriter) WriteBlock(b *partition.Block) error {
	if b.Dims != n.dims {
		return fmt.Errorf("npy: block %d has %d dims, file has %d", b.ID, b.Dims, n.dims)
	}
	if n.done+int64(b.Rows) > n.rows {
		return fmt.Errorf("npy: block %d overruns the %d rows in the header", b.ID, n.rows)
	}
	for i := range b.Rows {
		n.buf = n.buf[:0]
		for _, v := range b.Row(i) {
			n.buf = binary.LittleEndian.AppendUint32(n.buf, math.Float32bits(v))
		}
		if _, err := n.w.Write(n.buf); err != nil {
			return fmt.Errorf("write npy: %w", err)
		}
	}
	n.done += int64(b.Rows)
	return nil
}

// writeLabelsNPY writes segments as a one-dimensional int32 .npy file.
func writeLabelsNPY(w io.Writer, segments []int32) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := bw.Write(npyPreamble("<i4", fmt.Sprintf("(%d,)", len(segments)))); err != nil {
		return fmt.Errorf("write npy header: %w", err)
	}
	var b [4]byte
	for _, s := range segments {
		binary.LittleEndian.PutUint32(b[:], uint32(s))
		if _, err := bw.Write(b[:]); err != nil {
			return fmt.Errorf("write npy: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write npy: %w", err)
	}
	return nil
}

// Close flushes and checks the file holds as many rows as its header says;
// numpy would otherwise refuse it with a less helpful message.
func (n *npyWriter) Close() error {
	if n.done != n.rows {
		return fmt.Errorf("npy: wrote %d rows, header says %d", n.done, n.rows)
	}
	if err := n.w.Flush(); err != nil {
		return fmt.Errorf("write npy: %w", err)
	}
	return nil
}
