// Winograd F(2×2, 3×3) for f32 2-D Conv with 3×3 kernels, stride 1, dilation 1 (Lavin & Gray).
//
// The output is cut into 2×2 tiles, TH = ⌈OH/2⌉ by TW = ⌈OW/2⌉ per image (edge tiles are
// computed whole and stored clipped). Tile (th, tw) reads the 4×4 input patch at
// (2·th − PH, 2·tw − PW), zero outside X. With
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],
//   Aᵀ = [1 1 1 0; 0 1 −1 −1],
// per group: U[m,c] = G·w[m,c]·Gᵀ, V[c,t] = Bᵀ·d[c,t]·B, and for each of the 16 transformed
// positions ξ = 4i+j one GEMM Yξ[M, tiles] = Uξ[M, C] · Vξ[C, tiles]; the output tile is
// Aᵀ·Y[m,t]·A (+ bias, + act). 16·M·C MACs per tile instead of 36·M·C.
//
// Layouts: Uξ is packed as the GEMM's A operand (pack_a_f32 layout, ⌈M/4⌉·C·16 bytes, rows past
// M zero) and the 16 Uξ of a group lie back to back (winograd_filter_f32). Tiles are processed
// a block of `chunk` (descriptor G_CHUNK) at a time so Vξ and Yξ of a block stay in L2 between
// the transforms and the GEMMs: Vξ is written straight into gemm_f32_pp's 8-column B-panel
// layout (panel p: C rows of 8 tiles), Yξ is row-major M × chunk.
//
// Scratch: 16 Vξ (⌈chunk/8⌉·C·32 + 64 bytes each), 16 Yξ (M·chunk·4 + 64 bytes each), then 4
// zero-padded input rows of RB = 8·⌈TW/4⌉ + 4 floats. The 64 bytes after each region keep the
// 16 streams the transforms write (Vξ) or read (Yξ) at once off a common L1 set when the region
// size is a multiple of 4 KiB; they are also the slack a ragged group's 4-lane Y loads run into.
//
// The SIMD builds transform 4 tiles of one tile row per vector (lane = tile); the scalar build
// one tile at a time.

import { desc } from './common';
import { G_C, G_CHUNK, G_G, G_IN, G_M, G_N, G_OUT, G_PAD } from './conv_geom';
import { gemm_f32_pp } from './gemm_f32';

/** Spill area for ragged groups (4 lanes × 16 positions, or 2 rows × 8 outputs). */
const LANES: usize = memory.data(16 * 16, 16);
/** Column-transformed rows of the scalar build's tile (4 × 4). */
const ROWS: usize = memory.data(16 * 4, 16);

// @ts-ignore: decorator
@inline function rowFloats(TW: i32): i32 {
  return (((TW + 3) >> 2) << 3) + 4;
}

/**
 * U = G·w·Gᵀ for one group: w is [M, C, 3, 3], u receives the 16 packed Uξ back to back
 * (each ⌈M/4⌉·C·16 bytes; A-operand rows past M are zero).
 */
export function winograd_filter_f32(w: usize, u: usize, M: i32, C: i32): void {
  const region = <usize>((M + 3) >> 2) * <usize>C * 16;
  const Mp = ((M + 3) >> 2) << 2;
  for (let m = 0; m < Mp; m++) {
    for (let c = 0; c < C; c++) {
      const dst = u + <usize>(m >> 2) * <usize>C * 16 + (<usize>c << 4) + (<usize>(m & 3) << 2);
      if (m >= M) {
        for (let xi = 0; xi < 16; xi++) store<f32>(dst + <usize>xi * region, 0);
        continue;
      }
      const g = w + (<usize>(m * C + c) * 9 << 2);
      for (let i = 0; i < 4; i++) {
        // Row i of G·w (three taps along W).
        let r0: f32, r1: f32, r2: f32;
        if (i == 0 || i == 3) {
          const k = i == 0 ? 0 : 6;
          r0 = load<f32>(g + (<usize>k << 2));
          r1 = load<f32>(g + (<usize>(k + 1) << 2));
          r2 = load<f32>(g + (<usize>(k + 2) << 2));
        } else {
          const s: f32 = i == 1 ? 0.5 : -0.5;
          r0 = 0.5 * (load<f32>(g) + load<f32>(g, 24)) + s * load<f32>(g, 12);
          r1 = 0.5 * (load<f32>(g, 4) + load<f32>(g, 28)) + s * load<f32>(g, 16);
          r2 = 0.5 * (load<f32>(g, 8) + load<f32>(g, 32)) + s * load<f32>(g, 20);
        }
        const base = dst + <usize>(i * 4) * region;
        store<f32>(base, r0);
        store<f32>(base + region, 0.5 * (r0 + r2) + 0.5 * r1);
        store<f32>(base + 2 * region, 0.5 * (r0 + r2) - 0.5 * r1);
        store<f32>(base + 3 * region, r2);
      }
    }
  }
}

