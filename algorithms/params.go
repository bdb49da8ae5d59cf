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
