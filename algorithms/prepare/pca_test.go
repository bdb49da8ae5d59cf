package prepare

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cohort/cohort/algorithms"
	"github.com/cohort/cohort/partition"
)

// correlated is a table of three number columns: b follows a closely, c is
// independent noise of smaller spread.
func correlated(n int, seed uint64) *partition.Table {
	r := rand.New(rand.NewPCG(seed, 3))
	t := partition.NewTable([]partition.Field{{Name: "a", Type: partition.Number}, {Name: "b", Type: partition.Number}, {Name: "c", Type: partition.Number}})
	for range n {
		a := r.NormFloat64() * 3
		t.Columns[0].Num = append(t.Columns[0].Num, a)
		t.Columns[1].Num = append(t.Columns[1].Num, 2*a+0.1*r.NormFloat64())
		t.Columns[2].Num = append(t.Columns[2].Num, 0.5*r.NormFloat64())
		t.Rows++
	}
	return t
}

func fitWith(t *testing.T, tabs []*partition.Table, cfg Config, scale string) *Pipeline {
	t.Helper()
	var blocks []*partition.Block
	for i, tab := range tabs {
		blocks = append(blocks, &partition.Block{ID: i, Table: tab})
	}
	p := NewProgram(cfg, scale, tabs[0].Schema())
	if err := algorithms.Drive(context.Background(), p, wireExecutor{t, blocks}, nil); err != nil {
		t.Fatal(err)
	}
	pl, err := p.Result()
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

// The components are orthonormal, ordered by the variance they explain,
// and the projected features are uncorrelated with those variances; a
// share of the variance keeps as many components as reach it.
func TestPCAFromTheDistributedCovariance(t *testing.T) {
	tabs := []*partition.Table{correlated(3000, 1), correlated(2000, 2), correlated(1000, 3)}
	pl := fitWith(t, tabs, Config{PCA: &PCA{Components: 3}}, "none")
	pca := pl.PCA
	if len(pca.Components) != 3 || pca.Explained[0] < 0.99 || pca.Explained[0] < pca.Explained[1] || pca.Explained[1] < pca.Explained[2] {
		t.Fatalf("explained %v", pca.Explained)
	}
	for i, a := range pca.Components {
		for j, b := range pca.Components {
			var dot float64
			for k := range a {
				dot += a[k] * b[k]
			}
			if want := map[bool]float64{true: 1, false: 0}[i == j]; math.Abs(dot-want) > 1e-9 {
				t.Fatalf("components %d·%d = %v", i, j, dot)
			}
		}
	}
	// The first component is along (1, 2, 0)/√5, sign fixed positive.
	if c := pca.Components[0]; math.Abs(c[0]-1/math.Sqrt(5)) > 0.01 || math.Abs(c[1]-2/math.Sqrt(5)) > 0.01 {
		t.Fatalf("first component %v", c)
	}
	var all []float64
	for _, tab := range tabs {
		f, _, _, err := pl.Features(tab, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, f...)
	}
	st := FeatureStats(all, 3)
	total := st[0].Variance() + st[1].Variance() + st[2].Variance()
	for i := range 3 {
		if math.Abs(st[i].Mean) > 1e-9 || math.Abs(st[i].Variance()/total-pca.Explained[i]) > 1e-6 {
			t.Errorf("component %d: mean %v, share %v, explained %v", i, st[i].Mean, st[i].Variance()/total, pca.Explained[i])
		}
	}
	if pl := fitWith(t, tabs, Config{PCA: &PCA{Variance: 0.995}}, "none"); len(pl.PCA.Components) != 2 || pl.Width() != 2 || pl.Names()[1] != "pc2" {
		t.Fatalf("99.5%% of the variance kept %d components", len(pl.PCA.Components))
	}
	if pl := fitWith(t, tabs, Config{PCA: &PCA{Variance: 0.9}}, "standard"); len(pl.PCA.Components) != 2 {
		t.Fatalf("90%% of the standardised variance kept %d components", len(pl.PCA.Components))
	}
}

func TestPCAErrors(t *testing.T) {
	tabs := []*partition.Table{correlated(100, 1)}
	for _, c := range []struct {
		pca  PCA
		want string
	}{
		{PCA{Components: 4}, "only 3 features"},
		{PCA{Variance: 1.5}, "a share of the variance below 1"},
		{PCA{}, "prepare.pca.components is required"},
	} {
		p := NewProgram(Config{PCA: &c.pca}, "standard", tabs[0].Schema())
		err := algorithms.Drive(context.Background(), p, &algorithms.LocalExecutor{Blocks: []*partition.Block{{Table: tabs[0]}}}, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.pca, err, c.want)
		}
	}
}