/**
 * Fills the 4 padded rows for tiles tw0.. of tile row th of channel plane `xc`: row r, float j
 * is X[2·th − PH + r, 2·tw0 − PW + j] (0 outside X), j < width.
 */
function fillRows(xc: usize, buf: usize, RB: i32, th: i32, tw0: i32, width: i32, IH: i32, IW: i32, PH: i32, PW: i32): void {
  const col0 = 2 * tw0 - PW;
  for (let r = 0; r < 4; r++) {
    const dst = buf + (<usize>(r * RB) << 2);
    const ih = 2 * th - PH + r;
    let j = 0;
    if (<u32>ih >= <u32>IH) {
      for (; j < width; j++) store<f32>(dst + (<usize>j << 2), 0);
      continue;
    }
    const src = xc + (<usize>(ih * IW) << 2);
    // Left pad, then 4-float copies while inside the row, then the right pad.
    for (; j < width && col0 + j < 0; j++) store<f32>(dst + (<usize>j << 2), 0);
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= width && col0 + j + 4 <= IW; j += 4) {
        v128.store(dst + (<usize>j << 2), v128.load(src + (<usize>(col0 + j) << 2)));
      }
    }
    for (; j < width && col0 + j < IW; j++) store<f32>(dst + (<usize>j << 2), load<f32>(src + (<usize>(col0 + j) << 2)));
    for (; j < width; j++) store<f32>(dst + (<usize>j << 2), 0);
  }
}

/** Address of Vξ[c, t] for ξ = 0 (add ξ·vRegion): panel t/8, row c, lane t%8. */
// @ts-ignore: decorator
@inline function vAt(v: usize, C: i32, c: i32, t: i32): usize {
  return v + <usize>(t >> 3) * <usize>C * 32 + (<usize>c << 5) + (<usize>(t & 7) << 2);
}

/**
 * V for tiles t..t+3 of channel c from the padded rows at float column 2k, stored with one
 * vector per ξ when the 4 tiles are consecutive lanes of one B panel (`at` = Vξ=0 address of
 * tile t); otherwise through the spill area, lane by lane.
 */
