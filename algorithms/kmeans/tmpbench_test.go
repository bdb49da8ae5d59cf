package kmeans

import (
	"math"
	"testing"

	"github.com/cohort/cohort/partition"
)

func nearestA(x, cent []float32, k, stride int) (int, float32) {
	best, bestD := 0, float32(math.Inf(1))
	cent = cent[:k*stride]
	for c := 0; len(cent) >= stride; c++ {
		// dist2, inlined by hand: the call costs a fifth of the loop.
		y := cent[:stride]
		cent = cent[stride:]
		var s0, s1, s2, s3, s4, s5, s6, s7 float32
		for xs := x; len(xs) >= partition.Lanes && len(y) >= partition.Lanes; {
			a, b := (*[partition.Lanes]float32)(xs), (*[partition.Lanes]float32)(y)
			d0, d1, d2, d3 := a[0]-b[0], a[1]-b[1], a[2]-b[2], a[3]-b[3]
			d4, d5, d6, d7 := a[4]-b[4], a[5]-b[5], a[6]-b[6], a[7]-b[7]
			s0 += float32(d0 * d0)
			s1 += float32(d1 * d1)
			s2 += float32(d2 * d2)
			s3 += float32(d3 * d3)
			s4 += float32(d4 * d4)
			s5 += float32(d5 * d5)
			s6 += float32(d6 * d6)
			s7 += float32(d7 * d7)
			xs, y = xs[partition.Lanes:], y[partition.Lanes:]
		}
		if d := ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)); d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD
}

func nearestB(x, cent []float32, k, stride int) (int, float32) {
	best, bestD := 0, float32(math.Inf(1))
	cent = cent[:k*stride]
	c := 0
	// Two centroids per sweep of x: each loaded x value serves both.
	for ; len(cent) >= 2*stride; c += 2 {
		y, z := cent[:stride], cent[stride:2*stride]
		cent = cent[2*stride:]
		var s0, s1, s2, s3, t0, t1, t2, t3 float32
		for xs := x; len(xs) >= partition.Lanes && len(y) >= partition.Lanes && len(z) >= partition.Lanes; {
			a, b, e := (*[partition.Lanes]float32)(xs), (*[partition.Lanes]float32)(y), (*[partition.Lanes]float32)(z)
			d0, d1, d2, d3 := a[0]-b[0], a[1]-b[1], a[2]-b[2], a[3]-b[3]
			f0, f1, f2, f3 := a[0]-e[0], a[1]-e[1], a[2]-e[2], a[3]-e[3]
			s0 += float32(d0 * d0)
			s1 += float32(d1 * d1)
			s2 += float32(d2 * d2)
			s3 += float32(d3 * d3)
			t0 += float32(f0 * f0)
			t1 += float32(f1 * f1)
			t2 += float32(f2 * f2)
			t3 += float32(f3 * f3)
			d0, d1, d2, d3 = a[4]-b[4], a[5]-b[5], a[6]-b[6], a[7]-b[7]
			f0, f1, f2, f3 = a[4]-e[4], a[5]-e[5], a[6]-e[6], a[7]-e[7]
			s0 += float32(d0 * d0)
			s1 += float32(d1 * d1)
			s2 += float32(d2 * d2)
			s3 += float32(d3 * d3)
			t0 += float32(f0 * f0)
			t1 += float32(f1 * f1)
			t2 += float32(f2 * f2)
			t3 += float32(f3 * f3)
			xs, y, z = xs[partition.Lanes:], y[partition.Lanes:], z[partition.Lanes:]
		}
		if d := (s0 + s1) + (s2 + s3); d < bestD {
			best, bestD = c, d
		}
		if d := (t0 + t1) + (t2 + t3); d < bestD {
			best, bestD = c+1, d
		}
	}
	if len(cent) >= stride {
		if d := dist2B(x, cent[:stride]); d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD
}

func dist2B(x, y []float32) float32 {
	var s0, s1, s2, s3 float32
	for len(x) >= partition.Lanes && len(y) >= partition.Lanes {
		a, b := (*[partition.Lanes]float32)(x), (*[partition.Lanes]float32)(y)
		d0, d1, d2, d3 := a[0]-b[0], a[1]-b[1], a[2]-b[2], a[3]-b[3]
		s0 += float32(d0 * d0)
		s1 += float32(d1 * d1)
		s2 += float32(d2 * d2)
		s3 += float32(d3 * d3)
		d0, d1, d2, d3 = a[4]-b[4], a[5]-b[5], a[6]-b[6], a[7]-b[7]
		s0 += float32(d0 * d0)
		s1 += float32(d1 * d1)
		s2 += float32(d2 * d2)
		s3 += float32(d3 * d3)
		x, y = x[partition.Lanes:], y[partition.Lanes:]
	}
	return (s0 + s1) + (s2 + s3)
}


func benchNearest(b *testing.B, f func(x, cent []float32, k, stride int) (int, float32)) {
	blocks := blobs(b, randomCentres(16, 16, 10, 1), 1, 1, 131072, 2)
	cent := padCentroids(randomCentres(16, 16, 10, 3), 16)
	d := blocks[0].Data
	b.SetBytes(131072 * 16 * 4)
	var sink int
	for b.Loop() {
		for i := 0; i < 131072; i++ {
			c, _ := f(d[i*16:i*16+16], cent, 16, 16)
			sink += c
		}
	}
	_ = sink
}
func BenchmarkXA(b *testing.B) { benchNearest(b, nearestA) }
func BenchmarkXB(b *testing.B) { benchNearest(b, nearestB) }
var _ = math.Inf
var _ = partition.Lanes

func nearestC(x, cent []float32, k, stride int) (int, float32) {
	best, bestD := 0, float32(math.Inf(1))
	cent = cent[:k*stride]
	c := 0
	for ; len(cent) >= 4*stride; c += 4 {
		y0, y1, y2, y3 := cent[:stride], cent[stride:2*stride], cent[2*stride:3*stride], cent[3*stride:4*stride]
		cent = cent[4*stride:]
		var s0, s1, t0, t1, u0, u1, v0, v1 float32
		for xs := x; len(xs) >= 2 && len(y0) >= 2 && len(y1) >= 2 && len(y2) >= 2 && len(y3) >= 2; {
			a0, a1 := xs[0], xs[1]
			d0, d1 := a0-y0[0], a1-y0[1]
			s0 += float32(d0 * d0)
			s1 += float32(d1 * d1)
			d0, d1 = a0-y1[0], a1-y1[1]
			t0 += float32(d0 * d0)
			t1 += float32(d1 * d1)
			d0, d1 = a0-y2[0], a1-y2[1]
			u0 += float32(d0 * d0)
			u1 += float32(d1 * d1)
			d0, d1 = a0-y3[0], a1-y3[1]
			v0 += float32(d0 * d0)
			v1 += float32(d1 * d1)
			xs, y0, y1, y2, y3 = xs[2:], y0[2:], y1[2:], y2[2:], y3[2:]
		}
		if d := s0 + s1; d < bestD {
			best, bestD = c, d
		}
		if d := t0 + t1; d < bestD {
			best, bestD = c+1, d
		}
		if d := u0 + u1; d < bestD {
			best, bestD = c+2, d
		}
		if d := v0 + v1; d < bestD {
			best, bestD = c+3, d
		}
	}
	return best, bestD
}
func BenchmarkXC(b *testing.B) { benchNearest(b, nearestC) }
