package bench

import (
	"context"
	"testing"
	"time"

	"github.com/cohort/cohort/algorithms"
)

func TestKMeansReportsEveryFigure(t *testing.T) {
	r, err := KMeans(context.Background(), KMeansConfig{Rows: 20000, Dims: 4, K: 5, Iters: 6, Workers: 2, Seed: 3, PartitionRows: 3000})
	if err != nil {
		t.Fatal(err)
	}
	if r.Rows != 20000 || r.Dims != 4 || r.K != 5 || r.Workers != 2 || r.Iterations != 6 {
		t.Fatalf("report %+v", r)
	}
	if len(r.IterSeconds) == 0 || !(r.SecondsPerIter > 0) || r.BytesResident <= 0 || r.DataBytes != 20000*(8*4+8) {
		t.Fatalf("measurements missing: %+v", r)
	}
	if len(r.Centroids) != 5 || len(r.TrueCenters) != 5 || r.MaxCenterError > 0.2 {
		t.Fatalf("centres: %d found, %d true, worst off by %.3f spreads", len(r.Centroids), len(r.TrueCenters), r.MaxCenterError)
	}
}

func TestIterTimerTimesEachLloydStep(t *testing.T) {
	var it iterTimer
	it.observe("j", algorithms.Progress{Phase: "init"})
	time.Sleep(10 * time.Millisecond)
	it.observe("j", algorithms.Progress{Phase: "lloyd", Iteration: 1})
	time.Sleep(20 * time.Millisecond)
	it.observe("j", algorithms.Progress{Phase: "lloyd", Iteration: 2})
	it.observe("j", algorithms.Progress{Phase: "lloyd", Restart: 1, Iteration: 1}) // another restart: not timed
	per, initEnd := it.times()
	if len(per) != 2 || per[0] < 0.009 || per[1] < 0.019 || initEnd.IsZero() {
		t.Fatalf("per-iteration times %v, init end %v", per, initEnd)
	}
	if m := median([]float64{3, 1, 2, 10}); m != 2.5 {
		t.Fatalf("median %v", m)
	}
}

func TestKMeansRefusesBadSizes(t *testing.T) {
	for _, c := range []KMeansConfig{{Rows: 0, Dims: 1, K: 1, Iters: 1, Workers: 1}, {Rows: 5, Dims: 1, K: 6, Iters: 1, Workers: 1}, {Rows: 5, Dims: 0, K: 1, Iters: 1, Workers: 1}, {Rows: 5, Dims: 1, K: 1, Iters: 1, Workers: 0}} {
		if _, err := KMeans(context.Background(), c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