function inputGroup4(buf: usize, RB: i32, k: i32, v: usize, vRegion: usize, C: i32, c: i32, t: i32, lanes: i32): void {
  const rb = <usize>RB << 2;
  const p0 = buf + (<usize>(2 * k) << 2);
  const p1 = p0 + rb, p2 = p1 + rb, p3 = p2 + rb;
  // Column part per input row r (lanes: 4 tiles, stride 2 in the row; taps d0..d3):
  // h_r = [d0 − d2, d1 + d2, d2 − d1, d1 − d3]. Written out so every value stays a local.
  let a = v128.load(p0), b = v128.load(p0, 16), e = v128.load(p0, 32);
  let d0 = v128.shuffle<f32>(a, b, 0, 2, 4, 6), d1 = v128.shuffle<f32>(a, b, 1, 3, 5, 7);
  let d2 = v128.shuffle<f32>(d0, e, 1, 2, 3, 4), d3 = v128.shuffle<f32>(d1, e, 1, 2, 3, 5);
  const h00 = f32x4.sub(d0, d2), h01 = f32x4.add(d1, d2), h02 = f32x4.sub(d2, d1), h03 = f32x4.sub(d1, d3);
  a = v128.load(p2); b = v128.load(p2, 16); e = v128.load(p2, 32);
  d0 = v128.shuffle<f32>(a, b, 0, 2, 4, 6); d1 = v128.shuffle<f32>(a, b, 1, 3, 5, 7);
  d2 = v128.shuffle<f32>(d0, e, 1, 2, 3, 4); d3 = v128.shuffle<f32>(d1, e, 1, 2, 3, 5);
  const h20 = f32x4.sub(d0, d2), h21 = f32x4.add(d1, d2), h22 = f32x4.sub(d2, d1), h23 = f32x4.sub(d1, d3);
  a = v128.load(p1); b = v128.load(p1, 16); e = v128.load(p1, 32);
  d0 = v128.shuffle<f32>(a, b, 0, 2, 4, 6); d1 = v128.shuffle<f32>(a, b, 1, 3, 5, 7);
  d2 = v128.shuffle<f32>(d0, e, 1, 2, 3, 4); d3 = v128.shuffle<f32>(d1, e, 1, 2, 3, 5);
  const h10 = f32x4.sub(d0, d2), h11 = f32x4.add(d1, d2), h12 = f32x4.sub(d2, d1), h13 = f32x4.sub(d1, d3);
  a = v128.load(p3); b = v128.load(p3, 16); e = v128.load(p3, 32);
  d0 = v128.shuffle<f32>(a, b, 0, 2, 4, 6); d1 = v128.shuffle<f32>(a, b, 1, 3, 5, 7);
  d2 = v128.shuffle<f32>(d0, e, 1, 2, 3, 4); d3 = v128.shuffle<f32>(d1, e, 1, 2, 3, 5);
  const h30 = f32x4.sub(d0, d2), h31 = f32x4.add(d1, d2), h32 = f32x4.sub(d2, d1), h33 = f32x4.sub(d1, d3);
  // Row part: V_0j = h0j − h2j, V_1j = h1j + h2j, V_2j = h2j − h1j, V_3j = h1j − h3j.
  const direct = lanes == 4 && (t & 7) <= 4;
  const dst = direct ? vAt(v, C, c, t) : LANES;
  const step: usize = direct ? vRegion : 16;
  v128.store(dst, f32x4.sub(h00, h20));
  v128.store(dst + step, f32x4.sub(h01, h21));
  v128.store(dst + 2 * step, f32x4.sub(h02, h22));
  v128.store(dst + 3 * step, f32x4.sub(h03, h23));
  v128.store(dst + 4 * step, f32x4.add(h10, h20));
  v128.store(dst + 5 * step, f32x4.add(h11, h21));
  v128.store(dst + 6 * step, f32x4.add(h12, h22));
  v128.store(dst + 7 * step, f32x4.add(h13, h23));
  v128.store(dst + 8 * step, f32x4.sub(h20, h10));
  v128.store(dst + 9 * step, f32x4.sub(h21, h11));
  v128.store(dst + 10 * step, f32x4.sub(h22, h12));
  v128.store(dst + 11 * step, f32x4.sub(h23, h13));
  v128.store(dst + 12 * step, f32x4.sub(h10, h30));
  v128.store(dst + 13 * step, f32x4.sub(h11, h31));
  v128.store(dst + 14 * step, f32x4.sub(h12, h32));
  v128.store(dst + 15 * step, f32x4.sub(h13, h33));
  if (direct) return;
  for (let xi = 0; xi < 16; xi++) {
    for (let l = 0; l < lanes; l++) {
      store<f32>(vAt(v, C, c, t + l) + <usize>xi * vRegion, load<f32>(LANES + (<usize>(xi * 4 + l) << 2)));
    }
  }
}

