// Binary GEMM / GEMV (XNOR-popcount): C[m, n] = epilogue(Σ_k A[m, k]·B[n, k]) over ±1 values.
//
//   bgemm_b1b1(a, b, c, M, N, K, ldc, epi) → 0, or 1 on a bad epilogue descriptor / size
//     a    M bit rows of K elements (activations, packed per call by pack_signs_f32)
//     b    N rows of K elements in 8-row panels (weights, packed once per session by
//          pack_weights_b1_f32, bitpanel.ts; B is N×K = "transB")
//     c    kind I32/F32: M×N row-major, leading dimension ldc elements;
//          kind SIGN: M bit rows of N elements (the next layer's `a`), padding bits zeroed
//     epi  binary epilogue descriptor (bgemm_epilogue.ts); output channel = n
//   bgemm_b1b1__ref: the same on the plain layout — a, b int8 ±1 (M×K, N×K), SIGN output as
//     int8 ±1 (M×N, ldc); it never reads a bit row.
//
// The maths: with a set bit meaning −1, a·w = +1 where the bits agree and −1 where they differ,
// so over the K real elements Σ a·w = K − 2·popcount(a xor w). Only real bits count, so the
// padding past K may hold anything (masked, or counted and subtracted, see below).
//
// Tiles (SIMD builds, bgemm_tile.ts): 1 row × 8 columns, the 8 column rows (one group of the
// weight panels) split once into a nibble panel that every row reuses; rows go by in chunks of
// 64 — one microkernel call, then one store pass through the epilogue — and K in calls of ≤ 31
// blocks (balanced: ⌈KB/31⌉ calls of equal length) whose dots add up in the chunk's
// accumulator. The split's padding is masked to 0, so a row's padding bits count as
// differences and are given back (padPop). Fewer than 4 rows (GEMV) read the panels in place
// instead (directRows). Exact for K < 2^31.
//
// The conv's padded taps (bconv_b1b1.ts, setTapCorrection): its im2col rows hold 0 bits at taps
// outside the input, which count popcount(w over those taps) as differences; the counts of each
// column's bits per tap (corrW) give them back: dot = valid − 2·(pop − Σ_invalid taps corrW).

import { bit_row_bytes } from './bitpack';
import {
  BEPI_SIGN, bias4, epilogueKind, scale4, setBinaryEpilogue, signD4, signIsNegative, signT4, storeDot, storeDots4, storeDots4x4T,
  storeSigns8,
} from './bgemm_epilogue';
import { COLS, MAX_BLOCKS, halfTailAt, mk1x8, mk1x8_direct, setTail, splitPanel, tailPop } from './bgemm_tile';
import { panelBlock } from './bitpanel';

/** Fewer rows than this skip the panel (bgemm_tile.ts): splitting costs more than it saves. */
const PANEL_MIN_ROWS: i32 = 4;
/** Rows per accumulator chunk (one microkernel call and one store pass each). */
const ROWS: i32 = 64;
/** Popcounts of ROWS rows × 8 columns (i32). */
const ACC: usize = memory.data(ROWS * COLS * 4, 16);

// Tap corrections (0 when corrW is 0): per row r, corrCount[r] invalid taps listed at
// corrList + r·corrCap (i32 tap indices); corrW i32 [tap][corrStride], column n at index n;
// the rows with a nonzero count, ascending, at corrRows (corrRowCount of them, setTapRows).
let corrW: usize = 0;
let corrStride: i32 = 0;
let corrCount: usize = 0;
let corrList: usize = 0;
let corrCap: i32 = 0;
let corrRows: usize = 0;
let corrRowCount: i32 = 0;

/** Sets (or with w = 0 clears) the tap corrections of the next bgemmCore calls (see the top). */
export function setTapCorrection(w: usize, stride: i32, counts: usize, list: usize, cap: i32): void {
  corrW = w;
  corrStride = stride;
  corrCount = counts;
  corrList = list;
  corrCap = cap;
}

/** Sets the rows that have tap corrections (ascending i32 row indices) for the next bgemmCore call. */
export function setTapRows(rows: usize, n: i32): void {
  corrRows = rows;
  corrRowCount = n;
}

