package prepare

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cohort/cohort/partition"
)

// MaxCategories is how many distinct values a text column's statistics
// track exactly. Past it the column is marked Many: too many values to
// one-hot encode or profile by category (a customer id, say), which a
// spec is told rather than silently truncated.
const MaxCategories = 1 << 14

// ColumnStats are the statistics of one column that fitting a preparation
// needs, computed per partition in one pass and merged in partition order.
// Numbers and times (as Unix milliseconds) fill the moments, extremes and
// sketch; text fills Categories.
//
// A number that is NaN or ±Inf is Missing: neither can be averaged,
// clipped or scaled, so cleaning has to treat an infinity (which Parquet
// can hold, CSV reading refuses) like an absent value.
//
// Time quantiles are within Alpha of the Unix time itself, about three
// months today: fine for a profile, too coarse to clip dates by.
type ColumnStats struct {
	Count   int64 // present values
	Missing int64
	Mean    float64
	M2      float64 // sum of squared deviations from Mean
	Min     float64 // Min and Max mean nothing when Count is 0
	Max     float64
	Sketch  Sketch

	Categories map[string]int64
	Many       bool // more than MaxCategories distinct values were seen
	// Fractional: some value is not a whole number. A column of counts is
	// not, and its quantiles, which the sketch knows to 0.5%, read best
	// rounded to whole numbers.
	Fractional bool
}

// Stats computes the statistics of every column of t.
func Stats(t *partition.Table) []ColumnStats {
	out := make([]ColumnStats, len(t.Columns))
	for i := range t.Columns {
		c := &t.Columns[i]
		s := &out[i]
		s.Min, s.Max = math.Inf(1), math.Inf(-1)
		switch c.Type {
		case partition.Number:
			for _, v := range c.Num {
				s.add(v)
			}
		case partition.Time:
			for _, ms := range c.Times {
				v := math.NaN()
				if ms != partition.MissingTime {
					v = float64(ms)
				}
				s.add(v)
			}
		case partition.Text:
			counts := make([]int64, len(c.Dict))
			for _, code := range c.Codes {
				if code < 0 {
					s.Missing++
					continue
				}
				counts[code]++
				s.Count++
			}
			s.Categories = make(map[string]int64, min(len(c.Dict), MaxCategories))
			for code, n := range counts {
				if n > 0 {
					s.addCategory(c.Dict[code], n)
				}
			}
		}
	}
	return out
}

// add counts one value, Welford's update; NaN and ±Inf are missing.
func (s *ColumnStats) add(v float64) {
	if s.addMoments(v) {
		s.Sketch.Add(v)
	}
}

// addMoments is add without the sketch; it reports whether v was present.
func (s *ColumnStats) addMoments(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		s.Missing++
		return false
	}
	s.Count++
	if !s.Fractional && v != math.Trunc(v) {
		s.Fractional = true
	}
	d := v - s.Mean
	s.Mean += d / float64(s.Count)
	s.M2 += d * (v - s.Mean)
	// v is finite: comparisons do what math.Min and math.Max do, but for
	// their NaN and signed-zero cases, at a fraction of the cost.
	if v < s.Min {
		s.Min = v
	}
	if v > s.Max {
		s.Max = v
	}
	return true
}

func (s *ColumnStats) addCategory(v string, n int64) {
	if s.Many {
		return
	}
	if _, ok := s.Categories[v]; !ok && len(s.Categories) == MaxCategories {
		s.Many, s.Categories = true, nil
		return
	}
	s.Categories[v] += n
}