/** V for one tile (scalar build): the 4×4 patch at float column 2k of the padded rows. */
function inputTile1(buf: usize, RB: i32, k: i32, v: usize, vRegion: usize, C: i32, c: i32, t: i32): void {
  const rb = <usize>RB << 2;
  const p = buf + (<usize>(2 * k) << 2);
  for (let r = 0; r < 4; r++) {
    const q = p + <usize>r * rb;
    const d0 = load<f32>(q), d1 = load<f32>(q, 4), d2 = load<f32>(q, 8), d3 = load<f32>(q, 12);
    const o = ROWS + (<usize>r << 4);
    store<f32>(o, d0 - d2);
    store<f32>(o, d1 + d2, 4);
    store<f32>(o, d2 - d1, 8);
    store<f32>(o, d1 - d3, 12);
  }
  const at = vAt(v, C, c, t);
  for (let j = 0; j < 4; j++) {
    const h = ROWS + (<usize>j << 2);
    const h0 = load<f32>(h), h1 = load<f32>(h, 16), h2 = load<f32>(h, 32), h3 = load<f32>(h, 48);
    store<f32>(at + <usize>j * vRegion, h0 - h2);
    store<f32>(at + <usize>(4 + j) * vRegion, h1 + h2);
    store<f32>(at + <usize>(8 + j) * vRegion, h2 - h1);
    store<f32>(at + <usize>(12 + j) * vRegion, h1 - h3);
  }
}

/** Input transform of tiles [t0, t0+nb) of one image/group `x` [C, IH, IW] into the 16 Vξ. */
function inputBlock(d: usize, x: usize, t0: i32, nb: i32, v: usize, vRegion: usize, buf: usize): void {
  const C = desc(d, G_C);
  const IH = desc(d, G_IN + 1), IW = desc(d, G_IN + 2);
  const PH = desc(d, G_PAD + 1), PW = desc(d, G_PAD + 2);
  const TW = (desc(d, G_OUT + 2) + 1) >> 1;
  const RB = rowFloats(TW);
  const plane = <usize>(IH * IW) << 2;
  for (let c = 0; c < C; c++) {
    const xc = x + <usize>c * plane;
    for (let t = t0; t < t0 + nb;) {
      const th = t / TW, tw = t % TW;
      const len = min(TW - tw, t0 + nb - t);
      const groups = (len + 3) >> 2;
      fillRows(xc, buf, RB, th, tw, (groups << 3) + 4, IH, IW, PH, PW);
      for (let k = 0; k < len; k += ASC_FEATURE_SIMD ? 4 : 1) {
        if (ASC_FEATURE_SIMD) inputGroup4(buf, RB, k, v, vRegion, C, c, t - t0 + k, min(4, len - k));
        else inputTile1(buf, RB, k, v, vRegion, C, c, t - t0 + k);
      }
      t += len;
    }
  }
}

// @ts-ignore: decorator
@inline function actv(v: v128, act: i32, lo: f32, hi: f32): v128 {
  if (act == 1) return f32x4.max(v, f32x4.splat(0));
  if (act == 2) return f32x4.min(f32x4.max(v, f32x4.splat(lo)), f32x4.splat(hi));
  return v;
}

// @ts-ignore: decorator
@inline function acts(v: f32, act: i32, lo: f32, hi: f32): f32 {
  if (act == 1) return max<f32>(v, 0);
  if (act == 2) return min<f32>(max<f32>(v, lo), hi);
  return v;
}

/** Stores `n` floats of an output row from the spill area (clipped edge tiles). */
// @ts-ignore: decorator
@inline function storeClipped(dst: usize, src: usize, n: i32): void {
  for (let q = 0; q < n; q++) store<f32>(dst + (<usize>q << 2), load<f32>(src + (<usize>q << 2)));
}

/**
 * Output tiles tw..tw+lanes−1 of tile row th, channel row `ym` [OH, OW], from Yξ[m] at `yp`
 * (column t, lanes consecutive; ξ regions yRegion bytes apart): Aᵀ·Y·A + b, act.
 */
