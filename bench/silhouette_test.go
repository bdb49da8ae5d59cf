package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestSilhouetteMatchesSklearnOnTheJobsOwnRowsAndLabels(t *testing.T) {
	needSklearn(t)
	for _, distance := range []string{"euclidean", "manhattan"} {
		t.Run(distance, func(t *testing.T) {
			// Several partitions on two workers: the peer's copy is
			// generated again and labelled by the model, so any
			// difference in rows, order or labels shows in the value.
			r, err := Silhouette(context.Background(), SilhouetteConfig{Rows: 3000, Dims: 5, K: 4, Seed: 2,
				Distance: distance, Workers: 2, Repeat: 2, PartitionRows: 700})
			if err != nil {
				t.Fatal(err)
			}
			if r.Method != "exact" || r.SilhouetteRows != 3000 || r.Silhouette == nil || r.Peer == nil {
				t.Fatalf("report %+v", r)
			}
			if *r.RelativeDifference > 1e-9 || len(r.Runs) != 2 || len(r.Peer.Runs) != 2 || !(*r.Ratio > 0) {
				t.Fatalf("cohort %v, peer %+v, ratio %v, difference %v", *r.Silhouette, r.Peer, *r.Ratio, *r.RelativeDifference)
			}
			if r.Partitions != 5 || r.BlocksBuilt != 5 {
				t.Fatalf("%d blocks built for %d partitions", r.BlocksBuilt, r.Partitions)
			}
			if !(r.PeakResidentBytes > 0) || !(r.Peer.PeakResidentBytes > 0) {
				t.Fatalf("peaks %d, %d", r.PeakResidentBytes, r.Peer.PeakResidentBytes)
			}
			var out bytes.Buffer
			if err := r.WriteText(&out); err != nil || !strings.Contains(out.String(), "ratio") {
				t.Fatalf("text %q, %v", out.String(), err)
			}
		})
	}
}

func TestSilhouetteFailsWhenThePeerDisagrees(t *testing.T) {
	fakePython(t, `case "$*" in *silhouette_score*) echo '{"seconds": 1.5, "silhouette": 0.25, "peak_rss_bytes": 1, "sklearn_version": "fake"}';; esac`)
	_, err := Silhouette(context.Background(), SilhouetteConfig{Rows: 2000, Dims: 3, K: 3, Seed: 1, Distance: "euclidean", Workers: 1, Repeat: 1})
	if err == nil || !strings.Contains(err.Error(), "differs from scikit-learn's") {
		t.Fatalf("a wrong peer value gave %v", err)
	}
}

func TestSilhouetteChoosesKOnOneLoad(t *testing.T) {
	r, err := Silhouette(context.Background(), SilhouetteConfig{Rows: 4000, Dims: 4, K: 5, Seed: 3, Distance: "euclidean",
		Workers: 2, Repeat: 1, Choose: "2..8", PartitionRows: 1000})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Choose
	if c == nil || c.Candidates != 7 || c.ChosenK < 2 || c.ChosenK > 8 || c.Rule != "silhouette" {
		t.Fatalf("choose %+v", c)
	}
	// Seven fits and seven evaluations, and each partition built once.
	if r.Partitions != 4 || r.BlocksBuilt != 4 {
		t.Fatalf("%d blocks built for %d partitions", r.BlocksBuilt, r.Partitions)
	}
	if r.Peer != nil || !strings.Contains(r.PeerSkipped, "does not choose k") {
		t.Fatalf("peer %+v, skipped %q", r.Peer, r.PeerSkipped)
	}
}

func TestSilhouetteRefusesBadFlags(t *testing.T) {
	base := SilhouetteConfig{Rows: 100, Dims: 2, K: 3, Distance: "euclidean", Workers: 1, Repeat: 1}
	for _, c := range []struct {
		change func(*SilhouetteConfig)
		want   string
	}{
		{func(c *SilhouetteConfig) { c.K = 200 }, "--k (200) exceeds --rows"},
		{func(c *SilhouetteConfig) { c.Distance = "cosine" }, "--distance"},
		{func(c *SilhouetteConfig) { c.Sample = "some" }, "--sample"},
		{func(c *SilhouetteConfig) { c.Sample = "0" }, "--sample"},
		{func(c *SilhouetteConfig) { c.Choose = "9..3" }, "MIN ≤ MAX"},
		{func(c *SilhouetteConfig) { c.Choose = "2-9" }, "MIN..MAX"},
		{func(c *SilhouetteConfig) { c.Choose = "2..500" }, "exceeds --rows"},
		{func(c *SilhouetteConfig) { c.Repeat = 0 }, "--repeat"},
	} {
		cfg := base
		c.change(&cfg)
		if _, err := Silhouette(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", cfg, err, c.want)
		}
	}
}
