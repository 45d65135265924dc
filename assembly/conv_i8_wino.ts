// Winograd F(2×2, 3×3) integer convolution (QLinearConv, ConvInteger) for 2-D 3×3 kernels,
// stride 1, dilation 1, exact (Lavin & Gray; the f32 form is conv_winograd.ts):
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  2G = [2 0 0; 1 1 1; 1 −1 1; 0 0 2],
//   Aᵀ = [1 1 1 0; 0 1 −1 −1]
// With g = W[m, c] − w_zp[m] (3×3) and d the 4×4 patch of x − x_zp under a 2×2 output tile
// (zero outside X: the padded volume of conv_i8_pack.ts), U = (2G)·g·(2G)ᵀ, V = Bᵀ·d·B and
//   4·Y[m, tile] = Aᵀ · (Σ_c U[m, c] ⊙ V[c, tile]) · A,
// 16 multiplications per output tile and channel pair instead of 36. Every value is an
// integer: |d| ≤ 255 → |V| ≤ 1020 and |g| ≤ 255 → |U| ≤ 2295 fit i16, so each sum over ξ is an
// i32x4.dot_i16x8_s GEMM (|V·U| < 2^22: no pair-sum overflow), and all of it is exact modulo
// 2^32 — a ring map, so intermediate wrap-around is harmless. The true output satisfies
// |Y| ≤ 9·C·255² < 2^29 when C ≤ WINO_MAX_C, so 4·Y is the i32 computed and Y = (4·Y) >> 2
// exactly; then + bias and the epilogue as conv_i8 (indexed (0, channel)), bit for bit the
// reference's wrapping sum.
//
// Layouts. Weights (pack_w_wino_i8, once per session): 16 regions ξ = 4i + j, each the A operand
// of dot4x8_i16 (gemm_i8_tile.ts) for all output channels: ⌈M/4⌉ panels of CP groups of 16
// bytes, i16 element 2r + u of group p = U_ξ[4·panel + r, 2p + u] (0 past M and C). Per call,
// per row of tiles and block of 8 tiles along it: V of the block for every ξ (CP groups of 32
// bytes, element 2t + u = V_ξ[2p + u, tile t]), the B operand; the 16 GEMM tiles of a panel of 4
// channels (rows) × the 8 tiles (columns) land in TILES and go through Aᵀ·M·A together. The
// block's patches come from the padded volume cut in even/odd column phases
// (setWinogradVolume), where the 8 tiles' columns 2t + j are 32 consecutive bytes.

import { desc } from './common';
import { G_G, G_M, G_N } from './conv_geom';
import {
  C, CP, DH, DW, ID, IH, IW, KD, KH, KW, OD, OH, OW, SH, SW, Wq, ld8, padInput, paddedBytes, pairBytes, rowBytes, setGeometry,
  setWinogradVolume,
} from './conv_i8_pack';
import {
  biasOf, lanesRequantise, narrowLanes, outElemBytes, requantRegs, rqConst, scaleSplat, setEpilogue, storeOne,
} from './gemm_i8_epilogue';
import { dot4x8_i16 } from './gemm_i8_tile';

/** Input channels per group up to which the 4·Y recovery is exact (9·C·255² < 2^29). */
export const WINO_MAX_C: i32 = 917;

/** The 16 GEMM tiles of one panel × block (ξ at 128·ξ), then the 2×2 outputs of one channel (8 vectors). */
const TILES: usize = memory.data(16 * 128, 16);
const YB: usize = memory.data(8 * 16, 16);
const ONE_TAP: usize = memory.data(4, 4);

// @ts-ignore: decorator
@inline function roundUp(x: i32, to: i32): i32 {
  return (x + to - 1) / to * to;
}

/** Bytes of one ξ region of packed weights. */
// @ts-ignore: decorator
@inline function uRegion(M: i32, C: i32): usize {
  return <usize>roundUp(M, 4) * <usize>((C + 1) >> 1) << 2;
}

/** Bytes of pack_w_wino_i8's output for one group of M output channels and C input channels. */
export function conv_w_wino_i8_bytes(M: i32, C: i32): i32 {
  return 16 * <i32>uRegion(M, C);
}

/**
 * Packs one group's 3×3 weights w [M, C, 3, 3] (s8 when wSigned, else u8; zero point(s) at wZp
 * in w's type, one or M when wZpPerChannel, 0 for none) as U (see the header) into dst.
 * Returns 0, or 1 when a dimension is not positive.
 */