/** popcount(a xor b) over the K real bits of bit row a and row n of panels b, scalar (u64 words). */
function popRow(a: usize, b: usize, KB: i32, n: i32, K: i32): i32 {
  let pop: i64 = 0;
  for (let kb = 0; kb < KB; kb++) {
    const p = a + (<usize>kb << 4), q = panelBlock(b, KB, n, kb);
    const bits = min(128, K - (kb << 7));
    let lo = load<u64>(p) ^ load<u64>(q), hi = load<u64>(p, 8) ^ load<u64>(q, 8);
    if (bits < 128) {
      lo &= bits >= 64 ? <u64>-1 : (<u64>1 << bits) - 1;
      hi &= bits <= 64 ? 0 : (<u64>1 << (bits - 64)) - 1;
    }
    pop += popcnt(lo) + popcnt(hi);
  }
  return <i32>pop;
}

/** Σ over row r's invalid taps of corrW[tap][n]. */
function tapCorrection(r: i32, n: i32): i32 {
  const cnt = load<i32>(corrCount + (<usize>r << 2));
  const list = corrList + ((<usize>r * <usize>corrCap) << 2);
  let s = 0;
  for (let i = 0; i < cnt; i++) {
    s += load<i32>(corrW + ((<usize>load<i32>(list + (<usize>i << 2)) * <usize>corrStride + <usize>n) << 2));
  }
  return s;
}

/**
 * The shared driver: dots of R bit rows of `a` (stride lda bytes) against the N rows of the
 * 8-row panels `b` (bitpanel.ts) over K bits, stored through the current epilogue (storeDot
 * addressing) with output channel ch0 + n. valid: 0, or an i32 per row — then row r's dot is
 * valid[r] − 2·popcount, less the tap corrections when they are set, and the rows are the conv's
 * im2col rows, whose padding bits are 0 (not discounted).
 */
export function bgemmCore(
  a: usize, lda: i32, R: i32, b: usize, N: i32, K: i32, valid: usize,
  c: usize, crs: i32, ccs: i32, cbit: i32, ch0: i32,
): void {
  const la = <usize>lda;
  const KB = (K + 127) >> 7;
  if (!ASC_FEATURE_SIMD || K == 0) {
    for (let r = 0; r < R; r++) {
      const ar = a + <usize>r * la;
      const v = valid ? load<i32>(valid + (<usize>r << 2)) : K;
      const fix = corrW != 0 && load<i32>(corrCount + (<usize>r << 2)) != 0;
      for (let n = 0; n < N; n++) {
        const corr = fix ? tapCorrection(r, n) : 0;
        storeDot(c, crs, ccs, cbit, r, n, ch0 + n, v - 2 * (popRow(ar, b, KB, n, K) - corr));
      }
    }
    return;
  }
  setTail(K);
  if (R < PANEL_MIN_ROWS) {
    directRows(a, la, R, b, N, K, KB, valid, c, crs, ccs, cbit, ch0);
    return;
  }
  const calls = (KB + MAX_BLOCKS - 1) / MAX_BLOCKS;
  const kc = (KB + calls - 1) / calls;
  for (let n0 = 0; n0 < N; n0 += COLS) {
    const nv = min(COLS, N - n0);
    const group = panelBlock(b, KB, n0, 0);
    for (let r0 = 0; r0 < R; r0 += ROWS) {
      const rc = min(ROWS, R - r0);
      for (let kb0 = 0; kb0 < KB; kb0 += kc) {
        const kn = min(kc, KB - kb0);
        // With one call per row the panel is split once for all rows.
        if (calls > 1 || r0 == 0) splitPanel(group, kb0, kn);
        // The conv's rows (valid given) are its im2col rows, whose padding is 0.
        mk1x8(a + <usize>r0 * la + (<usize>kb0 << 4), la, rc, kn, ACC, kb0 == 0, halfTailAt(kb0, kn), valid ? valid + (<usize>r0 << 2) : 0, K);
      }
      if (corrW != 0) addTapCorrections(ACC, r0, rc, n0);
      storeRows(ACC, r0, rc, n0, nv, c, crs, ccs, cbit, ch0);
    }
  }
}