function outputGroup4(yp: usize, yRegion: usize, ym: usize, th: i32, tw: i32, lanes: i32, OH: i32, OW: i32, b: f32, act: i32, lo: f32, hi: f32): void {
  // Column part (Y·A) per row i: s_i0 = y_i0 + y_i1 + y_i2, s_i1 = y_i1 − y_i2 − y_i3; row part
  // (Aᵀ·s): output row 0 = s_0 + s_1 + s_2, output row 1 = s_1 − s_2 − s_3.
  let q = yp;
  let y0 = v128.load(q), y1 = v128.load(q + yRegion), y2 = v128.load(q + 2 * yRegion), y3 = v128.load(q + 3 * yRegion);
  let r00 = f32x4.add(f32x4.add(y0, y1), y2), r01 = f32x4.sub(f32x4.sub(y1, y2), y3);
  q += 4 * yRegion;
  y0 = v128.load(q); y1 = v128.load(q + yRegion); y2 = v128.load(q + 2 * yRegion); y3 = v128.load(q + 3 * yRegion);
  let s0 = f32x4.add(f32x4.add(y0, y1), y2), s1 = f32x4.sub(f32x4.sub(y1, y2), y3);
  r00 = f32x4.add(r00, s0); r01 = f32x4.add(r01, s1);
  let r10 = s0, r11 = s1;
  q += 4 * yRegion;
  y0 = v128.load(q); y1 = v128.load(q + yRegion); y2 = v128.load(q + 2 * yRegion); y3 = v128.load(q + 3 * yRegion);
  s0 = f32x4.add(f32x4.add(y0, y1), y2); s1 = f32x4.sub(f32x4.sub(y1, y2), y3);
  r00 = f32x4.add(r00, s0); r01 = f32x4.add(r01, s1);
  r10 = f32x4.sub(r10, s0); r11 = f32x4.sub(r11, s1);
  q += 4 * yRegion;
  y0 = v128.load(q); y1 = v128.load(q + yRegion); y2 = v128.load(q + 2 * yRegion); y3 = v128.load(q + 3 * yRegion);
  s0 = f32x4.add(f32x4.add(y0, y1), y2); s1 = f32x4.sub(f32x4.sub(y1, y2), y3);
  r10 = f32x4.sub(r10, s0); r11 = f32x4.sub(r11, s1);
  const bv = f32x4.splat(b);
  r00 = actv(f32x4.add(r00, bv), act, lo, hi);
  r01 = actv(f32x4.add(r01, bv), act, lo, hi);
  r10 = actv(f32x4.add(r10, bv), act, lo, hi);
  r11 = actv(f32x4.add(r11, bv), act, lo, hi);
  const ow = 2 * tw;
  const n = min(2 * lanes, OW - ow);
  for (let row = 0; row < 2; row++) {
    const oh = 2 * th + row;
    if (oh >= OH) break;
    const e = row == 0 ? r00 : r10, o = row == 0 ? r01 : r11;
    const a = v128.shuffle<f32>(e, o, 0, 4, 1, 5), c = v128.shuffle<f32>(e, o, 2, 6, 3, 7);
    const dst = ym + (<usize>(oh * OW + ow) << 2);
    if (n == 8) {
      v128.store(dst, a);
      v128.store(dst, c, 16);
    } else {
      v128.store(LANES, a);
      v128.store(LANES, c, 16);
      storeClipped(dst, LANES, n);
    }
  }
}

/** Output tile tw of tile row th (scalar build); Yξ[m, t] at `yp`. */
function outputTile1(yp: usize, yRegion: usize, ym: usize, th: i32, tw: i32, OH: i32, OW: i32, b: f32, act: i32, lo: f32, hi: f32): void {
  let r00: f32 = 0, r01: f32 = 0, r10: f32 = 0, r11: f32 = 0;
  for (let i = 0; i < 4; i++) {
    const q = yp + <usize>(4 * i) * yRegion;
    const y0 = load<f32>(q), y1 = load<f32>(q + yRegion), y2 = load<f32>(q + 2 * yRegion), y3 = load<f32>(q + 3 * yRegion);
    const s0 = y0 + y1 + y2, s1 = y1 - y2 - y3;
    if (i < 3) { r00 += s0; r01 += s1; }
    if (i == 1) { r10 += s0; r11 += s1; }
    if (i >= 2) { r10 -= s0; r11 -= s1; }
  }
  const oh = 2 * th, ow = 2 * tw;
  const dst = ym + (<usize>(oh * OW + ow) << 2);
  store<f32>(dst, acts(r00 + b, act, lo, hi));
  if (ow + 1 < OW) store<f32>(dst, acts(r01 + b, act, lo, hi), 4);
  if (oh + 1 >= OH) return;
  const dst1 = dst + (<usize>OW << 2);
  store<f32>(dst1, acts(r10 + b, act, lo, hi));
  if (ow + 1 < OW) store<f32>(dst1, acts(r11 + b, act, lo, hi), 4);
}

