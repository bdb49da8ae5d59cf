package profile

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cohort/cohort/algorithms/prepare"
	"github.com/cohort/cohort/partition"
)

// Stats are a table's column statistics per segment, to be merged across
// partitions in partition order.
type Stats struct {
	Fields   []partition.Field
	Segments [][]prepare.ColumnStats // segment × column
}

// Compute gathers the statistics of t's rows by segment: label[i] is row
// i's segment among k, or below 0 for a row that has none.
func Compute(t *partition.Table, label []int32, k int) (*Stats, error) {
	seg, err := prepare.StatsBy(t, label, k)
	if err != nil {
		return nil, err
	}
	return &Stats{Fields: t.Schema(), Segments: seg}, nil
}

// Merge folds o, which covers later partitions, into s.
func (s *Stats) Merge(o *Stats) error {
	if len(o.Segments) != len(s.Segments) || len(o.Fields) != len(s.Fields) {
		return errors.New("merge profiles of different shapes")
	}
	for g := range s.Segments {
		for i := range s.Segments[g] {
			s.Segments[g][i].Merge(&o.Segments[g][i])
		}
	}
	return nil
}

// Profile describes one segment.
type Profile struct {
	Segment int      `json:"segment"`
	Label   string   `json:"label"`
	Size    int64    `json:"size"`
	Share   float64  `json:"share"`
	Numbers []Number `json:"numbers"`
	Texts   []Text   `json:"texts,omitempty"`
}

// Number is a number or time column in one segment, in the column's units
// (times in Unix milliseconds, Time set). Rank is where the segment's
// median falls among all rows, 0 to 1.
type Number struct {
	Column  string  `json:"column"`
	Time    bool    `json:"time,omitempty"`
	Mean    float64 `json:"mean"`
	Median  float64 `json:"median"`
	Overall float64 `json:"overall_median"`
	Rank    float64 `json:"rank"`
	Missing int64   `json:"missing,omitempty"`
}

// Text is a text column's most common values in one segment.
type Text struct {
	Column string     `json:"column"`
	Top    []Category `json:"top"`
}

// Category is a value, its count in the segment, and its share of the
// segment against its share of all rows.
type Category struct {
	Value   string  `json:"value"`
	Count   int64   `json:"count"`
	Share   float64 `json:"share"`
	Overall float64 `json:"overall_share"`
}

// Build turns merged statistics into profiles, with topN categories per
// text column. Text columns with too many values to count (ids) are left
// out.
func Build(s *Stats, topN int) []Profile {
	all := make([]prepare.ColumnStats, len(s.Fields))
	for i := range all {
		all[i].Min, all[i].Max = math.Inf(1), math.Inf(-1)
		for g := range s.Segments {
			all[i].Merge(&s.Segments[g][i])
		}
	}
	var total int64
	size := make([]int64, len(s.Segments))
	for g := range s.Segments {
		if len(s.Fields) > 0 {
			size[g] = s.Segments[g][0].Count + s.Segments[g][0].Missing
		}
		total += size[g]
	}
	out := make([]Profile, len(s.Segments))
	for g := range s.Segments {
		p := Profile{Segment: g, Size: size[g]}
		if total > 0 {
			p.Share = float64(size[g]) / float64(total)
		}
		for i, f := range s.Fields {
			c, a := &s.Segments[g][i], &all[i]
			switch f.Type {
			case partition.Number, partition.Time:
				if c.Count == 0 {
					continue
				}
				med, overall := c.Sketch.Quantile(0.5), a.Sketch.Quantile(0.5)
				r := rank(&a.Sketch, med)
				if !a.Fractional && f.Type == partition.Number {
					med, overall = math.Round(med), math.Round(overall)
				}
				p.Numbers = append(p.Numbers, Number{Column: f.Name, Time: f.Type == partition.Time, Mean: c.Mean, Median: med,
					Overall: overall, Rank: r, Missing: c.Missing})
			case partition.Text:
				// Too many values to count, or mostly unique (an id): no
				// category says anything about the segment.
				if c.Many || a.Many || c.Count == 0 || int64(len(a.Categories)) > a.Count/2 {
					continue
				}
				t := Text{Column: f.Name}
				for _, cat := range c.Top(topN) {
					t.Top = append(t.Top, Category{Value: cat.Value, Count: cat.Count,
						Share: float64(cat.Count) / float64(c.Count), Overall: float64(a.Categories[cat.Value]) / float64(a.Count)})
				}
				p.Texts = append(p.Texts, t)
			}
		}
		p.Label = label(p)
		out[g] = p
	}
	return out
}

// rank is where v stands among the sketch's values, 0 to 1: the middle of
// the shares below it and at or below it (so a value many rows share, like
// a frequency of 1, ranks in the middle of its run), found by bisection on
// the quantiles.
func rank(s *prepare.Sketch, v float64) float64 {
	if s.Count() == 0 {
		return 0.5
	}
	share := func(below func(q float64) bool) float64 {
		lo, hi := 0.0, 1.0
		for range 30 {
			mid := (lo + hi) / 2
			if below(mid) {
				lo = mid
			} else {
				hi = mid
			}
		}
		return lo
	}
	return (share(func(q float64) bool { return s.Quantile(q) < v }) + share(func(q float64) bool { return s.Quantile(q) <= v })) / 2
}

// rfm names the words for customer features from transactions: low, middle
// and high thirds of all customers.
var rfm = []struct {
	column string
	words  [3]string
}{
	{"recency_days", [3]string{"recent", "lapsing", "lapsed"}},
	{"frequency", [3]string{"one-off", "occasional", "frequent"}},
	{"monetary", [3]string{"low value", "mid value", "high value"}},
}

// label is a few plain words for a segment: for customer features, where it
// stands on recency, frequency and value; otherwise its most distinctive
// columns, "high Income, low Age", and a category it is mostly made of.
func label(p Profile) string {
	byName := map[string]Number{}
	for _, n := range p.Numbers {
		byName[n.Column] = n
	}
	var words []string
	for _, f := range rfm {
		if n, ok := byName[f.column]; ok {
			words = append(words, f.words[min(2, int(n.Rank*3))])
		}
	}
	if len(words) > 0 {
		return strings.Join(words, ", ")
	}
	nums := slices.Clone(p.Numbers)
	slices.SortStableFunc(nums, func(a, b Number) int {
		return -cmp.Compare(math.Abs(a.Rank-0.5), math.Abs(b.Rank-0.5))
	})
	for _, n := range nums[:min(3, len(nums))] {
		switch {
		case n.Rank >= 0.7:
			words = append(words, "high "+n.Column)
		case n.Rank <= 0.3:
			words = append(words, "low "+n.Column)
		}
	}
	for _, t := range p.Texts {
		if len(t.Top) > 0 && t.Top[0].Share >= 0.6 && t.Top[0].Share >= t.Top[0].Overall+0.1 {
			words = append(words, fmt.Sprintf("mostly %s %s", t.Column, t.Top[0].Value))
			break
		}
	}
	if len(words) == 0 {
		return "typical"
	}
	return strings.Join(words, ", ")
}
