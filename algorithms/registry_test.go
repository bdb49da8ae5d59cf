package algorithms

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func section(t *testing.T, text string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

func TestParamsNameTheLineAndTheKnownKeys(t *testing.T) {
	known := []Param{{Name: "k"}, {Name: "tol", Default: "0.1"}}
	p, err := NewParams("cluster", section(t, "algorithm: x\nk: 3\ntol: 0.5\n"), known, "algorithm")
	if err != nil {
		t.Fatal(err)
	}
	var k int
	tol := 0.1
	if err := p.Decode("k", &k); err != nil || k != 3 {
		t.Fatalf("k %d, %v", k, err)
	}
	if err := p.Decode("tol", &tol); err != nil || tol != 0.5 || !p.Has("tol") || p.Has("rounds") {
		t.Fatalf("tol %v, %v", tol, err)
	}
	if err := p.Errorf("tol", "too big"); err.Error() != "job spec line 3: cluster.tol: too big" {
		t.Fatalf("error %q", err)
	}
	if err := p.Errorf("rounds", "missing"); err.Error() != "job spec line 1: cluster.rounds: missing" {
		t.Fatalf("error about an absent key %q", err)
	}
	cases := map[string]string{
		"k: 3\ncolour: red\n": "job spec line 2: cluster.colour is not a parameter of this algorithm (it takes: k, tol)",
		"k: 3\nk: 4\n":        "line 2: cluster.k is given twice",
		"[1, 2]\n":            "line 1: cluster must be a mapping",
	}
	for text, want := range cases {
		if _, err := NewParams("cluster", section(t, text), known); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}
	p, _ = NewParams("cluster", section(t, "k: three\n"), known)
	if err := p.Decode("k", &k); err == nil || !strings.Contains(err.Error(), `line 1: cluster.k: "three" is not a whole number`) {
		t.Fatalf("bad type: %v", err)
	}
}

func TestRegistryRefusesWhatWouldBeAmbiguous(t *testing.T) {
	a := Algorithm{Name: "reg-test", Configure: func(Params, uint64) (Config, error) { return nil, nil }, Codec: Codecs{},
		DecodeModel: func([]byte) (Model, error) { return nil, nil }, Aliases: []string{"RT"}}
	Register(a)
	defer func() {
		registry.Lock()
		delete(registry.algorithms, a.Name)
		delete(registry.codecs, a.Name)
		registry.Unlock()
	}()
	if got, err := Lookup("rt"); err != nil || got.Name != a.Name {
		t.Fatalf("alias lookup: %v %v", got, err)
	}
	if _, err := Lookup("nope"); err == nil || !strings.Contains(err.Error(), "reg-test") {
		t.Fatalf("unknown name: %v, want the registered ones listed", err)
	}
	for name, f := range map[string]func(){
		"twice":      func() { Register(a) },
		"bad name":   func() { b := a; b.Name = "a/b"; Register(b) },
		"incomplete": func() { Register(Algorithm{Name: "x"}) },
		"steps":      func() { RegisterSteps(a.Name, Codecs{}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
