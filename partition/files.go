package partition

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// File formats a dataset can be read from.
const (
	FormatCSV     = "csv"
	FormatParquet = "parquet"
	FormatArrow   = "arrow"
)

// DefaultPieceBytes is the most of a file a partition reads by default:
// big enough that a partition's fixed costs are noise, small enough that a
// dataset of a few gigabytes still spreads over many cores.
const DefaultPieceBytes = 64 << 20

// Smaller data is cut into at least minPieces pieces (of at least
// minPieceBytes), so that its passes keep every core busy to the end: a
// 173 MB file in three pieces of 64 MiB kept one of two cores idle for a
// third of every pass. The count is fixed by the data, never by the
// workers.
const (
	minPieces     = 32
	minPieceBytes = 1 << 20
)

// PieceBytesFor is the piece size of files of total bytes.
func PieceBytesFor(total int64) int64 {
	return min(DefaultPieceBytes, max(minPieceBytes, total/minPieces))
}

// Piece is one partition of a file dataset: a byte range of a CSV file
// (aligned to line starts when read), a run of row groups of a Parquet
// file, or a whole gzip'd CSV or Arrow file, which cannot be split.
type Piece struct {
	File  string `json:"file"`
	Start int64  `json:"start,omitempty"` // CSV: bytes [Start, End); End −1 is the end of the file
	End   int64  `json:"end,omitempty"`
	First int    `json:"first,omitempty"` // Parquet: row groups [First, Last)
	Last  int    `json:"last,omitempty"`
	Rows  int64  `json:"rows,omitempty"` // known before reading for Parquet, else 0
	Gzip  bool   `json:"gzip,omitempty"`
	// Bytes is the piece's share of its file on disk: what reading it
	// reads from the source, at most (a pass that reads some columns of
	// Parquet reads less).
	Bytes int64 `json:"bytes,omitempty"`
}

// FileSet is a dataset of files planned into pieces: every node that sees
// the same path reads the same rows for the same piece.
type FileSet struct {
	Format string    `json:"format"`
	CSV    CSVFormat `json:"csv,omitzero"`
	Schema []Field   `json:"schema"`
	Pieces []Piece   `json:"pieces"`
}

// PlanFiles plans path — a .csv, .csv.gz, .parquet or .arrow file, or a
// folder of files of one of those formats with the same columns — into
// pieces of about pieceBytes (PieceBytesFor the files' size if 0). CSV
// hints apply to every CSV file. Errors name the file and what is wrong
// with it.
func PlanFiles(path string, hints CSVHints, pieceBytes int64) (*FileSet, error) {
	files, format, err := listFiles(path)
	if err != nil {
		return nil, err
	}
	if pieceBytes <= 0 {
		var total int64
		for _, f := range files {
			if st, err := os.Stat(f); err == nil {
				total += st.Size()
			}
		}
		pieceBytes = PieceBytesFor(total)
	}
	fs := &FileSet{Format: format}
	for i, f := range files {
		schema, err := fs.plan(f, hints, pieceBytes)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			fs.Schema = schema
			continue
		}
		if err := sameSchema(fs.Schema, schema); err != nil {
			return nil, fmt.Errorf("%s %w (first file: %s)", f, err, files[0])
		}
	}
	return fs, nil
}

// formatOf is a file's format by its name, and whether gzip'd.
func formatOf(name string) (format string, gz bool) {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".csv"):
		return FormatCSV, false
	case strings.HasSuffix(n, ".csv.gz"):
		return FormatCSV, true
	case strings.HasSuffix(n, ".parquet"):
		return FormatParquet, false
	case strings.HasSuffix(n, ".arrow"), strings.HasSuffix(n, ".feather"):
		return FormatArrow, false
	}
	return "", false
}

func listFiles(path string) ([]string, string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", fmt.Errorf("data.path: %w", err)
	}
	if !st.IsDir() {
		format, _ := formatOf(path)
		if format == "" {
			return nil, "", fmt.Errorf("data.path %s: unknown format; the name must end in .csv, .csv.gz, .parquet or .arrow", path)
		}
		return []string{path}, format, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, "", fmt.Errorf("data.path: %w", err)
	}
	var files []string
	format := ""
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		f, _ := formatOf(e.Name())
		if f == "" {
			continue // a README or a _SUCCESS marker beside the data
		}
		if format != "" && f != format {
			return nil, "", fmt.Errorf("data.path %s holds both %s and %s files; keep one format a folder", path, format, f)
		}
		format = f
		files = append(files, filepath.Join(path, e.Name()))
	}
	if len(files) == 0 {
		return nil, "", fmt.Errorf("data.path %s: no .csv, .csv.gz, .parquet or .arrow files in the folder", path)
	}
	slices.Sort(files)
	return files, format, nil
}

