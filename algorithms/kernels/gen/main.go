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
// The float64 silhouette kernel (distanceSums) has its own canonical order
// (distsums.go), whose twin fuses: it uses the same instructions.
package main

import (
	"fmt"
	"slices"

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
	negtwo := GLOBL("negtwo", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(0xc0000000))
	}
	iota64 := GLOBL("iota64", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(8*i, U64(uint64(i)))
	}
	abs64 := GLOBL("abs64", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(8*i, U64(0x7fffffffffffffff))
	}
	c := consts{inf: inf, maxint: maxint, iota: iota, tailmask: tailmask, negtwo: negtwo, iota64: iota64, abs64: abs64}

	nearest(c, avx2)
	nearest(c, avx512)
	accumulate()
	bounded(c, avx2, false)
	bounded(c, avx512, false)
	bounded(c, avx512, true)
	expanded(c, avx2, 2)
	expanded(c, avx512, 4)
	shift(c)
	finish(c, avx2)
	finish(c, avx512)
	// Groups of eight rows at a time: the most the registers hold, which
	// measured best once yt (512 rows of 16 dims, 64 KB) streams from L2;
	// 4 was 20% slower for AVX-512, and ahead only for rows that fit L1.
	for _, manhattan := range []bool{false, true} {
		distanceSums(c, avx2, manhattan, 5)
		distanceSums(c, avx512, manhattan, 8)
		for m := 1; m <= 4; m++ {
			distanceBlock(c, manhattan, m, false)
			distanceBlock(c, manhattan, m, true)
		}
	}
	Generate()
}

