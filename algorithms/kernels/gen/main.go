// Command gen writes the amd64 assembly of package kernels with avo.
//
// Regenerate from algorithms/kernels with `go generate`, which runs
//
//	go run -C gen . -out ../kernels_amd64.s -stubs ../kernels_stubs_amd64.go -pkg kernels
//
// Every kernel computes distances in the package's canonical order (see
// dist.go): eight lane accumulators, dimension j feeding lane j mod 8, each
// lane summed in dimension order, then folded ((a0+a4)+(a2+a6)) +
// ((a1+a5)+(a3+a7)); subtract, multiply and add are separate instructions,
// never a fused multiply-add, so the assembly and the pure-Go twin produce
// the same bits and a partial does not depend on the machine that mapped it.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!noasm")

	inf := GLOBL("posinf", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(0x7f800000))
	}
	maxint := GLOBL("maxint32", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(0x7fffffff))
	}
	iota := GLOBL("iota32", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(uint32(i)))
	}
	// tailmask+32*(8-r) is a mask of r leading ones: 8 ones then 8 zeros.
	tailmask := GLOBL("tailmask", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
	c := consts{inf: inf, maxint: maxint, iota: iota, tailmask: tailmask}

	nearest(c, avx2)
	nearest(c, avx512)
	accumulate()
	bounded(c)
	Generate()
}

type consts struct{ inf, maxint, iota, tailmask Mem }

type isa struct {
	name string
	w    int // centroids per tile: float32 lanes of a vector
	vec  []VecPhysical
}

var (
	avx2   = isa{name: "AVX2", w: 8, vec: []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}}
	avx512 = isa{name: "AVX512", w: 16, vec: []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15}}
)