export function pack_w_wino_i8(w: usize, wSigned: i32, wZp: usize, wZpPerChannel: i32, M: i32, C: i32, dst: usize): i32 {
  if (M <= 0 || C <= 0) return 1;
  const cp = (C + 1) >> 1;
  const region = uRegion(M, C);
  const g = memory.data(9 * 4, 4);
  const t = memory.data(12 * 4, 4);
  for (let m = 0; m < roundUp(M, 4); m++) {
    const zp = m < M && wZp ? ld8(wZp + (wZpPerChannel ? <usize>m : 0), wSigned) : 0;
    for (let c = 0; c < cp << 1; c++) {
      for (let k = 0; k < 9; k++) {
        const v = m < M && c < C ? ld8(w + (<usize>(m * C + c) * 9 + <usize>k), wSigned) - zp : 0;
        store<i32>(g + (<usize>k << 2), v);
      }
      // T = (2G)·g (4×3), then U = T·(2G)ᵀ (4×4).
      for (let k = 0; k < 3; k++) {
        const g0 = load<i32>(g + (<usize>k << 2)), g1 = load<i32>(g + (<usize>(3 + k) << 2)), g2 = load<i32>(g + (<usize>(6 + k) << 2));
        store<i32>(t + (<usize>k << 2), 2 * g0);
        store<i32>(t + (<usize>(3 + k) << 2), g0 + g1 + g2);
        store<i32>(t + (<usize>(6 + k) << 2), g0 - g1 + g2);
        store<i32>(t + (<usize>(9 + k) << 2), 2 * g2);
      }
      const at = dst + <usize>(m >> 2) * <usize>cp * 16 + (<usize>(c >> 1) << 4) + (<usize>(m & 3) << 2) + (<usize>(c & 1) << 1);
      for (let i = 0; i < 4; i++) {
        const t0 = load<i32>(t + (<usize>(3 * i) << 2)), t1 = load<i32>(t + (<usize>(3 * i + 1) << 2)), t2 = load<i32>(t + (<usize>(3 * i + 2) << 2));
        store<i16>(at + <usize>(4 * i) * region, <i16>(2 * t0));
        store<i16>(at + <usize>(4 * i + 1) * region, <i16>(t0 + t1 + t2));
        store<i16>(at + <usize>(4 * i + 2) * region, <i16>(t0 - t1 + t2));
        store<i16>(at + <usize>(4 * i + 3) * region, <i16>(2 * t2));
      }
    }
  }
  return 0;
}

/** Whether descriptor d is a convolution conv_wino_i8 computes (2-D 3×3, stride 1, dilation 1, C ≤ WINO_MAX_C). */
function winogradShape(d: usize): bool {
  setGeometry(d);
  return ID == 1 && OD == 1 && KD == 1 && KH == 3 && KW == 3 && SH == 1 && SW == 1 && DH == 1 && DW == 1 && C <= WINO_MAX_C;
}

/** Bytes of conv_wino_i8's scratch for geometry descriptor d: the padded volume, then V of one block. */
export function conv_wino_i8_scratch_bytes(d: usize): i32 {
  if (!winogradShape(d)) return 0;
  setWinogradVolume((OH + 1) >> 1, roundUp((OW + 1) >> 1, 8));
  return <i32>paddedBytes() + 16 * CP * 32;
}

/**
 * V of the block of 8 tiles starting at tile tw0 of tile row th, for every channel pair, into
 * v (16 regions of CP·32 bytes).
 */