type consts struct{ inf, maxint, iota, tailmask, negtwo, iota64, abs64 Mem }

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
// counts, WCSS, farthest row) and its lower bound lowered; otherwise, or if
// the label is not below k, the pass stops and returns the row's index so
// the caller can search it, sum it and call again from the next row. Rows
// are thus summed in order, and the sums carry the bits of a plain pass.
//
// Versions share everything but the distance and the sum of the row, which
// is where a row's time goes. AVX-512 takes 16 dimensions per step, masks
// the last partial step instead of looping over it, widens 8 values to
// float64 per instruction, and rounds the new bound down in one
// conversion; the 16-dimension version (the common shape of scaled
// customer features) has no loops or masks at all.
func bounded(c consts, v isa, d16 bool) {
	n := v.name
	if d16 {
		n += "D16"
	}
	TEXT("bounded"+n, NOSPLIT, "func(x *float32, rows, stride, dims, k int, cent *float32, label *int32, lower *float32, drop *float64, shrink, absErr float64, sums *float64, counts *int64, farDist *float32, farRow *int32, rowBase int, wcss *float64) int")
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
	i, cl, xp, cp, tmp := R11, RCX, RAX, RDI, R14
	full, rem := dims, RBX
	var dist, sum func()
	// rowAt points cp at row cl of a k × dims array of size-byte values.
	// With 16 dimensions, cp is the label times 64, a centroid row's bytes
	// and half a sums row's, and both are addressed from it.
	rowAt := func(base Register, size uint8) {
		if d16 {
			if size == 4 {
				MOVQ(cl, cp)
				SHLQ(U8(6), cp)
			}
			return
		}
		MOVQ(cl, cp)
		IMULQ(NewParamAddr("dims", 24), cp)
		LEAQ(Mem{Base: base, Index: cp, Scale: size}, cp)
	}
	switch {
	case d16:
		dist = func() {
			VMOVUPS(Mem{Base: x}, Z1)
			VSUBPS(Mem{Base: cent, Index: cp, Scale: 1}, Z1, Z2)
			VMULPS(Z2, Z2, Z2)
			VEXTRACTF32X8(U8(1), Z2, Y3)
			VADDPS(Y3, Y2, Y0)
			fold8()
		}
		sum = func() {
			for h := 0; h < 2; h++ {
				VCVTPS2PD(Mem{Base: x}.Offset(32*h), Z4)
				VADDPD(Mem{Base: sums, Index: cp, Scale: 2}.Offset(64*h), Z4, Z4)
				VMOVUPD(Z4, Mem{Base: sums, Index: cp, Scale: 2}.Offset(64*h))
			}
		}
	case v.w == 16:
		// full 16-wide steps, then a step over rem = dims mod 16 lanes
		// under the masks K1 (distance), K2 and K3 (the two float64 halves).
		MOVQ(dims, rem)
		ANDQ(U8(15), rem)
		SHRQ(U8(4), full)
		MOVQ(rem, RCX)
		MOVL(U32(1), EAX)
		SHLL(CL, EAX)
		DECL(EAX)
		KMOVW(EAX, K1)
		MOVL(EAX, EDI)
		ANDL(U32(0xff), EDI)
		KMOVW(EDI, K2)
		SHRL(U8(8), EAX)
		KMOVW(EAX, K3)
		dist = func() { rowDist16(x, xp, cp, tmp, full, rem, n) }
		sum = func() { rowSum16(x, xp, cp, tmp, full, rem, n) }
	default:
		splitDims(dims, full, rem)
		tailMask(c, rem, R14, RDI, Y15)
		dist = func() { rowDist(x, xp, cp, tmp, full, rem, n) }
		sum = func() { rowSum(x, xp, cp, tmp, NewParamAddr("dims", 24), n) }
	}
	Load(Param("shrink"), X13)
	Load(Param("absErr"), X12)
	Load(Param("wcss"), RDI)
	VMOVSD(Mem{Base: RDI}, X14)
	VXORPD(X11, X11, X11)
	if d16 {
		// No dims loops: the totals' pointers stay in registers.
		Load(Param("counts"), RAX)
		Load(Param("farDist"), RBX)
		Load(Param("farRow"), RDX)
		Load(Param("k"), tmp)
	}

	// The D16 loop tests its count at the bottom (Bounded never passes 0
	// rows): one branch a row fewer.
	XORQ(i, i)
	Label("row" + n)
	if !d16 {
		CMPQ(i, NewParamAddr("rows", 8))
		JGE(LabelRef("stop" + n))
	}
	MOVLQSX(Mem{Base: label, Index: i, Scale: 4}, cl)
	if d16 {
		CMPQ(cl, tmp)
	} else {
		CMPQ(cl, NewParamAddr("k", 32))
	}
	JAE(LabelRef("stop" + n)) // unsigned: a negative label is out of range too
	rowAt(cent, 4)
	dist()

	// l = lower - drop[label]; skip iff 0 < l and d < shrink·l² − absErr.
	// Unordered compares (a NaN anywhere) stop the pass. Scalar
	// conversions keep the upper lanes of their middle operand: X11, which
	// never changes, rather than the destination, which would chain each
	// row's conversion to the previous row's.
	VCVTSS2SD(X0, X11, X1)
	VCVTSS2SD(Mem{Base: lower, Index: i, Scale: 4}, X11, X2)
	VSUBSD(Mem{Base: drop, Index: cl, Scale: 8}, X2, X2)
	VUCOMISD(X11, X2) // l against 0
	JLS(LabelRef("stop" + n))
	VMULSD(X2, X2, X3)
	VMULSD(X13, X3, X3)
	VSUBSD(X12, X3, X3)
	VUCOMISD(X1, X3) // the bound against d
	JLS(LabelRef("stop" + n))

	// The new lower bound, rounded down to float32.
	if v.w == 16 {
		VCVTSD2SS_RD_SAE(X2, X11, X6)
		VMOVSS(X6, Mem{Base: lower, Index: i, Scale: 4})
	} else {
		VCVTSD2SS(X2, X11, X6)
		VCVTSS2SD(X6, X11, X7)
		VCMPSD(U8(1), X7, X2, X4) // l < float32(l): it rounded up
		VMOVD(X6, EDI)
		VMOVQ(X4, tmp)
		ANDL(U8(1), tmp.As32())
		SUBL(tmp.As32(), EDI)
		MOVL(EDI, Mem{Base: lower, Index: i, Scale: 4})
	}

	// Sum the row into its cluster, widened to float64.
	rowAt(sums, 8)
	sum()
	counts, farDist, farRow := Register(tmp), Register(tmp), Register(tmp)
	if d16 {
		counts, farDist, farRow = RAX, RBX, RDX
	} else {
		Load(Param("counts"), counts)
	}
	INCQ(Mem{Base: counts, Index: cl, Scale: 8})
	VADDSD(X1, X14, X14)
	// Farthest row: the first row wins a tie, a NaN never does, and a
	// cluster without one has farDist −Inf (see Bounded).
	if !d16 {
		Load(Param("farDist"), farDist)
	}
	VUCOMISS(Mem{Base: farDist, Index: cl, Scale: 4}, X0) // d against far
	JLS(LabelRef("next" + n))
	VMOVSS(X0, Mem{Base: farDist, Index: cl, Scale: 4})
	Load(Param("rowBase"), RDI)
	ADDQ(i, RDI)
	if !d16 {
		Load(Param("farRow"), farRow)
	}
	MOVL(EDI, Mem{Base: farRow, Index: cl, Scale: 4})
	Label("next" + n)
	ADDQ(stride, x)
	INCQ(i)
	if d16 {
		CMPQ(i, NewParamAddr("rows", 8))
		JL(LabelRef("row" + n))
	} else {
		JMP(LabelRef("row" + n))
	}

	Label("stop" + n)
	Load(Param("wcss"), RDI)
	VMOVSD(X14, Mem{Base: RDI})
	Store(i, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// rowDist16 is rowDist for AVX-512: 16 dimensions per step, the lower
// half of each step's squares added to the eight lane sums before the upper
// half, which is the canonical order (dimension j into lane j mod 8, in
// order); the last rem dimensions are read under mask K1, and the zero
// squares of the masked lanes leave the sums unchanged.
func rowDist16(x, xp, cp, count, full, rem Register, suffix string) {
	MOVQ(x, xp)
	MOVQ(full, count)
	VXORPS(Y0, Y0, Y0)
	term := func(a, b VecPhysical) {
		VMULPS(b, b, b)
		VADDPS(b.AsY(), Y0, Y0)
		VEXTRACTF32X8(U8(1), b, a.AsY())
		VADDPS(a.AsY(), Y0, Y0)
	}
	Label("chunk16" + suffix)
	TESTQ(count, count)
	JZ(LabelRef("tail16" + suffix))
	VMOVUPS(Mem{Base: xp}, Z1)
	VSUBPS(Mem{Base: cp}, Z1, Z2)
	term(Z1, Z2)
	ADDQ(U8(64), xp)
	ADDQ(U8(64), cp)
	DECQ(count)
	JMP(LabelRef("chunk16" + suffix))
	Label("tail16" + suffix)
	TESTQ(rem, rem)
	JZ(LabelRef("fold16" + suffix))
	VMOVUPS_Z(Mem{Base: xp}, K1, Z1)
	VSUBPS_Z(Mem{Base: cp}, Z1, K1, Z2)
	term(Z1, Z2)
	Label("fold16" + suffix)
	fold8()
}

// rowSum16 is rowSum for AVX-512: eight values widened to float64 per
// instruction; the last rem values are read and written under masks K2 and
// K3, so neither the next row nor the next cluster's sums are touched.
// Whole steps use plain stores, which later loads of the same sums (the next
// row of the cluster) can be forwarded from.
func rowSum16(x, xp, sp, count, full, rem Register, suffix string) {
	MOVQ(x, xp)
	MOVQ(full, count)
	Label("sum16" + suffix)
	TESTQ(count, count)
	JZ(LabelRef("sumtail16" + suffix))
	for h := 0; h < 2; h++ {
		VCVTPS2PD(Mem{Base: xp}.Offset(32*h), Z4)
		VADDPD(Mem{Base: sp}.Offset(64*h), Z4, Z4)
		VMOVUPD(Z4, Mem{Base: sp}.Offset(64*h))
	}
	ADDQ(U8(64), xp)
	ADDQ(U32(128), sp)
	DECQ(count)
	JMP(LabelRef("sum16" + suffix))
	Label("sumtail16" + suffix)
	TESTQ(rem, rem)
	JZ(LabelRef("sumdone16" + suffix))
	for h, k := range []Register{K2, K3} {
		VCVTPS2PD_Z(Mem{Base: xp}.Offset(32*h), k, Z4)
		VADDPD_Z(Mem{Base: sp}.Offset(64*h), Z4, k, Z4)
		VMOVUPD(Z4, k, Mem{Base: sp}.Offset(64*h))
	}
	Label("sumdone16" + suffix)
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
	VCVTSS2SD(Mem{Base: xp}, X11, X2) // X11: no chain through X2
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
	fold8()
}

// fold8 folds the eight lane sums in Y0 into X0's lane 0 in the canonical
// order ((a0+a4)+(a2+a6))+((a1+a5)+(a3+a7)); it clobbers X1.
func fold8() {
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

// exTiles is how many vectors of centroids the expanded kernel takes at a
// time: a group of exTiles·w centroids (see expanded).
const exTiles = 4

// expanded is the inner product at the heart of the expanded form,
// ‖x−c‖² = ‖x‖² − 2x·c + ‖c‖², for rows rows at once (a block) against
// every centroid: f = ‖c‖² + Σⱼ x″ⱼ·cⱼ with x″ = −2x, one fused
// multiply-add per term in dimension order, the norm first. Rows and
// centroids arrive already shifted by the same vector (see Centroids), which
// is what keeps the cancellation small. Centroids come in groups of exTiles
// vectors: per group, their norms (one vector per tile), then for each
// dimension exTiles vectors of values. Every f goes to the row's line of f
// (fstride values per row, in centroid order), and the row's second
// smallest f — the value the candidate threshold is built on — goes to f2.
//
// Each group keeps rows × exTiles accumulators in registers, so a loaded
// centroid vector serves every row and a broadcast row value every tile:
// with AVX-512 that is 16 accumulators, 4 tiles, 4 broadcasts and, per row,
// the running smallest and second smallest of each lane (32 registers);
// with AVX2, 8 accumulators, 2 broadcasts, 4 running lanes and 2 spare,
// the tiles read from memory by the multiply-adds.
func expanded(c consts, v isa, rows int) {
	n := v.name
	TEXT("expanded"+n, NOSPLIT, "func(xs *float32, dims int, grp *float32, groups int, f *float32, fstride int, f2 *float32)")
	Pragma("noescape")
	xs := Load(Param("xs"), RSI)
	dims := Load(Param("dims"), RCX)
	tp := Load(Param("grp"), RDI)
	groups := Load(Param("groups"), R8)
	fp := Load(Param("f"), R9)
	fsb := Load(Param("fstride"), R10)
	SHLQ(U8(2), fsb)
	rb, rb3, fsb3, xp, j := R11, R12, R13, RAX, RBX
	MOVQ(dims, rb)
	SHLQ(U8(2), rb)
	LEAQ(Mem{Base: rb, Index: rb, Scale: 2}, rb3)
	LEAQ(Mem{Base: fsb, Index: fsb, Scale: 2}, fsb3)
	rowAddr := func(base, stride, stride3 Register, r int, off int) Mem {
		switch r {
		case 0:
			return Mem{Base: base}.Offset(off)
		case 3:
			return Mem{Base: base, Index: stride3, Scale: 1}.Offset(off)
		}
		return Mem{Base: base, Index: stride, Scale: uint8(r)}.Offset(off)
	}

	vb := 4 * v.w // bytes of a vector
	acc := func(r, u int) VecPhysical { return v.vec[r*exTiles+u] }
	var tile, bcast, m1, m2, tmp []VecPhysical
	if v.w == 16 {
		z := []VecPhysical{Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}
		tile, bcast, m1, m2 = z[0:4], z[4:8], z[8:12], z[12:16]
		tmp = z[0:4] // the tiles are free once a group's sums are done
	} else {
		bcast, m1, m2, tmp = v.vec[8:10], v.vec[10:12], v.vec[12:14], []VecPhysical{Y14, Y15, Y8}
	}
	for r := 0; r < rows; r++ {
		VMOVUPS(c.inf, m1[r])
		VMOVUPS(c.inf, m2[r])
	}

	Label("group" + n)
	for u := 0; u < exTiles; u++ {
		for r := 0; r < rows; r++ {
			VMOVUPS(Mem{Base: tp}.Offset(u*vb), acc(r, u))
		}
	}
	ADDQ(U32(uint64(exTiles*vb)), tp)
	MOVQ(xs, xp)
	MOVQ(dims, j)
	Label("dim" + n)
	for r := 0; r < rows; r++ {
		VBROADCASTSS(rowAddr(xp, rb, rb3, r, 0), bcast[r])
	}
	for u := 0; u < exTiles; u++ {
		var t Op = Mem{Base: tp}.Offset(u * vb)
		if tile != nil {
			VMOVUPS(t, tile[u])
			t = tile[u]
		}
		for r := 0; r < rows; r++ {
			VFMADD231PS(t, bcast[r], acc(r, u))
		}
	}
	ADDQ(U8(4), xp)
	ADDQ(U32(uint64(exTiles*vb)), tp)
	DECQ(j)
	JNZ(LabelRef("dim" + n))

	// Out to f, and per lane the smallest two so far (a multiset: a tie
	// makes the second equal the first).
	for r := 0; r < rows; r++ {
		for u := 0; u < exTiles; u++ {
			a := acc(r, u)
			VMOVUPS(a, rowAddr(fp, fsb, fsb3, r, u*vb))
			VMAXPS(a, m1[r], tmp[0])
			VMINPS(a, m1[r], m1[r])
			VMINPS(tmp[0], m2[r], m2[r])
		}
	}
	ADDQ(U32(uint64(exTiles*vb)), fp)
	DECQ(groups)
	JNZ(LabelRef("group" + n))

	// Across lanes: merging (a₁, a₂) with (b₁, b₂) gives min(a₁, b₁) and
	// min(max(a₁, b₁), a₂, b₂), halving the lanes until one holds the row's
	// second smallest.
	f2 := Load(Param("f2"), RDX)
	for r := 0; r < rows; r++ {
		merge := func(perm func(src, dst VecPhysical)) {
			perm(m1[r], tmp[0])
			perm(m2[r], tmp[1])
			VMAXPS(tmp[0], m1[r], tmp[2])
			VMINPS(tmp[0], m1[r], m1[r])
			VMINPS(tmp[1], m2[r], m2[r])
			VMINPS(tmp[2], m2[r], m2[r])
		}
		if v.w == 16 {
			merge(func(s, d VecPhysical) { VSHUFF32X4(U8(0x4e), s, s, d) })
			merge(func(s, d VecPhysical) { VSHUFF32X4(U8(0xb1), s, s, d) })
		} else {
			merge(func(s, d VecPhysical) { VPERM2F128(U8(1), s, s, d) })
		}
		merge(func(s, d VecPhysical) { VPERMILPS(U8(0x4e), s, d) })
		merge(func(s, d VecPhysical) { VPERMILPS(U8(0xb1), s, d) })
		VMOVSS(m2[r].AsX(), Mem{Base: f2}.Offset(4*r))
	}
	VZEROUPPER()
	RET()
}

// shift writes, for each of rows rows of x, x″ = −2·(x − m) into xs (rows
// of dims values, packed) and ‖x − m‖² into norms: the rows as the expanded
// kernel takes them. Eight values at a time, the last dims mod 8 under a
// mask so no value past a row is read or written.
func shift(c consts) {
	TEXT("shiftAVX2", NOSPLIT, "func(x *float32, rows, stride, dims int, m *float32, xs *float32, norms *float32)")
	Pragma("noescape")
	x := Load(Param("x"), RSI)
	rows := Load(Param("rows"), RCX)
	stride := Load(Param("stride"), R8)
	dims := Load(Param("dims"), R9)
	op := Load(Param("xs"), RDI)
	norms := Load(Param("norms"), R12)
	SHLQ(U8(2), stride)
	full, rem := R10, RBX
	splitDims(dims, full, rem)
	tailMask(c, rem, R14, R15, Y15)
	SHLQ(U8(2), rem)
	VMOVUPS(c.negtwo, Y14)
	i, xp, mp, cnt := R11, RAX, RDX, R13
	XORQ(i, i)
	Label("rowShift")
	CMPQ(i, rows)
	JGE(LabelRef("doneShift"))
	VXORPS(Y0, Y0, Y0)
	MOVQ(x, xp)
	Load(Param("m"), mp)
	MOVQ(full, cnt)
	term := func() {
		VSUBPS(Y2, Y1, Y1)
		VFMADD231PS(Y1, Y1, Y0)
		VMULPS(Y14, Y1, Y1)
	}
	Label("chunkShift")
	TESTQ(cnt, cnt)
	JZ(LabelRef("tailShift"))
	VMOVUPS(Mem{Base: xp}, Y1)
	VMOVUPS(Mem{Base: mp}, Y2)
	term()
	VMOVUPS(Y1, Mem{Base: op})
	ADDQ(U8(32), xp)
	ADDQ(U8(32), mp)
	ADDQ(U8(32), op)
	DECQ(cnt)
	JMP(LabelRef("chunkShift"))
	Label("tailShift")
	TESTQ(rem, rem)
	JZ(LabelRef("foldShift"))
	VMASKMOVPS(Mem{Base: xp}, Y15, Y1)
	VMASKMOVPS(Mem{Base: mp}, Y15, Y2)
	term()
	VMASKMOVPS(Y1, Y15, Mem{Base: op})
	ADDQ(rem, op)
	Label("foldShift")
	fold8()
	VMOVSS(X0, Mem{Base: norms, Index: i, Scale: 4})
	ADDQ(stride, x)
	INCQ(i)
	JMP(LabelRef("rowShift"))
	Label("doneShift")
	VZEROUPPER()
	RET()
}

// finish completes the expanded search of a block, row by row: the
// row's candidates, the values of its line of f (fstride of them, a
// multiple of exTiles vectors) at most t[r]; their canonical distances to
// the row; and of those the nearest (the lowest index on ties) and the
// runner-up, into label, dist and second, as the direct search would give
// them. A row with fewer than need candidates (its t is NaN: it could not
// be bounded) gets label −1, for the caller to search directly. cand is
// scratch for fstride indices.
//
// Candidates are few (two, mostly), so the scan tests exTiles vectors at
// once and looks at single vectors only where one of them holds one.
func finish(c consts, v isa) {
	n := "Fin" + v.name
	TEXT("finish"+v.name, NOSPLIT, "func(f *float32, fstride, rows int, t *float32, x *float32, stride, dims int, cent *float32, need int, label *int32, dist, second *float32, cand *int32)")
	Pragma("noescape")
	fp, xr, cand, found, bits, idx, base, r := RSI, RDI, R8, R9, RAX, RDX, R10, R11
	xp, cp, count, full, rem, fstride := R12, R13, R14, R15, RBX, RCX
	Load(Param("cand"), cand)
	Load(Param("dims"), full)
	if v.w == 16 {
		MOVQ(full, RCX)
		ANDQ(U8(15), RCX)
		MOVQ(RCX, rem)
		MOVL(U32(1), EAX)
		SHLL(CL, EAX)
		DECL(EAX)
		KMOVW(EAX, K1)
		SHRQ(U8(4), full)
	} else {
		MOVQ(full, rem)
		ANDQ(U8(7), rem)
		SHRQ(U8(3), full)
		tailMask(c, rem, R14, R13, Y15)
	}
	Load(Param("fstride"), fstride)
	tv := v.vec[14]
	vb := 4 * v.w
	ks := []Register{K2, K3, K4, K5}

	XORQ(r, r)
	Label("row" + n)
	CMPQ(r, NewParamAddr("rows", 16))
	JGE(LabelRef("done" + n))
	MOVQ(r, fp)
	IMULQ(fstride, fp)
	SHLQ(U8(2), fp)
	ADDQ(NewParamAddr("f", 0), fp)
	MOVQ(r, xr)
	IMULQ(NewParamAddr("stride", 40), xr)
	SHLQ(U8(2), xr)
	ADDQ(NewParamAddr("x", 32), xr)
	Load(Param("t"), count)
	VBROADCASTSS(Mem{Base: count, Index: r, Scale: 4}, tv)

	// The scan: f ≤ t (ordered: false for NaN).
	XORQ(base, base)
	XORQ(found, found)
	Label("group" + n)
	CMPQ(base, fstride)
	JGE(LabelRef("scanned" + n))
	for u := 0; u < exTiles; u++ {
		VMOVUPS(Mem{Base: fp, Index: base, Scale: 4}.Offset(u*vb), v.vec[u])
		if v.w == 16 {
			VCMPPS(U8(2), tv, v.vec[u], ks[u])
		} else {
			VCMPPS(U8(2), tv, v.vec[u], v.vec[u])
		}
	}
	if v.w == 16 {
		KORW(K2, K3, K6)
		KORW(K4, K5, K7)
		KORTESTW(K6, K7)
	} else {
		VORPS(v.vec[0], v.vec[1], v.vec[4])
		VORPS(v.vec[2], v.vec[3], v.vec[5])
		VORPS(v.vec[4], v.vec[5], v.vec[4])
		VPTEST(v.vec[4], v.vec[4])
	}
	JZ(LabelRef("next" + n))
	for u := 0; u < exTiles; u++ {
		if v.w == 16 {
			KMOVW(ks[u], bits.As32())
		} else {
			VMOVMSKPS(v.vec[u], bits.As32())
		}
		l := fmt.Sprintf("bit%s%d", n, u)
		Label(l)
		TESTL(bits.As32(), bits.As32())
		JZ(LabelRef(l + "done"))
		BSFL(bits.As32(), idx.As32())
		LEAL(Mem{Base: idx, Index: base, Scale: 1}.Offset(u*v.w), idx.As32())
		MOVL(idx.As32(), Mem{Base: cand, Index: found, Scale: 4})
		INCQ(found)
		LEAL(Mem{Base: bits}.Offset(-1), idx.As32())
		ANDL(idx.As32(), bits.As32())
		JMP(LabelRef(l))
		Label(l + "done")
	}
	Label("next" + n)
	ADDQ(U8(uint64(exTiles*v.w)), base)
	JMP(LabelRef("group" + n))

	Label("scanned" + n)
	CMPQ(found, NewParamAddr("need", 64))
	JL(LabelRef("fail" + n))
	// The candidates, measured; the strict comparisons keep the lowest
	// index on ties and never take a NaN, as the direct search does.
	j, best, q := bits, idx, base
	d1, d2 := X5, X6
	VMOVSS(c.inf, d1)
	VMOVSS(c.inf, d2)
	XORQ(best, best)
	XORQ(j, j)
	Label("cand" + n)
	CMPQ(j, found)
	JGE(LabelRef("write" + n))
	MOVLQSX(Mem{Base: cand, Index: j, Scale: 4}, q)
	MOVQ(q, cp)
	IMULQ(NewParamAddr("dims", 48), cp)
	SHLQ(U8(2), cp)
	ADDQ(NewParamAddr("cent", 56), cp)
	if v.w == 16 {
		rowDist16(xr, xp, cp, count, full, rem, n)
	} else {
		rowDist(xr, xp, cp, count, full, rem, n)
	}
	VUCOMISS(X0, d1) // d1 > d: a new nearest
	JA(LabelRef("best" + n))
	VUCOMISS(X0, d2) // d2 > d: a new runner-up
	JA(LabelRef("second" + n))
	JMP(LabelRef("nextCand" + n))
	Label("best" + n)
	VMOVAPS(d1, d2)
	VMOVAPS(X0, d1)
	MOVQ(q, best)
	JMP(LabelRef("nextCand" + n))
	Label("second" + n)
	VMOVAPS(X0, d2)
	Label("nextCand" + n)
	INCQ(j)
	JMP(LabelRef("cand" + n))

	Label("write" + n)
	Load(Param("label"), count)
	MOVL(best.As32(), Mem{Base: count, Index: r, Scale: 4})
	Load(Param("dist"), count)
	VMOVSS(d1, Mem{Base: count, Index: r, Scale: 4})
	Load(Param("second"), count)
	VMOVSS(d2, Mem{Base: count, Index: r, Scale: 4})
	INCQ(r)
	JMP(LabelRef("row" + n))

	Label("fail" + n)
	Load(Param("label"), count)
	MOVL(U32(0xffffffff), Mem{Base: count, Index: r, Scale: 4})
	INCQ(r)
	JMP(LabelRef("row" + n))

	Label("done" + n)
	VZEROUPPER()
	RET()
}

// distanceSums is DistanceSums (distsums.go) for one metric: rows of y
// eight at a time, one a float64 lane (one zmm, or a pair of ymm), each
// lane's distance over the dimensions in order, into the eight partial
// sums of the run the row belongs to, which a flush folds in the
// canonical order into the run's sum. Every operation is the Go twin's,
// lane for lane, so the sums have its bits; the operands go in the
// source's order (x − y, p + d, sum + fold), though where two NaNs of
// different payloads meet the twin's survivor is the compiler's choice
// and not promised (see DistanceSums).
//
// u groups of eight rows go through the dimensions together: each lane's
// distance is a chain of dependent fused multiply-adds (or adds), and u
// independent chains per vector keep the FMA units busy through their
// latency. A block wholly inside the current run (the common case: runs
// are segments, hundreds of rows long) is added to the run's partials
// unmasked, in row order. Any other block is spilled to the stack and
// taken a group at a time: per run that starts or ends in the group, a
// mask of its lanes (row index against the run's end) chooses which
// distances it takes, and a run that ends is flushed. Rows at or past n
// are in no mask, so the padding rows, which are read, never count.
func distanceSums(c consts, v isa, manhattan bool, u int) {
	n := "Euclid"
	if manhattan {
		n = "Manhattan"
	}
	n += v.name
	if most := map[bool]int{true: 8, false: 5}[v.w == 16]; u < 1 || u > most {
		panic(fmt.Sprintf("distanceSums: %d groups at a time do not fit %s's registers", u, v.name))
	}
	TEXT("distanceSums"+n, NOSPLIT, "func(x *float64, dims int, yt *float64, ld, n int, ends *int32, runs int, sums *float64)")
	Pragma("noescape")
	local := AllocLocal(64 * u) // a block's distances, for the masked path
	x := Load(Param("x"), RSI)
	dims := Load(Param("dims"), RCX)
	yt := Load(Param("yt"), RDI)
	ldb := Load(Param("ld"), R8)
	rows := Load(Param("n"), R9)
	ends := Load(Param("ends"), R10)
	runs := Load(Param("runs"), R11)
	sums := Load(Param("sums"), R12)
	SHLQ(U8(3), ldb)
	g, run, xp, yp, j, cnt := R13, R14, RAX, RBX, RDX, R15

	// Registers. AVX-512: the distances in Z0…, one a group, and the
	// differences in Z8…; the rest above Z16. AVX2: each group's distances
	// in a pair of ymm (lanes 0–3, 4–7), the partials likewise, one
	// register for the differences (renaming keeps the chains apart); u ≤ 5
	// fits in 16.
	wide := v.w == 16
	halves := 2 // vectors a group of eight float64 takes
	if wide {
		halves = 1
	}
	d := func(grp, h int) VecPhysical { return v.vec[grp*halves+h] }
	var t, p, tmp []VecPhysical
	var xb, abs VecPhysical
	if wide {
		t = []VecPhysical{Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15}[:u]
		xb, abs, p = Z16, Z18, []VecPhysical{Z17}
		tmp = []VecPhysical{Y14, Y15}
	} else {
		k := 2 * u
		t = v.vec[k : k+1]
		xb, p, abs = v.vec[k+1], v.vec[k+2:k+4], Y14
		tmp = []VecPhysical{t[0], Y15}
	}
	if manhattan {
		VMOVUPD(c.abs64, abs)
	}
	for _, r := range p {
		VXORPD(r, r, r)
	}
	XORQ(g, g)
	XORQ(run, run)

	// distances leaves in d the distances from x to the rows of groups
	// g … g+8(gs−1) (all eight lanes, padding rows too).
	distances := func(gs int, suffix string) {
		for grp := 0; grp < gs; grp++ {
			for h := 0; h < halves; h++ {
				VXORPD(d(grp, h), d(grp, h), d(grp, h))
			}
		}
		MOVQ(x, xp)
		LEAQ(Mem{Base: yt, Index: g, Scale: 8}, yp)
		MOVQ(dims, j)
		Label("dim" + n + suffix)
		VBROADCASTSD(Mem{Base: xp}, xb)
		k := 0
		for grp := 0; grp < gs; grp++ {
			for h := 0; h < halves; h++ {
				tt, dd := t[k%len(t)], d(grp, h)
				k++
				// t = x[j] − y: x first, as the twin subtracts.
				VSUBPD(Mem{Base: yp}.Offset(64*grp+32*h), xb, tt)
				if manhattan {
					VANDPD(abs, tt, tt)
					VADDPD(tt, dd, dd)
				} else {
					VFMADD231PD(tt, tt, dd)
				}
			}
		}
		ADDQ(U8(8), xp)
		ADDQ(ldb, yp)
		DECQ(j)
		JNZ(LabelRef("dim" + n + suffix))
		if !manhattan {
			for grp := 0; grp < gs; grp++ {
				for h := 0; h < halves; h++ {
					VSQRTPD(d(grp, h), d(grp, h))
				}
			}
		}
	}

	// block computes gs groups from g and adds them to the run's partials
	// if they are all in it, else hands them to the masked path.
	block := func(gs int, top, next string) {
		suffix := fmt.Sprint(gs)
		Label(top)
		if gs == 1 {
			CMPQ(g, rows)
			JGE(LabelRef("final" + n))
		} else {
			// gs groups are left while the last of them starts below n.
			LEAQ(Mem{Base: g}.Offset(8*(gs-1)), RAX)
			CMPQ(RAX, rows)
			JGE(LabelRef(next))
		}
		distances(gs, suffix)
		LEAQ(Mem{Base: g}.Offset(8*gs), RAX)
		CMPQ(RAX, rows)
		JG(LabelRef("spill" + n + suffix))
		MOVLQSX(Mem{Base: ends, Index: run, Scale: 4}, RBX)
		CMPQ(RAX, RBX)
		JG(LabelRef("spill" + n + suffix))
		for grp := 0; grp < gs; grp++ {
			for h := range p {
				VADDPD(d(grp, h), p[h], p[h])
			}
		}
		MOVQ(RAX, g)
		JMP(LabelRef(top))
		Label("spill" + n + suffix)
		for grp := 0; grp < gs; grp++ {
			for h := 0; h < halves; h++ {
				VMOVUPD(d(grp, h), local.Offset(64*grp+32*h))
			}
		}
		MOVQ(U32(uint64(gs)), cnt)
		JMP(LabelRef("masked" + n))
	}
	block(u, "block"+n, "group"+n)
	block(1, "group"+n, "")

	// The masked path: cnt groups' distances from the stack, from row g.
	// Per group, rem is the lanes not yet taken (at first those below n);
	// each run takes those of its lanes below its end, and is flushed
	// unless it goes on past the group.
	Label("masked" + n)
	XORQ(j, j) // the group's bytes into local
	Label("mgroup" + n)
	MOVQ(rows, RAX)
	SUBQ(g, RAX)
	var dl, dh, rv, ml, mh, rl, rh, s VecPhysical
	if wide {
		dl, rv = Z20, Z21
		VMOVUPD(Mem{Base: local.Base, Index: j, Scale: 1, Disp: local.Disp}, dl)
		VMOVDQU64(c.iota64, Z19)
		VPBROADCASTQ(RAX, rv)
		VPCMPQ(U8(1), rv, Z19, K1) // rem: lane < n − g
	} else {
		// Any registers but the partials, abs and the flush's: the
		// block's distances are on the stack.
		var free []VecPhysical
		for _, r := range v.vec {
			if !slices.Contains(p, r) && r != abs && !slices.Contains(tmp, r) {
				free = append(free, r)
			}
		}
		dl, dh, rl, rh, ml, mh, rv, s = free[0], free[1], free[2], free[3], free[4], free[5], free[6], free[7]
		VMOVUPD(Mem{Base: local.Base, Index: j, Scale: 1, Disp: local.Disp}, dl)
		VMOVUPD(Mem{Base: local.Base, Index: j, Scale: 1, Disp: local.Disp + 32}, dh)
		bcastQ(RAX, rv)
		VPCMPGTQ(c.iota64, rv, rl)
		VPCMPGTQ(c.iota64.Offset(32), rv, rh)
	}
	Label("mrun" + n)
	MOVLQSX(Mem{Base: ends, Index: run, Scale: 4}, RAX)
	SUBQ(g, RAX) // the run's end, in lanes of the group
	if wide {
		VPBROADCASTQ(RAX, rv)
		VPCMPQ(U8(1), rv, Z19, K1, K2) // rem lanes below the end
		VADDPD(dl, p[0], K2, p[0])
		VPCMPQ(U8(5), rv, Z19, K1, K1) // rem keeps the lanes at or past it
	} else {
		bcastQ(RAX, rv)
		for h, m := range []VecPhysical{ml, mh} {
			rem := []VecPhysical{rl, rh}[h]
			dd := []VecPhysical{dl, dh}[h]
			VPCMPGTQ(c.iota64.Offset(32*h), rv, m)
			VPAND(rem, m, m)
			VPANDN(rem, m, rem) // rem &^= m
			VADDPD(dd, p[h], s)
			VBLENDVPD(m, s, p[h], p[h])
		}
	}
	CMPQ(RAX, U8(8))
	JGE(LabelRef("mnext" + n)) // the run goes on past the group
	flushRun(v, p, tmp, sums, run)
	INCQ(run)
	CMPQ(run, runs)
	JGE(LabelRef("final" + n)) // the last run ended: this was the last group
	JMP(LabelRef("mrun" + n))
	Label("mnext" + n)
	ADDQ(U8(8), g)
	ADDQ(U8(64), j)
	DECQ(cnt)
	JNZ(LabelRef("mgroup" + n))
	JMP(LabelRef("block" + n))

	// Runs not yet flushed: the one the rows ended in, and any after it
	// (empty), which add +0 as the twin's do.
	Label("final" + n)
	CMPQ(run, runs)
	JGE(LabelRef("done" + n))
	flushRun(v, p, tmp, sums, run)
	INCQ(run)
	JMP(LabelRef("final" + n))
	Label("done" + n)
	VZEROUPPER()
	RET()
}

// bcastQ broadcasts the quadword in r to the four lanes of y (AVX2).
func bcastQ(r Register, y VecPhysical) {
	VMOVQ(r, y.AsX())
	VPBROADCASTQ(y.AsX(), y)
}

// flushRun adds the fold of the partials p (one zmm, or the ymm pair of
// lanes 0–3 and 4–7) to sums[run] and zeroes them; tmp is two ymm. The fold is the
// twin's tree: lanes l and l+4 first, then the 128-bit halves, then the
// two lanes; each add takes its operands in the twin's order.
func flushRun(v isa, p, tmp []VecPhysical, sums, run Register) {
	// The temporaries are below 16 (free whenever a run is flushed: the
	// block's distances are spilled, or done with), so the 128-bit steps
	// take their VEX encodings.
	a, b := tmp[0], tmp[1]
	if v.w == 16 {
		VEXTRACTF64X4(U8(1), p[0], a)
		VADDPD(a, p[0].AsY(), a)
	} else {
		VADDPD(p[1], p[0], a)
	}
	ax, bx := a.AsX(), b.AsX()
	VEXTRACTF128(U8(1), a.AsY(), bx)
	VADDPD(bx, ax, ax)
	VUNPCKHPD(ax, ax, bx)
	VADDSD(bx, ax, ax)
	VMOVSD(Mem{Base: sums, Index: run, Scale: 8}, bx)
	VADDSD(ax, bx, bx)
	VMOVSD(bx, Mem{Base: sums, Index: run, Scale: 8})
	for _, r := range p {
		VXORPD(r, r, r)
	}
}