// nearest: for each row, the nearest centroid (lowest index on ties), its
// squared distance and the distance to the runner-up (+Inf when there is
// none). Centroids come in tiles of w (one vector): per tile, dims vectors
// of w values, so one broadcast x[j] against one load gives w differences.
// Lanes of a last, partial tile hold +Inf and never win.
func nearest(c consts, v isa) {
	n := v.name
	TEXT("nearest"+n, NOSPLIT, "func(x *float32, rows, stride, dims int, t *float32, tiles int, label *int32, dist, second *float32)")
	Pragma("noescape")
	x := Load(Param("x"), RSI)
	rows := Load(Param("rows"), RCX)
	stride := Load(Param("stride"), R8)
	dims := Load(Param("dims"), R9)
	label := Load(Param("label"), R12)
	dist := Load(Param("dist"), R13)
	second := Load(Param("second"), R14)
	SHLQ(U8(2), stride)

	// Full chunks of 8 dims, the remainder, and the centroid bytes a
	// remainder covers.
	full, rem, remBytes := RDX, RBX, R15
	splitDims(dims, full, rem)
	MOVQ(rem, remBytes)
	SHLQ(U8(uint64(log2(4*v.w))), remBytes)

	i, tp, tilesLeft, xp, chunks := R11, RDI, R9, RAX, R10
	acc := v.vec[:8]
	b, d := v.vec[8], v.vec[9]
	m1, m2, idx, tidx, inc := v.vec[10], v.vec[11], v.vec[12], v.vec[13], v.vec[14]

	MOVL(U32(uint64(v.w)), EAX)
	if v.w == 16 {
		VPBROADCASTD(EAX, inc)
	} else {
		VMOVD(EAX, inc.AsX())
		VPBROADCASTD(inc.AsX(), inc)
	}
	XORQ(i, i)

	Label("row" + n)
	CMPQ(i, rows)
	JGE(LabelRef("done" + n))
	VMOVUPS(c.inf, m1)
	VMOVUPS(c.inf, m2)
	VMOVUPS(c.iota, idx)
	VMOVUPS(c.iota, tidx)
	Load(Param("t"), tp)
	Load(Param("tiles"), tilesLeft)

	Label("tile" + n)
	for l := 0; l < 8; l++ {
		VXORPS(acc[l], acc[l], acc[l])
	}
	MOVQ(x, xp)
	MOVQ(full, chunks)
	term := func(l int) {
		VBROADCASTSS(Mem{Base: xp}.Offset(4*l), b)
		VSUBPS(Mem{Base: tp}.Offset(4*v.w*l), b, d)
		VMULPS(d, d, d)
		VADDPS(d, acc[l], acc[l])
	}
	Label("chunk" + n)
	TESTQ(chunks, chunks)
	JZ(LabelRef("tail" + n))
	for l := 0; l < 8; l++ {
		term(l)
	}
	ADDQ(U8(32), xp)
	ADDQ(U32(uint64(32*v.w)), tp)
	DECQ(chunks)
	JMP(LabelRef("chunk" + n))

	Label("tail" + n)
	for l := 0; l < 7; l++ {
		CMPQ(rem, U8(uint64(l)))
		JBE(LabelRef("tailend" + n))
		term(l)
	}
	Label("tailend" + n)
	ADDQ(remBytes, tp)

	// Fold the lanes in the canonical order.
	VADDPS(acc[4], acc[0], acc[0])
	VADDPS(acc[5], acc[1], acc[1])
	VADDPS(acc[6], acc[2], acc[2])
	VADDPS(acc[7], acc[3], acc[3])
	VADDPS(acc[2], acc[0], acc[0])
	VADDPS(acc[3], acc[1], acc[1])
	VADDPS(acc[1], acc[0], acc[0])
	dd := acc[0]

	// Per lane keep the best and the runner-up. Strict comparisons keep the
	// earlier tile on ties and never take a NaN.
	if v.w == 16 {
		VCMPPS(U8(1), m1, dd, K1)
		VCMPPS(U8(1), m2, dd, K2)
		VMOVAPS(dd, K2, m2)
		VMOVAPS(m1, K1, m2)
		VMOVAPS(dd, K1, m1)
		VMOVDQA32(tidx, K1, idx)
	} else {
		lt1, lt2 := acc[1], acc[2]
		VCMPPS(U8(1), m1, dd, lt1)
		VCMPPS(U8(1), m2, dd, lt2)
		VBLENDVPS(lt2, dd, m2, m2)
		VBLENDVPS(lt1, m1, m2, m2)
		VBLENDVPS(lt1, dd, m1, m1)
		VBLENDVPS(lt1, tidx, idx, idx)
	}
	VPADDD(inc, tidx, tidx)
	DECQ(tilesLeft)
	JNZ(LabelRef("tile" + n))

	// Across lanes: the smallest distance, the lowest index holding it, and
	// the smallest of everything else.
	if v.w == 16 {
		VEXTRACTF32X8(U8(1), m1, Y1)
		VMINPS(Y1, m1.AsY(), Y0)
		hminps(Y0, Y1)
		VBROADCASTSS(X0, Z0)
		VCMPPS(U8(0), Z0, m1, K3)
		VMOVDQU32(c.maxint, Z3)
		VMOVDQA32(idx, K3, Z3)
		VEXTRACTI32X8(U8(1), Z3, Y4)
		VPMINSD(Y4, Y3, Y3)
		hminpd32(Y3, Y4)
		VPBROADCASTD(X3, Z3)
		VPCMPEQD(Z3, idx, K4)
		VMOVAPS(m1, Z5)
		VMOVUPS(c.inf, K4, Z5)
		VMINPS(m2, Z5, Z5)
		VEXTRACTF32X8(U8(1), Z5, Y6)
		VMINPS(Y6, Y5, Y5)
		hminps(Y5, Y6)
	} else {
		VPERM2F128(U8(1), m1, m1, Y1)
		VMINPS(Y1, m1, Y0)
		hminps(Y0, Y1)
		VCMPPS(U8(0), Y0, m1, Y2)
		VMOVUPS(c.maxint, Y3)
		VBLENDVPS(Y2, idx, Y3, Y3)
		hminpd32(Y3, Y4)
		VPCMPEQD(Y3, idx, Y4)
		VBLENDVPS(Y4, c.inf, m1, Y5)
		VMINPS(m2, Y5, Y5)
		hminps(Y5, Y6)
	}
	VMOVD(X3, Mem{Base: label, Index: i, Scale: 4})
	VMOVSS(X0, Mem{Base: dist, Index: i, Scale: 4})
	VMOVSS(X5, Mem{Base: second, Index: i, Scale: 4})
	ADDQ(stride, x)
	INCQ(i)
	JMP(LabelRef("row" + n))

	Label("done" + n)
	VZEROUPPER()
	RET()
}