function inputTransform(vol: usize, th: i32, tw0: i32, v: usize): void {
  const vRegion = <usize>CP << 5;
  const top = vol + <usize>(2 * th) * rowBytes;
  for (let p = 0; p < CP; p++) {
    const pair = top + <usize>p * pairBytes;
    const out = v + (<usize>p << 5);
    if (ASC_FEATURE_SIMD) {
      // Per half (4 tiles): e_i = d_i·B for patch rows i (columns j: phase j & 1, slot
      // tw0 + (j >> 1)), then V = Bᵀ·e row by row, so at most two rows of e are live.
      const odd = <usize>Wq << 2;
      for (let h: usize = 0; h < 32; h += 16) {
        const o = out + h;
        let r = pair + (<usize>tw0 << 2) + h;
        let d0 = v128.load(r), d2 = v128.load(r, 4), d1 = v128.load(r + odd), d3 = v128.load(r + odd, 4);
        const e00 = i16x8.sub(d0, d2), e01 = i16x8.add(d1, d2), e02 = i16x8.sub(d2, d1), e03 = i16x8.sub(d1, d3);
        r += rowBytes << 1;
        d0 = v128.load(r); d2 = v128.load(r, 4); d1 = v128.load(r + odd); d3 = v128.load(r + odd, 4);
        const e20 = i16x8.sub(d0, d2), e21 = i16x8.add(d1, d2), e22 = i16x8.sub(d2, d1), e23 = i16x8.sub(d1, d3);
        v128.store(o, i16x8.sub(e00, e20)); v128.store(o + vRegion, i16x8.sub(e01, e21));
        v128.store(o + 2 * vRegion, i16x8.sub(e02, e22)); v128.store(o + 3 * vRegion, i16x8.sub(e03, e23));
        r -= rowBytes;
        d0 = v128.load(r); d2 = v128.load(r, 4); d1 = v128.load(r + odd); d3 = v128.load(r + odd, 4);
        const e10 = i16x8.sub(d0, d2), e11 = i16x8.add(d1, d2), e12 = i16x8.sub(d2, d1), e13 = i16x8.sub(d1, d3);
        v128.store(o + 4 * vRegion, i16x8.add(e10, e20)); v128.store(o + 5 * vRegion, i16x8.add(e11, e21));
        v128.store(o + 6 * vRegion, i16x8.add(e12, e22)); v128.store(o + 7 * vRegion, i16x8.add(e13, e23));
        v128.store(o + 8 * vRegion, i16x8.sub(e20, e10)); v128.store(o + 9 * vRegion, i16x8.sub(e21, e11));
        v128.store(o + 10 * vRegion, i16x8.sub(e22, e12)); v128.store(o + 11 * vRegion, i16x8.sub(e23, e13));
        r += rowBytes << 1;
        d0 = v128.load(r); d2 = v128.load(r, 4); d1 = v128.load(r + odd); d3 = v128.load(r + odd, 4);
        v128.store(o + 12 * vRegion, i16x8.sub(e10, i16x8.sub(d0, d2))); v128.store(o + 13 * vRegion, i16x8.sub(e11, i16x8.add(d1, d2)));
        v128.store(o + 14 * vRegion, i16x8.sub(e12, i16x8.sub(d2, d1))); v128.store(o + 15 * vRegion, i16x8.sub(e13, i16x8.sub(d1, d3)));
      }
      continue;
    }
    for (let t = 0; t < 8; t++) for (let u = 0; u < 2; u++) {
      const d = memory.data(16 * 4, 4);
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
        const at = pair + <usize>i * rowBytes + ((<usize>(j & 1) * <usize>Wq + <usize>(tw0 + t + (j >> 1))) << 2) + (<usize>u << 1);
        store<i32>(d + (<usize>(4 * i + j) << 2), <i32>load<i16>(at));
      }
      for (let i = 0; i < 4; i++) {
        const r = d + (<usize>(4 * i) << 2);
        const d0 = load<i32>(r), d1 = load<i32>(r, 4), d2 = load<i32>(r, 8), d3 = load<i32>(r, 12);
        store<i32>(r, d0 - d2); store<i32>(r, d1 + d2, 4); store<i32>(r, d2 - d1, 8); store<i32>(r, d1 - d3, 12);
      }
      for (let j = 0; j < 4; j++) {
        const e0 = load<i32>(d + (<usize>j << 2)), e1 = load<i32>(d + (<usize>(4 + j) << 2));
        const e2 = load<i32>(d + (<usize>(8 + j) << 2)), e3 = load<i32>(d + (<usize>(12 + j) << 2));
        const o = out + (<usize>t << 2) + (<usize>u << 1);
        store<i16>(o + <usize>j * vRegion, <i16>(e0 - e2));
        store<i16>(o + <usize>(4 + j) * vRegion, <i16>(e1 + e2));
        store<i16>(o + <usize>(8 + j) * vRegion, <i16>(e2 - e1));
        store<i16>(o + <usize>(12 + j) * vRegion, <i16>(e1 - e3));
      }
    }
  }
}

