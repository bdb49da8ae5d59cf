package prepare

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

// Rules for rows that share a customer id (data.duplicates).
const (
	DupKeep  = "keep"  // every row is a customer of its own (no shuffle)
	DupFirst = "first" // the first row in file order stands; later ones are dropped
	DupLast  = "last"  // the last row stands
	DupDrop  = "drop"  // an id on several rows is dropped altogether
	DupMerge = "merge" // one row: each column's last value that is not missing
)

// DupRules lists the rules, for messages.
var DupRules = []string{DupKeep, DupFirst, DupLast, DupDrop, DupMerge}

// KindDedup names the step that sends rows to their id's bucket, and the
// shuffle kind of the buckets it makes (partition.ShuffleSpec.Kind).
const KindDedup = "prepare/dedup"

// DedupStep scatters a raw file partition's rows into buckets by a hash of
// their id, so that every row of a customer meets the others on one node.
// Its partial is what reading the files found.
type DedupStep struct {
	ID string `json:"id"`
	N  int    `json:"buckets"`
}

var _ algorithms.Scatter = (*DedupStep)(nil)

func (s *DedupStep) Kind() string                   { return KindDedup }
func (s *DedupStep) MarshalBinary() ([]byte, error) { return json.Marshal(s) }
func (s *DedupStep) Buckets() int                   { return s.N }

// Map refuses: the step's rows must go to their buckets' holders.
func (s *DedupStep) Map(b *partition.Block) (algorithms.Partial, error) {
	return nil, fmt.Errorf("%s sends rows to buckets; run it as a shuffle", KindDedup)
}

// Scatter implements algorithms.Scatter. Rows without an id go to bucket
// 0: they are nobody's duplicate, and are kept.
func (s *DedupStep) Scatter(b *partition.Block) (algorithms.Partial, [][]byte, error) {
	if b.Table == nil {
		return nil, nil, fmt.Errorf("partition %d has no table", b.ID)
	}
	ids := b.Table.Column(s.ID)
	if ids == nil {
		return nil, nil, fmt.Errorf("data.id: the data has no column %q", s.ID)
	}
	rows := make([][]int, s.N)
	for r := range b.Table.Rows {
		k := 0
		if id, ok := ids.Key(r); ok {
			k = partition.Bucket(id, s.N)
		}
		rows[k] = append(rows[k], r)
	}
	parts := make([][]byte, s.N)
	for k := range parts {
		parts[k] = b.Table.EncodeRows(rows[k])
	}
	return &TallyPartial{Tally: partition.TallyOf(b)}, parts, nil
}

// TallyPartial is what reading some raw partitions found.
type TallyPartial struct {
	partition.Tally
}

func (p *TallyPartial) Merge(next algorithms.Partial) error {
	n, ok := next.(*TallyPartial)
	if !ok {
		return errors.New("merge mismatched tallies")
	}
	p.Tally.Merge(&n.Tally)
	return nil
}

func (p *TallyPartial) MarshalBinary() ([]byte, error) { return json.Marshal(p.Tally) }

// ReadTally is what reading the files found.
func (p *TallyPartial) ReadTally() *partition.Tally { return &p.Tally }

// DedupParams are a dedup shuffle's parameters.
type DedupParams struct {
	ID   string `json:"id"`
	Rule string `json:"rule"`
}

// DedupTable merges a bucket's parts, in source partition order (which is
// file order), into a table of schema with the rows of each id folded by
// the rule, keeping the named columns (nil: every one). Customers come in
// the order of their first row. It returns how many rows were folded
// away or dropped.
func DedupTable(parts [][]byte, schema []partition.Field, p DedupParams, columns []string) (*partition.Table, int64, error) {
	all := partition.NewTable(schema)
	for s, data := range parts {
		if err := all.AppendEncoded(data); err != nil {
			return nil, 0, fmt.Errorf("part from partition %d: %w", s, err)
		}
	}
	ids := all.Column(p.ID)
	if ids == nil {
		return nil, 0, fmt.Errorf("data.id: no column %q", p.ID)
	}
	// Each id's rows, in order; rows without an id stand alone.
	var groups [][]int
	at := map[string]int{}
	for r := range all.Rows {
		id, ok := ids.Key(r)
		if !ok {
			groups = append(groups, []int{r})
			continue
		}
		g, seen := at[id]
		if !seen {
			g = len(groups)
			at[id] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], r)
	}
	out := partition.NewTable(schema)
	for _, g := range groups {
		switch {
		case p.Rule == DupKeep || p.Rule == "":
			// Shuffled for another reason (labels joined by id): every row
			// stands.
			for _, r := range g {
				out.AppendRow(all, r)
			}
		case len(g) == 1, p.Rule == DupFirst:
			out.AppendRow(all, g[0])
		case p.Rule == DupLast:
			out.AppendRow(all, g[len(g)-1])
		case p.Rule == DupDrop:
			continue
		case p.Rule == DupMerge:
			for i := range out.Columns {
				src := &all.Columns[i]
				last := g[len(g)-1]
				for _, r := range slices.Backward(g) {
					if !src.Missing(r) {
						last = r
						break
					}
				}
				out.AppendCell(i, src, last)
			}
			out.Rows++
		default:
			return nil, 0, fmt.Errorf("data.duplicates %q is unknown (use %v)", p.Rule, DupRules)
		}
	}
	folded := int64(all.Rows - out.Rows)
	if columns == nil {
		return out, folded, nil
	}
	t, err := out.Project(columns)
	return t, folded, err
}
