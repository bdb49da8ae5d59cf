package algorithms

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Params is an algorithm's section of a job spec (cluster: …), kept as
// YAML so that every error can name the line it is about.
type Params struct {
	section string // "cluster"
	line    int    // the section's line
	keys    map[string]*yaml.Node
}

// NewParams reads a mapping node of a spec's section (named for errors),
// refusing keys outside known and a key given twice. skip are keys the
// caller reads itself ("algorithm").
func NewParams(section string, node *yaml.Node, known []Param, skip ...string) (Params, error) {
	p := Params{section: section, keys: map[string]*yaml.Node{}}
	if node == nil || node.Kind == 0 {
		return p, nil
	}
	p.line = node.Line
	if node.Kind != yaml.MappingNode {
		return p, fmt.Errorf("job spec line %d: %s must be a mapping of parameters", node.Line, section)
	}
	names := make([]string, 0, len(known))
	for _, k := range known {
		names = append(names, k.Name)
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		switch {
		case slices.Contains(skip, k.Value):
			continue
		case !slices.Contains(names, k.Value):
			return p, fmt.Errorf("job spec line %d: %s.%s is not a parameter of this algorithm (it takes: %s)", k.Line, section, k.Value, strings.Join(names, ", "))
		case p.keys[k.Value] != nil:
			return p, fmt.Errorf("job spec line %d: %s.%s is given twice", k.Line, section, k.Value)
		}
		p.keys[k.Value] = v
	}
	return p, nil
}

// Has says whether the spec gives key.
func (p Params) Has(key string) bool { return p.keys[key] != nil }

// Node is key's YAML value, nil when absent: for a parameter of more than
// one form (a number or a range).
func (p Params) Node(key string) *yaml.Node { return p.keys[key] }

// Decode reads key into v when the spec gives it, leaving v alone
// otherwise; a value of the wrong type is an error naming its line.
func (p Params) Decode(key string, v any) error {
	n := p.keys[key]
	if n == nil {
		return nil
	}
	if err := n.Decode(v); err != nil {
		return p.Errorf(key, "%q is not %s", n.Value, kindOf(v))
	}
	return nil
}

// Errorf is an error about key, with its line (or the section's when the
// spec does not give it).
func (p Params) Errorf(key, format string, args ...any) error {
	line := p.line
	if n := p.keys[key]; n != nil {
		line = n.Line
	}
	msg := fmt.Sprintf(format, args...)
	if line == 0 {
		return fmt.Errorf("%s.%s: %s", p.section, key, msg)
	}
	return fmt.Errorf("job spec line %d: %s.%s: %s", line, p.section, key, msg)
}

func kindOf(v any) string {
	switch v.(type) {
	case *int, *int64, *uint64:
		return "a whole number"
	case *float64, *float32:
		return "a number"
	case *bool:
		return "true or false"
	case *string:
		return "text"
	}
	return "of the expected form"
}

// MaxCandidates bounds a range of segment counts: each is a whole fit.
const MaxCandidates = 100

// Counts reads a number of segments (key, usually k) that may be a range
// to choose from: a whole number, {min: a, max: b} for every number from
// a to b, or a list of numbers. They come back ascending; more than one
// means the spec asks for a choice.
func (p Params) Counts(key string) ([]int, error) {
	n := p.keys[key]
	if n == nil {
		return nil, p.Errorf(key, "is required")
	}
	whole := func(n *yaml.Node, what string) (int, error) {
		var v int
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
			return 0, fmt.Errorf("job spec line %d: %s.%s: must be a whole number, got %q", n.Line, p.section, what, n.Value)
		}
		if v < 1 {
			return 0, fmt.Errorf("job spec line %d: %s.%s: must be at least 1 (got %d)", n.Line, p.section, what, v)
		}
		return v, nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		v, err := whole(n, key)
		if err != nil {
			return nil, err
		}
		return []int{v}, nil
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return nil, p.Errorf(key, "is an empty list; give numbers of segments to choose from")
		}
		var ks []int
		for i, c := range n.Content {
			v, err := whole(c, fmt.Sprintf("%s[%d]", key, i))
			if err != nil {
				return nil, err
			}
			if slices.Contains(ks, v) {
				return nil, fmt.Errorf("job spec line %d: %s.%s lists %d twice", c.Line, p.section, key, v)
			}
			ks = append(ks, v)
		}
		slices.Sort(ks)
		if len(ks) > MaxCandidates {
			return nil, p.Errorf(key, "lists %d values; at most %d can be fitted and compared", len(ks), MaxCandidates)
		}
		return ks, nil
	case yaml.MappingNode:
		var lo, hi *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch k, v := n.Content[i], n.Content[i+1]; k.Value {
			case "min":
				lo = v
			case "max":
				hi = v
			default:
				return nil, fmt.Errorf("job spec line %d: %s.%s.%s is unknown; a range is {min: …, max: …}", k.Line, p.section, key, k.Value)
			}
		}
		if lo == nil || hi == nil {
			return nil, p.Errorf(key, "a range needs both min and max")
		}
		a, err := whole(lo, key+".min")
		if err != nil {
			return nil, err
		}
		b, err := whole(hi, key+".max")
		if err != nil {
			return nil, err
		}
		switch {
		case a > b:
			return nil, p.Errorf(key, "min (%d) exceeds max (%d)", a, b)
		case b-a+1 > MaxCandidates:
			return nil, p.Errorf(key, "the range %d..%d has %d values; at most %d can be fitted and compared", a, b, b-a+1, MaxCandidates)
		}
		ks := make([]int, 0, b-a+1)
		for v := a; v <= b; v++ {
			ks = append(ks, v)
		}
		return ks, nil
	}
	return nil, p.Errorf(key, "must be a number, {min: …, max: …} or a list of numbers")
}