// hminps leaves the smallest of y's eight float32 lanes in every lane of
// the low 128 bits (lane 0 is what callers read); tmp is clobbered. If the
// upper half matters it must already be folded in by the caller, except for
// ymm inputs where the first step does it.
func hminps(y, tmp VecPhysical) {
	VPERM2F128(U8(1), y, y, tmp)
	VMINPS(tmp, y, y)
	VPERMILPS(U8(0x4e), y, tmp)
	VMINPS(tmp, y, y)
	VPERMILPS(U8(0xb1), y, tmp)
	VMINPS(tmp, y, y)
}

// hminpd32 is hminps for signed 32-bit integers.
func hminpd32(y, tmp VecPhysical) {
	VPERM2I128(U8(1), y, y, tmp)
	VPMINSD(tmp, y, y)
	VPSHUFD(U8(0x4e), y, tmp)
	VPMINSD(tmp, y, y)
	VPSHUFD(U8(0xb1), y, tmp)
	VPMINSD(tmp, y, y)
}

// accumulate adds each row, widened to float64, to the sums of the cluster
// its label names, rows in order so the float64 sums have the same bits as
// a scalar loop.
func accumulate() {
	TEXT("accumulateAVX2", NOSPLIT, "func(x *float32, rows, stride, dims int, label *int32, sums *float64)")
	Pragma("noescape")
	x := Load(Param("x"), RSI)
	rows := Load(Param("rows"), RCX)
	stride := Load(Param("stride"), R8)
	dims := Load(Param("dims"), R9)
	label := Load(Param("label"), R12)
	sums := Load(Param("sums"), R10)
	SHLQ(U8(2), stride)
	rowBytes := R14
	MOVQ(dims, rowBytes)
	SHLQ(U8(3), rowBytes)

	i, xp, sp, cnt := R11, RAX, RDI, R15
	XORQ(i, i)
	Label("rowAcc")
	CMPQ(i, rows)
	JGE(LabelRef("doneAcc"))
	MOVLQSX(Mem{Base: label, Index: i, Scale: 4}, sp)
	IMULQ(rowBytes, sp)
	ADDQ(sums, sp)
	rowSum(x, xp, sp, cnt, dims, "Acc")
	ADDQ(stride, x)
	INCQ(i)
	JMP(LabelRef("rowAcc"))
	Label("doneAcc")
	VZEROUPPER()
	RET()
}

