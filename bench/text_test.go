package bench

import (
	"bytes"
	"strings"
	"testing"
)

func TestTextNamesBothTimesAndTheRatio(t *testing.T) {
	threads := 2
	r := &KMeansReport{Rows: 1000, Dims: 16, K: 16, Workers: 1, Cores: 2, Iterations: 10, SecondsPerIter: 0.0123,
		MemoryReadBytes: 6.4e9, MemoryReadSeconds: 0.41, MemoryReadGBps: 15.6, IterToReadRatio: 1.3,
		Compare: &KMeansCompare{Peer: PeerSklearn, PeerVersion: "1.2.1", PeerSecondsPerIter: 0.08, PeerIterations: 10, PeerThreads: &threads, Ratio: 0.08 / 0.0123}}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"memory read of 6.4 GB: 0.41 s (15.6 GB/s); iteration / read = 1.3",
		"Cohort 0.0123 s/iter, scikit-learn lloyd 0.0800 s/iter: 6.5x faster",
		"scikit-learn 1.2.1, 10 iterations, 2 threads",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
	r.Compare.Ratio = 0.25
	b.Reset()
	_ = r.WriteText(&b)
	if !strings.Contains(b.String(), ": 4x slower") {
		t.Errorf("a slower Cohort reads %q", b.String())
	}
}

func TestRatiosPrintWithoutExponents(t *testing.T) {
	for x, want := range map[float64]string{1.34: "1.3", 6.51: "6.5", 12.4: "12", 250.2: "250", 1676: "1676"} {
		if got := times(x); got != want {
			t.Errorf("times(%v) = %q, want %q", x, got, want)
		}
	}
}
