package kernels

import "math"

// DistLanes is the rows of y a distance-sum step takes at once, and the
// multiple YT's leading dimension is padded to.
const DistLanes = 8

// DistanceSums is the silhouette's kernel: for one row x (dims float64)
// and n rows of y held column-major in yt (value j of row r at
// yt[j·ld + r], ld a multiple of DistLanes, at least n), grouped into runs
// of rows (run i is rows [ends[i−1], ends[i]), ends[−1] = 0), it adds the
// sum of the distances from x to the rows of run i to sums[i].
//
// The canonical order, which the assembly keeps lane for lane: a row's
// distance runs over the dimensions in order, Euclidean as the square
// root of a chain of fused multiply-adds of the differences, Manhattan as
// a sum of absolute differences; a run's sum keeps eight partial sums,
// row r adding into partial r mod 8 in row order (rows of y eight at a
// time, one per vector lane), folded ((p0+p4)+(p2+p6)) + ((p1+p5)+(p3+p7)).
// Where two NaNs of different payloads meet, which survives is the Go
// compiler's choice of operand order in the twin, so only that the sum is
// NaN is promised; one payload comes through as the twin's.
//
// The assembly takes several groups of eight rows through the dimensions
// at once (64 rows for AVX-512, 40 for AVX2), as many independent
// multiply-add chains as keep the FMA units busy through their latency;
// a block wholly inside one run goes into its partials unmasked, and only
// blocks a run starts or ends in pay for the masks. One row of x against
// a 512-row chunk of 16 dimensions streams 64 KB of yt from L2, which is
// what bounds it (BenchmarkDistanceSums).
func DistanceSums(x []float64, yt []float64, ld, n int, ends []int32, manhattan bool, sums []float64) {
	if n == 0 {
		return
	}
	if ld%DistLanes != 0 || ld < n || len(yt) < len(x)*ld || len(sums) < len(ends) || len(ends) == 0 || int(ends[len(ends)-1]) != n {
		panic("kernels.DistanceSums: shapes do not agree")
	}
	active.distanceSums(x, yt, ld, n, ends, manhattan, sums)
}

func distanceSumsGo(x []float64, yt []float64, ld, n int, ends []int32, manhattan bool, sums []float64) {
	var d [DistLanes]float64
	var p [DistLanes]float64
	run := 0
	for g := 0; g < n; g += DistLanes {
		// Eight distances, one a lane, each over the dimensions in order.
		d = [DistLanes]float64{}
		for j, v := range x {
			col := (*[DistLanes]float64)(yt[j*ld+g : j*ld+g+DistLanes])
			if manhattan {
				for l := range DistLanes {
					d[l] += math.Abs(v - col[l])
				}
			} else {
				for l := range DistLanes {
					t := v - col[l]
					d[l] = math.FMA(t, t, d[l])
				}
			}
		}
		if !manhattan {
			for l := range d {
				d[l] = math.Sqrt(d[l])
			}
		}
		// Into the runs they belong to; a run that ends here is folded.
		for l := range DistLanes {
			r := g + l
			if r >= n {
				break
			}
			for r >= int(ends[run]) {
				sums[run] += fold(&p)
				p = [DistLanes]float64{}
				run++
			}
			p[l] += d[l]
		}
	}
	for ; run < len(ends); run++ {
		sums[run] += fold(&p)
		p = [DistLanes]float64{}
	}
}

func fold(p *[DistLanes]float64) float64 {
	return ((p[0] + p[4]) + (p[2] + p[6])) + ((p[1] + p[5]) + (p[3] + p[7]))
}
