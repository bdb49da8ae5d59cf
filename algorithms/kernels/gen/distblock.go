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
	// Euclidean blocks are pipelined: a block's squared distances wait in
	// the frame, and the next block's dimension loop takes their square
	// roots one register an iteration. Taken at the block's end, the
	// roots (a divider's work, not pipelined) stalled the multiply-adds
	// behind them: a third of the kernel's time. The frame is too big for
	// NOSPLIT.
	pipe := !manhattan
	flags := NOSPLIT
	if pipe {
		flags = 0
	}
	TEXT(name+"AVX512", flags, "func(x *float64, dims int, yt *float64, ld, n int, sums *float64, acc *float64, off *int)")
	Pragma("noescape")
	yt := Load(Param("yt"), RDI)
	ldb := Load(Param("ld"), R8)
	rows := Load(Param("n"), R9)
	xs := Load(Param("dims"), R10)
	SHLQ(U8(3), ldb)
	cnt := m * u // a block's distance registers
	// The frame: the waiting registers, the partials (in memory while the
	// block loop runs, since an iteration cannot name a register by its
	// row), and per waiting register its accumulator's and partial's
	// addresses; then the loop's stride, whose register R8 holds the
	// offset of the next waiting register (cnt·64 for none).
	var wait, part, accAt, partAt, ldAt Mem
	if pipe {
		wait = AllocLocal(64 * 16)
		part = AllocLocal(64 * 4)
		accAt = AllocLocal(8 * 16)
		partAt = AllocLocal(8 * 16)
		ldAt = AllocLocal(8)
		MOVQ(ldb, ldAt)
	}
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

	// root takes the next waiting register's root and adds it to its
	// accumulator and its row's partial, unless none waits: then it jumps
	// to none.
	root := func(none string) {
		CMPQ(R8, U32(uint64(64*cnt)))
		JAE(LabelRef(none))
		d, t := Z30, Z31
		VMOVUPD(Mem{Base: wait.Base, Disp: wait.Disp, Index: R8, Scale: 1}, d)
		VSQRTPD(d, d)
		MOVQ(R8, RCX)
		SHRQ(U8(3), RCX)
		if acc {
			MOVQ(Mem{Base: accAt.Base, Disp: accAt.Disp, Index: RCX, Scale: 1}, RCX)
			VADDPD(Mem{Base: RCX}, d, t)
			VMOVUPD(t, Mem{Base: RCX})
			MOVQ(R8, RCX)
			SHRQ(U8(3), RCX)
		}
		MOVQ(Mem{Base: partAt.Base, Disp: partAt.Disp, Index: RCX, Scale: 1}, RCX)
		VADDPD(Mem{Base: RCX}, d, t)
		VMOVUPD(t, Mem{Base: RCX})
		ADDQ(U8(64), R8)
	}
	// drain takes every waiting register's root.
	drain := func(suffix string) {
		Label("drain" + n + suffix)
		root("drained" + n + suffix)
		JMP(LabelRef("drain" + n + suffix))
		Label("drained" + n + suffix)
	}

	distances := func(gs int, suffix string) {
		piped := pipe && suffix == "u"
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
		if piped {
			root("rooted" + n + suffix)
			Label("rooted" + n + suffix)
		}
		ADDQ(U8(8), xp)
		if pipe {
			ADDQ(ldAt, yp)
		} else {
			ADDQ(ldb, yp)
		}
		DECQ(j)
		JNZ(LabelRef("dim" + n + suffix))
		if !manhattan && !piped {
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

	if pipe {
		VXORPD(Z30, Z30, Z30)
		for i := range m {
			VMOVUPD(Z30, part.Offset(64*i))
		}
		for t := range cnt {
			LEAQ(part.Offset(64*(t%m)), RCX)
			MOVQ(RCX, partAt.Offset(8*t))
		}
		MOVQ(U32(uint64(64*cnt)), R8)
	}
	Label("block" + n)
	LEAQ(Mem{Base: g}.Offset(8*u), RCX)
	CMPQ(RCX, rows)
	if pipe {
		JG(LabelRef("unpipe" + n))
	} else {
		JG(LabelRef("group" + n))
	}
	distances(u, "u")
	if pipe {
		// The last block's roots are all taken; this block's wait, in
		// take's order (by group, then row), with where each goes.
		drain("u")
		for grp := range u {
			for i := range m {
				t := grp*m + i
				VMOVUPD(D(i, grp), wait.Offset(64*t))
				if acc {
					LEAQ(Mem{Base: aregs[i], Index: g, Scale: 8, Disp: 64 * grp}, RCX)
					MOVQ(RCX, accAt.Offset(8*t))
				}
			}
		}
		XORQ(R8, R8)
	} else {
		take(u, false)
	}
	ADDQ(U8(8*u), g)
	JMP(LabelRef("block" + n))

	if pipe {
		// Out of whole blocks: the last one's roots, then the partials
		// back in their registers for the groups left.
		Label("unpipe" + n)
		drain("g")
		for i := range m {
			VMOVUPD(part.Offset(64*i), P(i))
		}
	}

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