// bounded is a Lloyd pass over rows whose centroid is probably unchanged:
// per row, in order, the distance to its labelled centroid; if that is
// provably below the distance to any other (d < shrink·l² − absErr with
// l = lower − drop[label]), the row is summed into its cluster (sums,
// counts, WCSS, farthest row) and its lower bound lowered; otherwise the
// pass stops and returns the row's index so the caller can search it, sum
// it and call again from the next row. Rows are thus summed in order, and
// the sums carry the bits of a plain pass.
func bounded(c consts) {
	TEXT("boundedAVX2", NOSPLIT, "func(x *float32, rows, stride, dims int, cent *float32, label *int32, lower *float32, drop *float64, shrink, absErr float64, sums *float64, counts *int64, farDist *float32, farRow *int32, rowBase int, wcss *float64) int")
	Pragma("noescape")
	x := Load(Param("x"), RSI)
	stride := Load(Param("stride"), R8)
	dims := Load(Param("dims"), RDX)
	cent := Load(Param("cent"), R15)
	label := Load(Param("label"), R12)
	lower := Load(Param("lower"), R13)
	drop := Load(Param("drop"), R9)
	sums := Load(Param("sums"), R10)
	SHLQ(U8(2), stride)
	full, rem := dims, RBX
	splitDims(dims, full, rem)
	tailMask(c, rem, R14, RDI, Y15)
	Load(Param("shrink"), X13)
	Load(Param("absErr"), X12)
	Load(Param("wcss"), RDI)
	VMOVSD(Mem{Base: RDI}, X14)
	VXORPD(X11, X11, X11)

	i, cl, xp, cp, tmp := R11, RCX, RAX, RDI, R14
	XORQ(i, i)
	Label("rowB")
	CMPQ(i, NewParamAddr("rows", 8))
	JGE(LabelRef("doneB"))
	MOVLQSX(Mem{Base: label, Index: i, Scale: 4}, cl)
	MOVQ(cl, cp)
	IMULQ(NewParamAddr("dims", 24), cp)
	LEAQ(Mem{Base: cent, Index: cp, Scale: 4}, cp)
	rowDist(x, xp, cp, tmp, full, rem, "B")

	// l = lower - drop[label]; skip iff 0 < l and d < shrink·l² − absErr.
	VCVTSS2SD(X0, X1, X1)
	VCVTSS2SD(Mem{Base: lower, Index: i, Scale: 4}, X2, X2)
	VSUBSD(Mem{Base: drop, Index: cl, Scale: 8}, X2, X2)
	VMULSD(X2, X2, X3)
	VMULSD(X13, X3, X3)
	VSUBSD(X12, X3, X3)
	VCMPSD(U8(1), X3, X1, X4)  // d < bound
	VCMPSD(U8(1), X2, X11, X5) // 0 < l
	VANDPD(X4, X5, X5)
	VMOVQ(X5, tmp)
	TESTQ(tmp, tmp)
	JZ(LabelRef("doneB"))

	// The new lower bound, rounded down to float32.
	VCVTSD2SS(X2, X6, X6)
	VCVTSS2SD(X6, X7, X7)
	VCMPSD(U8(1), X7, X2, X4) // l < float32(l): it rounded up
	VMOVD(X6, EDI)
	VMOVQ(X4, tmp)
	ANDL(U8(1), tmp.As32())
	SUBL(tmp.As32(), EDI)
	MOVL(EDI, Mem{Base: lower, Index: i, Scale: 4})

	// Sum the row into its cluster, widened to float64.
	MOVQ(cl, cp)
	IMULQ(NewParamAddr("dims", 24), cp)
	LEAQ(Mem{Base: sums, Index: cp, Scale: 8}, cp)
	rowSum(x, xp, cp, tmp, NewParamAddr("dims", 24), "B")
	Label("countB")
	Load(Param("counts"), tmp)
	INCQ(Mem{Base: tmp, Index: cl, Scale: 8})
	VADDSD(X1, X14, X14)
	// Farthest row: the first row wins a tie, a NaN never does.
	Load(Param("farRow"), tmp)
	MOVL(Mem{Base: tmp, Index: cl, Scale: 4}, EDI)
	TESTL(EDI, EDI)
	JS(LabelRef("farB"))
	Load(Param("farDist"), tmp)
	VCMPSS(U8(0x0e), Mem{Base: tmp, Index: cl, Scale: 4}, X0, X4) // d > far
	VMOVD(X4, EDI)
	TESTL(EDI, EDI)
	JZ(LabelRef("nextB"))
	Label("farB")
	Load(Param("farDist"), tmp)
	VMOVSS(X0, Mem{Base: tmp, Index: cl, Scale: 4})
	Load(Param("rowBase"), RDI)
	ADDQ(i, RDI)
	Load(Param("farRow"), tmp)
	MOVL(EDI, Mem{Base: tmp, Index: cl, Scale: 4})
	Label("nextB")
	ADDQ(stride, x)
	INCQ(i)
	JMP(LabelRef("rowB"))

	Label("doneB")
	Load(Param("wcss"), RDI)
	VMOVSD(X14, Mem{Base: RDI})
	Store(i, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// splitDims sets full to dims / 8 and rem to dims mod 8; full may be dims.
func splitDims(dims, full, rem Register) {
	MOVQ(dims, rem)
	ANDQ(U8(7), rem)
	if full != dims {
		MOVQ(dims, full)
	}
	SHRQ(U8(3), full)
}

// tailMask loads into dst the mask of rem leading lanes, which starts 8-rem
// lanes into tailmask; scratch and base are clobbered.
func tailMask(c consts, rem, scratch, base Register, dst VecPhysical) {
	MOVQ(U32(8), scratch)
	SUBQ(rem, scratch)
	LEAQ(c.tailmask, base)
	VMOVUPS(Mem{Base: base, Index: scratch, Scale: 4}, dst)
}

// rowSum adds the row at x, widened to float64, to the sums at sp: four
// values per vector, then one at a time. It clobbers xp, sp, cnt and Y2.
func rowSum(x, xp, sp, cnt Register, dims Op, suffix string) {
	MOVQ(x, xp)
	MOVQ(dims, cnt)
	Label("quad" + suffix)
	CMPQ(cnt, U8(4))
	JL(LabelRef("one" + suffix))
	VCVTPS2PD(Mem{Base: xp}, Y2)
	VADDPD(Mem{Base: sp}, Y2, Y2)
	VMOVUPD(Y2, Mem{Base: sp})
	ADDQ(U8(16), xp)
	ADDQ(U8(32), sp)
	SUBQ(U8(4), cnt)
	JMP(LabelRef("quad" + suffix))
	Label("one" + suffix)
	TESTQ(cnt, cnt)
	JZ(LabelRef("sumDone" + suffix))
	VCVTSS2SD(Mem{Base: xp}, X2, X2)
	VADDSD(Mem{Base: sp}, X2, X2)
	VMOVSD(X2, Mem{Base: sp})
	ADDQ(U8(4), xp)
	ADDQ(U8(8), sp)
	DECQ(cnt)
	JMP(LabelRef("one" + suffix))
	Label("sumDone" + suffix)
}

// rowDist leaves in X0 the canonical squared distance between the row at x
// and the centroid row at cp: full chunks of 8 dims, then rem more read with
// the mask in Y15. It clobbers xp, cp, count and Y0-Y2.
func rowDist(x, xp, cp, count, full, rem Register, suffix string) {
	MOVQ(x, xp)
	MOVQ(full, count)
	VXORPS(Y0, Y0, Y0)
	Label("chunk" + suffix)
	TESTQ(count, count)
	JZ(LabelRef("tail" + suffix))
	VMOVUPS(Mem{Base: xp}, Y1)
	VSUBPS(Mem{Base: cp}, Y1, Y1)
	VMULPS(Y1, Y1, Y1)
	VADDPS(Y1, Y0, Y0)
	ADDQ(U8(32), xp)
	ADDQ(U8(32), cp)
	DECQ(count)
	JMP(LabelRef("chunk" + suffix))
	Label("tail" + suffix)
	TESTQ(rem, rem)
	JZ(LabelRef("fold" + suffix))
	VMASKMOVPS(Mem{Base: xp}, Y15, Y1)
	VMASKMOVPS(Mem{Base: cp}, Y15, Y2)
	VSUBPS(Y2, Y1, Y1)
	VMULPS(Y1, Y1, Y1)
	VADDPS(Y1, Y0, Y0)
	Label("fold" + suffix)
	VEXTRACTF128(U8(1), Y0, X1)
	VADDPS(X1, X0, X0)
	VMOVHLPS(X0, X0, X1)
	VADDPS(X1, X0, X0)
	VMOVSHDUP(X0, X1)
	VADDSS(X1, X0, X0)
}

func log2(n int) int {
	k := 0
	for 1<<k < n {
		k++
	}
	return k
}