/**
 * Y = (Aᵀ·M·A) >> 2 + bias of tile-row r (one channel) of the 16 GEMM tiles, for the 8 tiles:
 * YB holds Y[a][b] as i32 lanes over tiles, vector (2a + b)·2 + half.
 */
function outputTransform(r: i32, b: i32): void {
  for (let h = 0; h < 2; h++) {
    const base = TILES + (<usize>r << 5) + (<usize>h << 4);
    if (ASC_FEATURE_SIMD) {
      // M·A per patch row i (row i of ξ = 4i + j at base + 512i + 128j), then Aᵀ·(M·A).
      let m0 = v128.load(base), m1 = v128.load(base, 128), m2 = v128.load(base, 256), m3 = v128.load(base, 384);
      const s00 = i32x4.add(i32x4.add(m0, m1), m2), s01 = i32x4.sub(i32x4.sub(m1, m2), m3);
      m0 = v128.load(base, 512); m1 = v128.load(base, 640); m2 = v128.load(base, 768); m3 = v128.load(base, 896);
      const s10 = i32x4.add(i32x4.add(m0, m1), m2), s11 = i32x4.sub(i32x4.sub(m1, m2), m3);
      m0 = v128.load(base, 1024); m1 = v128.load(base, 1152); m2 = v128.load(base, 1280); m3 = v128.load(base, 1408);
      const s20 = i32x4.add(i32x4.add(m0, m1), m2), s21 = i32x4.sub(i32x4.sub(m1, m2), m3);
      m0 = v128.load(base, 1536); m1 = v128.load(base, 1664); m2 = v128.load(base, 1792); m3 = v128.load(base, 1920);
      const s30 = i32x4.add(i32x4.add(m0, m1), m2), s31 = i32x4.sub(i32x4.sub(m1, m2), m3);
      const bv = i32x4.splat(b);
      const o = YB + (<usize>h << 4);
      v128.store(o, i32x4.add(i32x4.shr_s(i32x4.add(i32x4.add(s00, s10), s20), 2), bv));
      v128.store(o, i32x4.add(i32x4.shr_s(i32x4.add(i32x4.add(s01, s11), s21), 2), bv), 32);
      v128.store(o, i32x4.add(i32x4.shr_s(i32x4.sub(i32x4.sub(s10, s20), s30), 2), bv), 64);
      v128.store(o, i32x4.add(i32x4.shr_s(i32x4.sub(i32x4.sub(s11, s21), s31), 2), bv), 96);
      continue;
    }
    for (let t = 0; t < 4; t++) {
      const at = base + (<usize>t << 2);
      const s = memory.data(8 * 4, 4);
      for (let i = 0; i < 4; i++) {
        const row = at + (<usize>(4 * i) << 7);
        const m0 = load<i32>(row), m1 = load<i32>(row, 128), m2 = load<i32>(row, 256), m3 = load<i32>(row, 384);
        store<i32>(s + (<usize>(2 * i) << 2), m0 + m1 + m2);
        store<i32>(s + (<usize>(2 * i + 1) << 2), m1 - m2 - m3);
      }
      for (let col = 0; col < 2; col++) {
        const x0 = load<i32>(s + (<usize>col << 2)), x1 = load<i32>(s + (<usize>(2 + col) << 2));
        const x2 = load<i32>(s + (<usize>(4 + col) << 2)), x3 = load<i32>(s + (<usize>(6 + col) << 2));
        const o = YB + (<usize>h << 4) + (<usize>t << 2);
        store<i32>(o + (<usize>col << 5), ((x0 + x1 + x2) >> 2) + b);
        store<i32>(o + (<usize>(2 + col) << 5), ((x1 - x2 - x3) >> 2) + b);
      }
    }
  }
}

/**
 * Stores YB (channel ch, tile row th, tiles tw0..tw0+7) at yc (the channel's output plane):
 * two rows of 16 outputs, clipped to OH × OW.
 */