/**
 * bgemmCore for few rows: mk1x8_direct over the whole blocks, the masked last block counted
 * with scalar popcounts (so no padding is counted).
 */
function directRows(
  a: usize, la: usize, R: i32, b: usize, N: i32, K: i32, KB: i32, valid: usize,
  c: usize, crs: i32, ccs: i32, cbit: i32, ch0: i32,
): void {
  const full = (K & 127) ? KB - 1 : KB;
  const calls = (full + MAX_BLOCKS - 1) / MAX_BLOCKS;
  const kc = calls ? (full + calls - 1) / calls : 0;
  for (let n0 = 0; n0 < N; n0 += COLS) {
    const nv = min(COLS, N - n0);
    const group = panelBlock(b, KB, n0, 0);
    for (let r = 0; r < R; r++) {
      const ar = a + <usize>r * la;
      v128.store(ACC, i32x4.splat(0));
      v128.store(ACC, i32x4.splat(0), 16);
      // The group's rows past N (panel padding) are counted too; their columns are not stored.
      for (let kb0 = 0; kb0 < full; kb0 += kc) {
        mk1x8_direct(ar + (<usize>kb0 << 4), group + (<usize>kb0 << 7), min(kc, full - kb0), ACC, false);
      }
      if (full < KB) {
        for (let j = 0; j < nv; j++) {
          const p = ACC + (<usize>j << 2);
          store<i32>(p, load<i32>(p) + tailPop(ar, group + (<usize>full << 7) + (<usize>j << 4), full));
        }
      }
      const v = i32x4.splat(valid ? load<i32>(valid + (<usize>r << 2)) : K);
      v128.store(ACC, i32x4.sub(v, i32x4.shl(v128.load(ACC), 1)));
      v128.store(ACC, i32x4.sub(v, i32x4.shl(v128.load(ACC, 16), 1)), 16);
      if (corrW != 0) addTapCorrections(ACC, r, 1, n0);
      storeRows(ACC, r, 1, n0, nv, c, crs, ccs, cbit, ch0);
    }
  }
}

/**
 * Adds the tap corrections of the rows with corrections among r0..r0+rows−1 (2·Σ corrW over
 * each row's invalid taps) to their 8 dots (columns n0..n0+7) at p, 32 bytes a row.
 */
function addTapCorrections(p: usize, r0: i32, rows: i32, n0: i32): void {
  // corrStride is a multiple of 8, so columns n0..n0+7 are inside a tap's row of corrW.
  const w0 = corrW + (<usize>n0 << 2), stride = <usize>corrStride << 2;
  for (let k = 0; k < corrRowCount; k++) {
    const r = load<i32>(corrRows + (<usize>k << 2));
    if (r < r0) continue;
    if (r >= r0 + rows) break;
    const cnt = load<i32>(corrCount + (<usize>r << 2));
    const list = corrList + ((<usize>r * <usize>corrCap) << 2);
    const q = p + (<usize>(r - r0) << 5);
    for (let i = 0; i < cnt; i++) {
      const w = w0 + <usize>load<i32>(list + (<usize>i << 2)) * stride;
      v128.store(q, i32x4.add(v128.load(q), i32x4.shl(v128.load(w), 1)));
      v128.store(q, i32x4.add(v128.load(q, 16), i32x4.shl(v128.load(w, 16), 1)), 16);
    }
  }
}

