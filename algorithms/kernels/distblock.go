package kernels

import "math"

// DistBlockRows is the most rows of x DistanceBlock takes in one call.
const DistBlockRows = 4

// DistanceBlock is the silhouette's kernel for rows of y that are all one
// run, taking up to DistBlockRows rows of x at once: for m = len(x)/dims
// rows of x (row-major) and n rows of y held column-major in yt (as for
// DistanceSums), it adds to sums[i] the sum of the distances from row i of
// x to the n rows, with DistanceSums' bits for ends = {n}. When acc is not
// nil it also adds each distance to acc[off[i]+r] (row r of y), for i in
// order: one pass gives both rows' sides of the pair, which is what lets
// an exact silhouette measure each unordered pair once.
//
// The assembly loads each vector of yt once for the m rows of x, so that
// several multiply-add chains share it: one row at a time, the loads from
// L2 bounded DistanceSums at about twice the arithmetic's cost.
func DistanceBlock(x []float64, dims int, yt []float64, ld, n int, manhattan bool, sums, acc []float64, off []int) {
	if n == 0 {
		return
	}
	m := 0
	if dims > 0 {
		m = len(x) / dims
	}
	if dims < 1 || m < 1 || m > DistBlockRows || len(x) != m*dims || ld%DistLanes != 0 || ld < n || len(yt) < dims*ld || len(sums) < m {
		panic("kernels.DistanceBlock: shapes do not agree")
	}
	if acc != nil {
		if len(off) < m {
			panic("kernels.DistanceBlock: shapes do not agree")
		}
		for _, o := range off[:m] {
			if o < 0 || o+n > len(acc) {
				panic("kernels.DistanceBlock: an accumulator is out of range")
			}
		}
	}
	active.distanceBlock(x, dims, yt, ld, n, manhattan, sums, acc, off)
}

func distanceBlockGo(x []float64, dims int, yt []float64, ld, n int, manhattan bool, sums, acc []float64, off []int) {
	var d [DistLanes]float64
	for i := range len(x) / dims {
		xi := x[i*dims : (i+1)*dims]
		var p [DistLanes]float64
		for g := 0; g < n; g += DistLanes {
			d = [DistLanes]float64{}
			for j, v := range xi {
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
			for l := range min(DistLanes, n-g) {
				if !manhattan {
					d[l] = math.Sqrt(d[l])
				}
				p[l] += d[l]
				if acc != nil {
					acc[off[i]+g+l] += d[l]
				}
			}
		}
		sums[i] += fold(&p)
	}
}