function storeBlock(yc: usize, eb: usize, ch: i32, th: i32, tw0: i32): void {
  const oh = 2 * th, ow = 2 * tw0;
  if (ASC_FEATURE_SIMD && lanesRequantise() && oh + 1 < OH && ow + 16 <= OW) {
    // The descriptor's own bias, which storeOne would add (the conv bias is in YB already).
    const db = i32x4.splat(biasOf(0, ch));
    const sc = scaleSplat(0, ch);
    const k0 = rqConst(0), k1 = rqConst(1), k2 = rqConst(2), k3 = rqConst(3), k4 = rqConst(4), k5 = rqConst(5);
    for (let a: usize = 0; a < 2; a++) {
      const y = YB + (a << 6);
      // Columns b = 0, 1 of tiles 0..7, requantised, narrowed to bytes [Y0 t0..7 | Y1 t0..7], interleaved.
      const q0 = requantRegs(i32x4.add(v128.load(y), db), sc, k0, k1, k2, k3, k4, k5);
      const q1 = requantRegs(i32x4.add(v128.load(y, 16), db), sc, k0, k1, k2, k3, k4, k5);
      const q2 = requantRegs(i32x4.add(v128.load(y, 32), db), sc, k0, k1, k2, k3, k4, k5);
      const q3 = requantRegs(i32x4.add(v128.load(y, 48), db), sc, k0, k1, k2, k3, k4, k5);
      const q = narrowLanes(q0, q1, q2, q3);
      const at = yc + (<usize>(oh + <i32>a) * <usize>OW + <usize>ow) * eb;
      v128.store(at, v128.shuffle<u8>(q, q, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15));
    }
    return;
  }
  for (let a = 0; a < 2; a++) {
    if (oh + a >= OH) break;
    for (let t = 0; t < 8; t++) for (let col = 0; col < 2; col++) {
      const x = ow + 2 * t + col;
      if (x >= OW) continue;
      const v = load<i32>(YB + (<usize>((2 * a + col) * 8 + t) << 2));
      storeOne(v, yc + (<usize>(oh + a) * <usize>OW + <usize>x) * eb, 0, ch);
    }
  }
}

/**
 * y = epilogue(conv(x − x_zp, W − w_zp) + bias) for a 2-D 3×3 stride-1 dilation-1 conv with at
 * most WINO_MAX_C input channels per group (see the header); arguments as conv_i8, with up from
 * pack_w_wino_i8 (every group's U back to back, conv_w_wino_i8_bytes(M, C) each) and scratch
 * conv_wino_i8_scratch_bytes(d) bytes, 16-byte aligned. Returns 0, or 1 when the descriptor is
 * malformed or not such a conv.
 */
export function conv_wino_i8(d: usize, x: usize, xSigned: i32, xZp: usize, up: usize, bias: usize, epi: usize, y: usize, scratch: usize): i32 {
  if (setEpilogue(epi) || !winogradShape(d)) return 1;
  const NB = desc(d, G_N), G = desc(d, G_G), M = desc(d, G_M);
  const TH = (OH + 1) >> 1, TW = (OW + 1) >> 1;
  setWinogradVolume(TH, roundUp(TW, 8));
  const eb = <usize>outElemBytes();
  const plane = <usize>OH * <usize>OW * eb;
  const inBytes = <usize>C * <usize>IH * <usize>IW;
  const region = uRegion(M, C);
  const panelBytes = <usize>CP << 4;
  const v = scratch + paddedBytes();
  const vRegion = <usize>CP << 5;
  const zx = xZp ? ld8(xZp, xSigned) : 0;
  for (let n = 0; n < NB; n++) {
    for (let g = 0; g < G; g++) {
      padInput(x + <usize>(n * G + g) * inBytes, xSigned, zx, scratch);
      const yg = y + <usize>(n * G + g) * <usize>M * plane;
      const ug = up + <usize>g * 16 * region;
      for (let th = 0; th < TH; th++) {
        for (let tw0 = 0; tw0 < TW; tw0 += 8) {
          inputTransform(scratch, th, tw0, v);
          for (let m0 = 0; m0 < M; m0 += 4) {
            const pu = ug + <usize>(m0 >> 2) * panelBytes;
            for (let xi = 0; xi < 16; xi++) {
              dot4x8_i16(pu + <usize>xi * region, ONE_TAP, 1, CP, 16, v + <usize>xi * vRegion, TILES + (<usize>xi << 7));
            }
            for (let r = 0; r < min(4, M - m0); r++) {
              const ch = g * M + m0 + r;
              outputTransform(r, bias ? load<i32>(bias + (<usize>ch << 2)) : 0);
              storeBlock(yg + <usize>(m0 + r) * plane, eb, ch, th, tw0);
            }
          }
        }
      }
    }
  }
  return 0;
}
