package kernels

// Dist is the canonical squared distance between x and c (equal lengths):
// eight float32 lane sums, dimension j feeding lane j mod 8 in dimension
// order, folded as ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)). The order is that
// of a vector loop over eight-wide chunks, so assembly reproduces it exactly;
// the explicit float32 conversions forbid the compiler from fusing the
// multiply and add, which assembly does not do either.
func Dist(x, c []float32) float32 {
	c = c[:len(x)]
	var a [8]float32
	j := 0
	for ; j+8 <= len(x); j += 8 {
		xs, cs := (*[8]float32)(x[j:]), (*[8]float32)(c[j:])
		for l := range 8 {
			t := xs[l] - cs[l]
			a[l] += float32(t * t)
		}
	}
	for l := 0; j+l < len(x); l++ {
		t := x[j+l] - c[j+l]
		a[l] += float32(t * t)
	}
	return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
}

// The pure-Go twin of each kernel: what -tags noasm and non-amd64 machines
// run, and the reference the assembly is tested against.

func nearestGo(x []float32, rows, stride int, c *Centroids, label []int32, dist, second []float32) {
	dims := c.Dims
	for i := range rows {
		row := x[i*stride : i*stride+dims]
		best, d1, d2 := 0, inf32, inf32
		for k := range c.K {
			d := Dist(row, c.rows[k*dims:(k+1)*dims])
			if d < d1 {
				best, d1, d2 = k, d, d1
			} else if d < d2 {
				d2 = d
			}
		}
		label[i], dist[i], second[i] = int32(best), d1, d2
	}
}

func accumulateGo(x []float32, rows, stride, dims int, label []int32, sums []float64) {
	for i := range rows {
		k := int(label[i])
		s := sums[k*dims : (k+1)*dims]
		for j, v := range x[i*stride : i*stride+dims] {
			s[j] += float64(v)
		}
	}
}

func boundedGo(x []float32, rows, stride int, c *Centroids, label []int32, lower []float32, drop []float64, shrink, absErr float64, tot *Totals, rowBase int) int {
	dims := c.Dims
	wcss := tot.WCSS
	defer func() { tot.WCSS = wcss }()
	for i := range rows {
		k := int(label[i])
		if uint(k) >= uint(c.K) {
			return i
		}
		row := x[i*stride : i*stride+dims]
		d := Dist(row, c.rows[k*dims:(k+1)*dims])
		d64 := float64(d)
		l := float64(lower[i]) - drop[k]
		// The conversions forbid fused multiply-adds, as in the assembly.
		if !(d64 < float64(float64(l*l)*shrink)-absErr && 0 < l) {
			return i
		}
		lower[i] = roundDown(l)
		s := tot.Sums[k*dims : (k+1)*dims]
		for j, v := range row {
			s[j] += float64(v)
		}
		tot.Counts[k]++
		wcss += d64
		if tot.FarRow[k] < 0 || d > tot.FarDist[k] {
			tot.FarDist[k], tot.FarRow[k] = d, int32(rowBase+i)
		}
	}
	return rows
}