/** Output transform of tiles [t0, t0+nb) from the 16 Yξ (M × chunk each) into y [M, OH, OW]. */
function outputBlock(d: usize, yb: usize, yRegion: usize, chunk: i32, t0: i32, nb: i32, y: usize, bias: usize, act: i32, lo: f32, hi: f32): void {
  const M = desc(d, G_M);
  const OH = desc(d, G_OUT + 1), OW = desc(d, G_OUT + 2);
  const TW = (OW + 1) >> 1;
  const plane = <usize>(OH * OW) << 2;
  for (let m = 0; m < M; m++) {
    const b: f32 = bias ? load<f32>(bias + (<usize>m << 2)) : 0;
    const ym = y + <usize>m * plane;
    const yr = yb + (<usize>(m * chunk) << 2);
    for (let t = t0; t < t0 + nb;) {
      const th = t / TW, tw = t % TW;
      const len = min(TW - tw, t0 + nb - t);
      for (let k = 0; k < len; k += ASC_FEATURE_SIMD ? 4 : 1) {
        const yp = yr + (<usize>(t - t0 + k) << 2);
        if (ASC_FEATURE_SIMD) outputGroup4(yp, yRegion, ym, th, tw + k, min(4, len - k), OH, OW, b, act, lo, hi);
        else outputTile1(yp, yRegion, ym, th, tw + k, OH, OW, b, act, lo, hi);
      }
      t += len;
    }
  }
}

/**
 * Conv with a 3×3 kernel, stride 1, dilation 1 (2-D: descriptor depth axes 1) by Winograd
 * F(2×2, 3×3): y = conv(x, W) (+ bias) (+ act as in gemm_f32). `u` holds winograd_filter_f32 of
 * every group back to back (16·⌈M/4⌉·C·16 bytes each); `scratch` holds
 * 16·(⌈chunk/8⌉·C·32 + M·chunk·4 + 128) + 16·RB bytes (header), chunk = descriptor G_CHUNK tiles.
 */
export function conv_winograd_f32(d: usize, x: usize, u: usize, bias: usize, y: usize, scratch: usize, act: i32, lo: f32, hi: f32): void {
  const NB = desc(d, G_N), G = desc(d, G_G), C = desc(d, G_C), M = desc(d, G_M);
  const OH = desc(d, G_OUT + 1), OW = desc(d, G_OUT + 2);
  const T = ((OH + 1) >> 1) * ((OW + 1) >> 1);
  const chunk = desc(d, G_CHUNK);
  const inBytes = <usize>C * <usize>desc(d, G_IN + 1) * <usize>desc(d, G_IN + 2) * 4;
  const outBytes = <usize>M * <usize>(OH * OW) * 4;
  const uRegion = <usize>((M + 3) >> 2) * <usize>C * 16;
  const vRegion = <usize>((chunk + 7) >> 3) * <usize>C * 32 + 64;
  const yRegion = (<usize>(M * chunk) << 2) + 64;
  const v = scratch;
  const yb = v + 16 * vRegion;
  const buf = yb + 16 * yRegion;
  for (let n = 0; n < NB; n++) {
    for (let g = 0; g < G; g++) {
      const xg = x + <usize>(n * G + g) * inBytes;
      const yg = y + <usize>(n * G + g) * outBytes;
      const ug = u + <usize>g * 16 * uRegion;
      const bg = bias ? bias + (<usize>(g * M) << 2) : 0;
      for (let t0 = 0; t0 < T; t0 += chunk) {
        const nb = min(chunk, T - t0);
        inputBlock(d, xg, t0, nb, v, vRegion, buf);
        for (let xi = 0; xi < 16; xi++) {
          gemm_f32_pp(ug + <usize>xi * uRegion, v + <usize>xi * vRegion, yb + <usize>xi * yRegion, chunk, M, nb, C, 0, 0, 0, 0, 0);
        }
        outputBlock(d, yb, yRegion, chunk, t0, nb, yg, bg, act, lo, hi);
      }
    }
  }
}
