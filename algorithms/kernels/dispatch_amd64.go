//go:build !noasm

package kernels

import "golang.org/x/sys/cpu"

var (
	avx2Impl = impl{name: "avx2", w: 8, exRows: 2, shift: shiftAsm, distanceSums: distanceSumsAVX2, distanceBlock: distanceBlockGo,
		finish: func(f []float32, rows int, t, x []float32, stride int, c *Centroids, label []int32, dist, second []float32, cand []int32) {
			finishAVX2(&f[0], c.groups*c.gw, rows, &t[0], &x[0], stride, c.Dims, &c.rows[0], min(2, c.K), &label[0], &dist[0], &second[0], &cand[0])
		},
		expanded: func(xs []float32, c *Centroids, f, f2 []float32) {
			expandedAVX2(&xs[0], c.Dims, &c.g[0], c.groups, &f[0], c.groups*c.gw, &f2[0])
		},
		nearest: func(x []float32, rows, stride int, c *Centroids, label []int32, dist, second []float32) {
			nearestAVX2(&x[0], rows, stride, c.Dims, &c.t[0], c.tiles, &label[0], &dist[0], &second[0])
		},
		accumulate: accumulateAsm,
		bounded: func(x []float32, rows, stride int, c *Centroids, label []int32, lower []float32, drop []float64, shrink, absErr float64, tot *Totals, rowBase int) int {
			return boundedAVX2(&x[0], rows, stride, c.Dims, c.K, &c.rows[0], &label[0], &lower[0], &drop[0], shrink, absErr,
				&tot.Sums[0], &tot.Counts[0], &tot.FarDist[0], &tot.FarRow[0], rowBase, &tot.WCSS)
		}}
	avx512Impl = impl{name: "avx512", w: 16, exRows: 4, shift: shiftAsm, distanceSums: distanceSumsAVX512, distanceBlock: distanceBlockAVX512,
		finish: func(f []float32, rows int, t, x []float32, stride int, c *Centroids, label []int32, dist, second []float32, cand []int32) {
			finishAVX512(&f[0], c.groups*c.gw, rows, &t[0], &x[0], stride, c.Dims, &c.rows[0], min(2, c.K), &label[0], &dist[0], &second[0], &cand[0])
		},
		expanded: func(xs []float32, c *Centroids, f, f2 []float32) {
			expandedAVX512(&xs[0], c.Dims, &c.g[0], c.groups, &f[0], c.groups*c.gw, &f2[0])
		},
		nearest: func(x []float32, rows, stride int, c *Centroids, label []int32, dist, second []float32) {
			nearestAVX512(&x[0], rows, stride, c.Dims, &c.t[0], c.tiles, &label[0], &dist[0], &second[0])
		},
		accumulate: accumulateAsm,
		bounded: func(x []float32, rows, stride int, c *Centroids, label []int32, lower []float32, drop []float64, shrink, absErr float64, tot *Totals, rowBase int) int {
			f := boundedAVX512
			if c.Dims == 16 {
				f = boundedAVX512D16
			}
			return f(&x[0], rows, stride, c.Dims, c.K, &c.rows[0], &label[0], &lower[0], &drop[0], shrink, absErr,
				&tot.Sums[0], &tot.Counts[0], &tot.FarDist[0], &tot.FarRow[0], rowBase, &tot.WCSS)
		}}
)

func accumulateAsm(x []float32, rows, stride, dims int, label []int32, sums []float64) {
	accumulateAVX2(&x[0], rows, stride, dims, &label[0], &sums[0])
}

func shiftAsm(x []float32, rows, stride int, c *Centroids, xs, norms []float32) {
	shiftAVX2(&x[0], rows, stride, c.Dims, &c.shift[0], &xs[0], &norms[0])
}

// distanceSumsAVX2 and distanceSumsAVX512 are DistanceSums' kernels; with
// no dimensions there is nothing to point at, and the twin's sums of zero
// distances are as quick.
var (
	distanceSumsAVX2   = distanceSumsAsm(distanceSumsEuclidAVX2, distanceSumsManhattanAVX2)
	distanceSumsAVX512 = distanceSumsAsm(distanceSumsEuclidAVX512, distanceSumsManhattanAVX512)
)

type distanceSumsKernel func(x *float64, dims int, yt *float64, ld, n int, ends *int32, runs int, sums *float64)

func distanceSumsAsm(euclid, manhattan distanceSumsKernel) func(x []float64, yt []float64, ld, n int, ends []int32, manhattan bool, sums []float64) {
	return func(x []float64, yt []float64, ld, n int, ends []int32, isManhattan bool, sums []float64) {
		if len(x) == 0 {
			distanceSumsGo(x, yt, ld, n, ends, isManhattan, sums)
			return
		}
		f := euclid
		if isManhattan {
			f = manhattan
		}
		f(&x[0], len(x), &yt[0], ld, n, &ends[0], len(ends), &sums[0])
	}
}

type distanceBlockKernel func(x *float64, dims int, yt *float64, ld, n int, sums *float64, acc *float64, off *int)

// distanceBlockKernels are the AVX-512 DistanceBlock kernels by metric
// (Euclidean, Manhattan), accumulators (without, with) and rows of x − 1.
// AVX2 has none yet: it runs the twin, which has the same bits.
var distanceBlockKernels = [2][2][DistBlockRows]distanceBlockKernel{
	{
		{distanceBlockEuclid1AVX512, distanceBlockEuclid2AVX512, distanceBlockEuclid3AVX512, distanceBlockEuclid4AVX512},
		{distanceBlockEuclid1AccAVX512, distanceBlockEuclid2AccAVX512, distanceBlockEuclid3AccAVX512, distanceBlockEuclid4AccAVX512},
	},
	{
		{distanceBlockManhattan1AVX512, distanceBlockManhattan2AVX512, distanceBlockManhattan3AVX512, distanceBlockManhattan4AVX512},
		{distanceBlockManhattan1AccAVX512, distanceBlockManhattan2AccAVX512, distanceBlockManhattan3AccAVX512, distanceBlockManhattan4AccAVX512},
	},
}

func distanceBlockAVX512(x []float64, dims int, yt []float64, ld, n int, manhattan bool, sums, acc []float64, off []int) {
	metric, with := 0, 0
	if manhattan {
		metric = 1
	}
	var a *float64
	var o *int
	if acc != nil {
		with, a, o = 1, &acc[0], &off[0]
	}
	distanceBlockKernels[metric][with][len(x)/dims-1](&x[0], dims, &yt[0], ld, n, &sums[0], a, o)
}

// available lists the implementations this CPU can run, best first.
func available() []impl {
	var out []impl
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL && cpu.X86.HasAVX2 {
		out = append(out, avx512Impl)
	}
	if cpu.X86.HasAVX2 {
		out = append(out, avx2Impl)
	}
	return append(out, generic)
}

var active = available()[0]
