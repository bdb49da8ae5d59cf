package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// distanceBlock is DistanceBlock (distblock.go) for one metric, m rows of
// x and with or without the accumulators, AVX-512 only: rows of y eight a
// zmm, u groups of them through the dimensions at once, each load of yt
// feeding the m rows' chains (m·u ≤ 16 distance registers). Per row of x
// the partials take the groups in row order, as the twin does, and the
// last group (n not a multiple of eight) goes in under a mask of its rows
// below n, so neither the partials nor the accumulators see the padding.
// An accumulator is loaded, added to and stored a row of x at a time, in
// order, so two rows of x of one segment (the same accumulator) add in
// the twin's order.
func distanceBlock(c consts, manhattan bool, m int, acc bool) {
	name := "Euclid"
	if manhattan {
		name = "Manhattan"
	}
	name = fmt.Sprintf("distanceBlock%s%d", name, m)
	if acc {
		name += "Acc"
	}
	u := min(8, 16/m)
	TEXT(name+"AVX512", NOSPLIT, "func(x *float64, dims int, yt *float64, ld, n int, sums *float64, acc *float64, off *int)")
	Pragma("noescape")
	yt := Load(Param("yt"), RDI)
	ldb := Load(Param("ld"), R8)
	rows := Load(Param("n"), R9)
	xs := Load(Param("dims"), R10)
	SHLQ(U8(3), ldb)
	SHLQ(U8(3), xs) // bytes between rows of x
	xs3 := R11
	LEAQ(Mem{Base: xs, Index: xs, Scale: 2}, xs3)
	g, xp, yp, j := R13, RAX, RBX, RDX
	// The accumulators' rows, one a row of x.
	aregs := []Register{R14, R15, R12, RSI}[:m]
	if acc {
		base, off := RCX, RAX
		Load(Param("acc"), base)
		Load(Param("off"), off)
		for i, a := range aregs {
			MOVQ(Mem{Base: off}.Offset(8*i), a)
			LEAQ(Mem{Base: base, Index: a, Scale: 8}, a)
		}
	}
	D := func(i, grp int) VecPhysical { return zmm(i*u + grp) }
	P := func(i int) VecPhysical { return zmm(16 + i) }
	XB := func(i int) VecPhysical { return zmm(20 + i) }
	T := []VecPhysical{Z24, Z25, Z26, Z27}
	Y := []VecPhysical{Z28, Z29}
	abs := Z30
	// Free once a block's distances are made.
	av, rv, io := Z24, Z25, Z26
	if manhattan {
		VMOVUPD(c.abs64, abs)
	}
	for i := range m {
		VXORPD(P(i), P(i), P(i))
	}
	XORQ(g, g)
	n := name

	distances := func(gs int, suffix string) {
		for i := range m {
			for grp := range gs {
				VXORPD(D(i, grp), D(i, grp), D(i, grp))
			}
		}
		Load(Param("x"), xp)
		LEAQ(Mem{Base: yt, Index: g, Scale: 8}, yp)
		Load(Param("dims"), j)
		Label("dim" + n + suffix)
		for i := range m {
			at := []Mem{{Base: xp}, {Base: xp, Index: xs, Scale: 1}, {Base: xp, Index: xs, Scale: 2}, {Base: xp, Index: xs3, Scale: 1}}[i]
			VBROADCASTSD(at, XB(i))
		}
		k := 0
		for grp := range gs {
			// One load of yt for the m rows (a memory operand per row
			// was as slow as one row a call: the loads bound it).
			y := Y[grp%len(Y)]
			VMOVUPD(Mem{Base: yp}.Offset(64*grp), y)
			for i := range m {
				t := T[k%len(T)]
				k++
				// t = x[j] − y: x first, as the twin subtracts.
				VSUBPD(y, XB(i), t)
				if manhattan {
					VANDPD(abs, t, t)
					VADDPD(t, D(i, grp), D(i, grp))
				} else {
					VFMADD231PD(t, t, D(i, grp))
				}
			}
		}
		ADDQ(U8(8), xp)
		ADDQ(ldb, yp)
		DECQ(j)
		JNZ(LabelRef("dim" + n + suffix))
		if !manhattan {
			for i := range m {
				for grp := range gs {
					VSQRTPD(D(i, grp), D(i, grp))
				}
			}
		}
	}
	// take adds gs groups' distances from g to the partials and the
	// accumulators, under K1 if masked.
	take := func(gs int, masked bool) {
		for grp := range gs {
			for i := range m {
				if masked {
					VADDPD(D(i, grp), P(i), K1, P(i))
				} else {
					VADDPD(D(i, grp), P(i), P(i))
				}
			}
			if !acc {
				continue
			}
			for i, a := range aregs {
				at := Mem{Base: a, Index: g, Scale: 8, Disp: 64 * grp}
				if masked {
					VMOVUPD_Z(at, K1, av)
					VADDPD(D(i, grp), av, av)
					VMOVUPD(av, K1, at)
				} else {
					VADDPD(at, D(i, grp), av)
					VMOVUPD(av, at)
				}
			}
		}
	}

	Label("block" + n)
	LEAQ(Mem{Base: g}.Offset(8*u), RCX)
	CMPQ(RCX, rows)
	JG(LabelRef("group" + n))
	distances(u, "u")
	take(u, false)
	ADDQ(U8(8*u), g)
	JMP(LabelRef("block" + n))

	Label("group" + n)
	LEAQ(Mem{Base: g}.Offset(8), RCX)
	CMPQ(RCX, rows)
	JG(LabelRef("tail" + n))
	distances(1, "1")
	take(1, false)
	ADDQ(U8(8), g)
	JMP(LabelRef("group" + n))

	// Fewer than eight rows left: those below n, under a mask.
	Label("tail" + n)
	CMPQ(g, rows)
	JGE(LabelRef("flush" + n))
	distances(1, "t")
	MOVQ(rows, RCX)
	SUBQ(g, RCX)
	VPBROADCASTQ(RCX, rv)
	VMOVDQU64(c.iota64, io)
	VPCMPQ(U8(1), rv, io, K1) // lane < n − g
	take(1, true)

	Label("flush" + n)
	sums := RCX
	Load(Param("sums"), sums)
	for i := range m {
		MOVQ(U32(uint64(i)), RAX)
		flushRun(avx512, []VecPhysical{P(i)}, []VecPhysical{Y0, Y1}, sums, RAX)
	}
	VZEROUPPER()
	RET()
}

func zmm(i int) VecPhysical {
	return []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}[i]
}