// Merge adds o, the statistics of the same column over later rows, to s
// (Chan et al.'s combination of moments). Merging in a fixed order gives
// the same bits whatever the cluster. s may be the zero ColumnStats.
func (s *ColumnStats) Merge(o *ColumnStats) {
	switch {
	case o.Count == 0:
	case s.Count == 0:
		// Copied, not combined: the formula would round o's mean, and s's
		// Min and Max (zero in a zero ColumnStats) are not values.
		s.Count, s.Mean, s.M2, s.Min, s.Max = o.Count, o.Mean, o.M2, o.Min, o.Max
		s.Sketch.Merge(&o.Sketch)
	default:
		n := s.Count + o.Count
		d := o.Mean - s.Mean
		s.Mean += d * float64(o.Count) / float64(n)
		s.M2 += o.M2 + d*d*float64(s.Count)*float64(o.Count)/float64(n)
		s.Count = n
		s.Min, s.Max = math.Min(s.Min, o.Min), math.Max(s.Max, o.Max)
		s.Sketch.Merge(&o.Sketch)
	}
	s.Missing += o.Missing
	s.Fractional = s.Fractional || o.Fractional
	if o.Many {
		s.Many, s.Categories = true, nil
	}
	if !s.Many && o.Categories != nil {
		if s.Categories == nil {
			s.Categories = map[string]int64{}
		}
		// Map order does not matter: below the cap counts add, and past it
		// the column is Many whichever value crossed it.
		for k, n := range o.Categories {
			s.addCategory(k, n)
		}
	}
}

// Variance is the population variance; 0 with fewer than two values.
func (s *ColumnStats) Variance() float64 {
	if s.Count < 2 {
		return 0
	}
	return s.M2 / float64(s.Count)
}

// Category is a value of a text column and how often it occurs.
type Category struct {
	Value string
	Count int64
}

// Top returns the n most frequent categories, most frequent first, ties in
// value order; none if the column has Many.
func (s *ColumnStats) Top(n int) []Category {
	n = max(n, 0)
	out := make([]Category, 0, len(s.Categories))
	for v, c := range s.Categories {
		out = append(out, Category{v, c})
	}
	slices.SortFunc(out, func(a, b Category) int {
		if a.Count != b.Count {
			if a.Count > b.Count {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Value, b.Value)
	})
	return out[:min(n, len(out))]
}

// StatsBy computes the statistics of every column of t for each of groups
// groups of rows: group[i] is row i's group, and a row with a group below
// 0 is left out (a row dropped before clustering, say). It is Stats per
// segment, in one pass, for profiles.
func StatsBy(t *partition.Table, group []int32, groups int) ([][]ColumnStats, error) {
	if len(group) != t.Rows {
		return nil, fmt.Errorf("stats by group: %d groups for %d rows", len(group), t.Rows)
	}
	out := make([][]ColumnStats, groups)
	for g := range out {
		out[g] = make([]ColumnStats, len(t.Columns))
		for i := range out[g] {
			out[g][i].Min, out[g][i].Max = math.Inf(1), math.Inf(-1)
		}
	}
	for _, g := range group {
		if int(g) >= groups {
			return nil, fmt.Errorf("stats by group: group %d of %d", g, groups)
		}
	}
	for i := range t.Columns {
		c := &t.Columns[i]
		switch c.Type {
		case partition.Number:
			for r, v := range c.Num {
				if g := group[r]; g >= 0 {
					out[g][i].add(v)
				}
			}
		case partition.Time:
			for r, ms := range c.Times {
				if g := group[r]; g >= 0 {
					v := math.NaN()
					if ms != partition.MissingTime {
						v = float64(ms)
					}
					out[g][i].add(v)
				}
			}
		case partition.Text:
			counts := make([][]int64, groups)
			for r, code := range c.Codes {
				g := group[r]
				if g < 0 {
					continue
				}
				s := &out[g][i]
				if code < 0 {
					s.Missing++
					continue
				}
				if counts[g] == nil {
					counts[g] = make([]int64, len(c.Dict))
				}
				counts[g][code]++
				s.Count++
			}
			for g := range groups {
				s := &out[g][i]
				s.Categories = map[string]int64{}
				for code, n := range counts[g] {
					if n > 0 {
						s.addCategory(c.Dict[code], n)
					}
				}
			}
		}
	}
	return out, nil
}