// plan adds f's pieces and returns its schema.
func (fs *FileSet) plan(f string, hints CSVHints, pieceBytes int64) ([]Field, error) {
	st, err := os.Stat(f)
	if err != nil {
		return nil, err
	}
	switch fs.Format {
	case FormatCSV:
		format, schema, err := SniffCSV(f, hints)
		if err != nil {
			return nil, err // SniffCSV names the file
		}
		gz := format.Gzip
		format.Gzip = false // per piece: a folder may mix .csv and .csv.gz
		if len(fs.Pieces) == 0 {
			fs.CSV = format
		} else if format.Delimiter != fs.CSV.Delimiter || format.Header != fs.CSV.Header {
			return nil, fmt.Errorf("%s: delimiter %q and header %v differ from the first file's (%q, %v)", f, format.Delimiter, format.Header, fs.CSV.Delimiter, fs.CSV.Header)
		}
		if gz || st.Size() <= pieceBytes {
			fs.Pieces = append(fs.Pieces, Piece{File: f, End: -1, Gzip: gz, Bytes: st.Size()})
			return schema, nil
		}
		n := (st.Size() + pieceBytes - 1) / pieceBytes
		for i := range n {
			end := st.Size() * (i + 1) / n
			if i == n-1 {
				end = -1
			}
			start, stop := st.Size()*i/n, st.Size()*(i+1)/n
			fs.Pieces = append(fs.Pieces, Piece{File: f, Start: start, End: end, Bytes: stop - start})
		}
		return schema, nil
	case FormatParquet:
		pf, err := InspectParquet(f)
		if err != nil {
			return nil, err
		}
		var total int64
		for _, r := range pf.GroupRows {
			total += r
		}
		first, rows := 0, int64(0)
		for g, r := range pf.GroupRows {
			rows += r
			// Cut after this group once the run's share of the file reaches a piece.
			if g == len(pf.GroupRows)-1 || float64(st.Size())*float64(rows)/float64(max(total, 1)) >= float64(pieceBytes) {
				fs.Pieces = append(fs.Pieces, Piece{File: f, First: first, Last: g + 1, Rows: rows,
					Bytes: int64(float64(st.Size()) * float64(rows) / float64(max(total, 1)))})
				first, rows = g+1, 0
			}
		}
		return pf.Schema, nil
	default:
		t, err := ReadArrowFile(f)
		if err != nil {
			return nil, err
		}
		fs.Pieces = append(fs.Pieces, Piece{File: f, Rows: int64(t.Rows), Bytes: st.Size()})
		return t.Schema(), nil
	}
}

func sameSchema(a, b []Field) error {
	if len(a) != len(b) {
		return fmt.Errorf("has %d columns, %d in the first file: all files must have the same columns", len(b), len(a))
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Type != b[i].Type {
			return fmt.Errorf("has column %d as %s (%s), not %s (%s): all files must have the same columns", i+1, b[i].Name, b[i].Type, a[i].Name, a[i].Type)
		}
	}
	return nil
}

// Read reads piece p of the set: its table (only the named columns, or
// every one for nil), how many lines it spans (CSV; for line numbers of
// rejects) and the rows that could not be read.
func (fs *FileSet) Read(ctx context.Context, p Piece, columns []string) (*Table, CSVRange, []Reject, error) {
	switch fs.Format {
	case FormatCSV:
		format := fs.CSV
		format.Gzip = p.Gzip
		if columns == nil {
			return ReadCSVRange(p.File, format, fs.Schema, p.Start, p.End)
		}
		return ReadCSVColumns(p.File, format, fs.Schema, columns, p.Start, p.End)
	case FormatParquet:
		t, err := ReadParquetColumns(ctx, p.File, p.First, p.Last, columns)
		return t, CSVRange{}, nil, err
	case FormatArrow:
		t, err := ReadArrowFile(p.File)
		if err == nil && columns != nil {
			t, err = t.Project(columns)
		}
		return t, CSVRange{}, nil, err
	}
	return nil, CSVRange{}, nil, fmt.Errorf("unknown file format %q", fs.Format)
}

// Project is the table of the named columns, sharing t's values.
func (t *Table) Project(columns []string) (*Table, error) {
	out := &Table{Rows: t.Rows}
	for _, name := range columns {
		c := t.Column(name)
		if c == nil {
			return nil, fmt.Errorf("no column %q", name)
		}
		out.Columns = append(out.Columns, *c)
	}
	return out, nil
}