/** Stores the dots of rows r..r+rows−1 (8 a row at p, 32 bytes apart), columns n0..n0+nv−1. */
function storeRows(p: usize, r: i32, rows: i32, n0: i32, nv: i32, c: usize, crs: i32, ccs: i32, cbit: i32, ch0: i32): void {
  const ch = ch0 + n0;
  if (nv < COLS) {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < nv; j++) storeDot(c, crs, ccs, cbit, r + i, n0 + j, ch + j, load<i32>(p + (<usize>(i * COLS + j) << 2)));
    }
    return;
  }
  if (epilogueKind() == BEPI_SIGN) {
    const t0 = signT4(ch), d0 = signD4(ch), t1 = signT4(ch + 4), d1 = signD4(ch + 4);
    for (let i = 0; i < rows; i++) {
      const row = p + (<usize>i << 5);
      storeSigns8(c + <usize>(r + i) * <usize>crs, cbit + n0, v128.load(row), v128.load(row, 16), t0, d0, t1, d1);
    }
    return;
  }
  // The 8 channels' scales and biases, loaded once for all rows.
  const s0 = scale4(ch), s1 = scale4(ch + 4), b0 = bias4(ch), b1 = bias4(ch + 4);
  let i = 0;
  if (crs == 1 && ccs != 1) {
    for (; i + 4 <= rows; i += 4) {
      const q = p + (<usize>i << 5);
      storeDots4x4T(c, ccs, r + i, n0, s0, b0, v128.load(q), v128.load(q, 32), v128.load(q, 64), v128.load(q, 96));
      storeDots4x4T(c, ccs, r + i, n0 + 4, s1, b1, v128.load(q, 16), v128.load(q, 48), v128.load(q, 80), v128.load(q, 112));
    }
  }
  for (; i < rows; i++) {
    const row = p + (<usize>i << 5);
    storeDots4(c, crs, ccs, r + i, n0, s0, b0, v128.load(row));
    storeDots4(c, crs, ccs, r + i, n0 + 4, s1, b1, v128.load(row, 16));
  }
}

/** Zeroes the padding bits past `used` of `rows` bit rows of `rowBytes` (stride rowBytes). */
export function clearRowPadding(c: usize, rows: i32, rowBytes: i32, used: i32): void {
  if (used >= rowBytes << 3) return;
  const w = <usize>(used >> 5) << 2;
  const keep: u32 = (<u32>1 << (used & 31)) - 1;
  for (let r = 0; r < rows; r++) {
    // Fewer than 128 bits: the word holding bit `used`, then up to 3 whole words.
    const row = c + <usize>r * <usize>rowBytes;
    store<u32>(row + w, load<u32>(row + w) & keep);
    for (let j = w + 4; j < <usize>rowBytes; j += 4) store<u32>(row + j, 0);
  }
}

/** Binary GEMM on bit rows (see the top of this file). */
export function bgemm_b1b1(a: usize, b: usize, c: usize, M: i32, N: i32, K: i32, ldc: i32, epi: usize): i32 {
  if (M < 0 || N < 0 || K < 0 || setBinaryEpilogue(epi) != 0) return 1;
  const rb = bit_row_bytes(K);
  setTapCorrection(0, 0, 0, 0, 0);
  if (epilogueKind() == BEPI_SIGN) {
    const ob = bit_row_bytes(N);
    clearRowPadding(c, M, ob, N);
    bgemmCore(a, rb, M, b, N, K, 0, c, ob, 0, 0, 0);
  } else {
    bgemmCore(a, rb, M, b, N, K, 0, c, ldc, 1, 0, 0);
  }
  return 0;
}

/** Reference on the plain layout: a, b int8 ±1 (M×K, N×K); SIGN output int8 ±1 (M×N, ldc). */
export function bgemm_b1b1__ref(a: usize, b: usize, c: usize, M: i32, N: i32, K: i32, ldc: i32, epi: usize): i32 {
  if (M < 0 || N < 0 || K < 0 || setBinaryEpilogue(epi) != 0) return 1;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let dot = 0;
      for (let k = 0; k < K; k++) {
        dot += <i32>load<i8>(a + <usize>m * <usize>K + <usize>k) * <i32>load<i8>(b + <usize>n * <usize>K + <usize>k);
      }
      storePlain(c, ldc, m, n, n, dot);
    }
  }
  return 0;
}

/** Stores a dot at (r, n) of a plain row-major output (ldc): i32, f32, or int8 ±1 for SIGN. */
export function storePlain(c: usize, ldc: i32, r: i32, n: i32, ch: i32, dot: i32): void {
  if (epilogueKind() == BEPI_SIGN) {
    store<i8>(c + <usize>r * <usize>ldc + <usize>n, signIsNegative(dot, ch) ? -1 : 1);
  } else {
    storeDot(c, ldc, 1, 0, r, n, ch, dot);
  }
}
