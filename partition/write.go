package partition

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// TableWriter writes Tables of one schema to a file, in the format its name
// asks for: .parquet, .csv or .csv.gz.
type TableWriter interface {
	Write(t *Table) error
	// Close finishes and closes the file; after an error from Write the
	// file is incomplete and Close removes nothing, so callers remove it.
	Close() error
}

// TimeLayout is how Time values are written to CSV, and read back by
// SniffCSV: UTC, to the second.
const TimeLayout = "2006-01-02 15:04:05"

// CreateTable creates path and returns a writer for tables of fields.
func CreateTable(path string, fields []Field) (TableWriter, error) {
	ext := strings.ToLower(path)
	switch {
	case strings.HasSuffix(ext, ".parquet"):
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		w, err := NewParquetWriter(f, fields)
		if err != nil {
			f.Close()
			return nil, err
		}
		return w, nil
	case strings.HasSuffix(ext, ".csv"), strings.HasSuffix(ext, ".csv.gz"):
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		return newCSVWriter(f, fields, strings.HasSuffix(ext, ".gz"))
	}
	return nil, fmt.Errorf("%s: the name must end in .parquet, .csv or .csv.gz", filepath.Base(path))
}

type csvWriter struct {
	f      *os.File
	buf    *bufio.Writer
	gz     *gzip.Writer
	w      *csv.Writer
	fields []Field
	rec    []string
}

func newCSVWriter(f *os.File, fields []Field, gz bool) (*csvWriter, error) {
	c := &csvWriter{f: f, buf: bufio.NewWriterSize(f, 1<<20), fields: fields, rec: make([]string, len(fields))}
	var out io.Writer = c.buf
	if gz {
		c.gz = gzip.NewWriter(c.buf)
		out = c.gz
	}
	c.w = csv.NewWriter(out)
	for i, fl := range fields {
		c.rec[i] = fl.Name
	}
	if err := c.w.Write(c.rec); err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

func (c *csvWriter) Write(t *Table) error {
	if len(t.Columns) != len(c.fields) {
		return fmt.Errorf("table of %d columns for a file of %d", len(t.Columns), len(c.fields))
	}
	for r := range t.Rows {
		for i := range t.Columns {
			col := &t.Columns[i]
			s := ""
			switch col.Type {
			case Number:
				if v := col.Num[r]; !math.IsNaN(v) {
					s = strconv.FormatFloat(v, 'f', -1, 64)
				}
			case Time:
				if ms := col.Times[r]; ms != MissingTime {
					s = time.UnixMilli(ms).UTC().Format(TimeLayout)
				}
			case Text:
				s, _ = col.Text(r)
			}
			c.rec[i] = s
		}
		if err := c.w.Write(c.rec); err != nil {
			return err
		}
	}
	return nil
}

func (c *csvWriter) Close() error {
	c.w.Flush()
	err := c.w.Error()
	if c.gz != nil {
		if cerr := c.gz.Close(); err == nil {
			err = cerr
		}
	}
	if ferr := c.buf.Flush(); err == nil {
		err = ferr
	}
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	return err
}
