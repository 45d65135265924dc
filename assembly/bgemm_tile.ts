// The XNOR-popcount microkernel of the binary GEMM / conv (SIMD builds): popcounts of one bit
// row against 8 column rows at a time, the columns split once into a "panel" that every row
// reuses.
//
// Nibble split: a 128-bit block B becomes two vectors, L = B and 0x0f, H = (B >> 4) and 0x0f per
// byte, so popcount(a xor b) over the block = Σ lanes T[aL xor bL] + T[aH xor bH], T the 16-entry
// nibble popcount table looked up by one swizzle per 16 nibbles. With the columns split into
// the panel, a row·column·block costs 6 vector ops (2 xor, 2 lookups, 2 adds) instead of 8
// (xor, and, shift, and, 2 lookups, 2 adds); the row's own split (3 ops) is shared by the 8
// columns. The relaxed build looks up with i8x16.relaxed_swizzle (pshufb), the simd128 build
// with i8x16.swizzle (its index clamp costs one op more, still ahead of i8x16.popcnt there).
// On x64 (Node 20) the loop runs near its vector-ALU bound (6 ops a row·column·block on 4
// pipes; V8 does not fold the panel loads into the xor). Measured slower or no faster: 2 rows ×
// 4 columns sharing panel loads (8-23 % slower), rows pre-split once into a buffer (no gain),
// the block loop unrolled by 2 (3-10 % slower).
//
// The columns are one group of the weights' 8-row panels (bitpanel.ts), read in memory order.
// Counters: per column a u8 lane vector gains ≤ 8 per block, so a call covers ≤ MAX_BLOCKS = 31
// blocks (≤ 248) before widening to i32. The split panel holds the group's blocks
// [kb0, kb0+kc), block-major: block i, column j at PANEL + (8·i + j)·32 (L, then H). The last
// block of a column row is ANDed with the mask of its real bits when split, so split padding is
// 0 and a row's padding bits each count 1 — mk1x8 gives them back (padPop).
// Half tail (a last block of ≤ 64 real bits, e.g. K = 9·64): only its low 8 bytes hold real bits,
// so their two nibble halves share one vector — the column's split is [L low 8 | H low 8], the
// row's likewise (one shuffle) — and the block costs 3 ops a column instead of 6; the row's high
// 8 bytes are never read, so padPop counts padding bits of the low 8 only.

/** Columns per panel and per microkernel call. */
export const COLS: i32 = 8;
/** Blocks per microkernel call (u8 counters: 31 · 8 = 248 ≤ 255). */
export const MAX_BLOCKS: i32 = 31;

const PANEL: usize = memory.data(COLS * MAX_BLOCKS * 32, 16);
/** Nibble popcounts 0..15. */
const TABLE: usize = memory.data<u8>([0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4], 16);
/** The mask of the real bits of the last 128-bit block of a row (setTail). */
const TAIL: usize = memory.data(16, 16);

let tailBlock: i32 = -1;
let halfTail: bool = false;

/** Records the mask of the last block of K-bit rows (none when K is a multiple of 128). */
export function setTail(K: i32): void {
  const KB = (K + 127) >> 7;
  const bits = K - ((KB - 1) << 7);
  tailBlock = bits < 128 ? KB - 1 : -1;
  halfTail = bits <= 64;
  for (let j = 0; j < 4; j++) {
    const n = min(32, max(0, bits - 32 * j));
    store<u32>(TAIL + (<usize>j << 2), n == 32 ? 0xffffffff : (<u32>1 << n) - 1);
  }
}

/** popcount of the padding bits (past K, see setTail) of the bit row `a` of KB blocks. */
function padPop(a: usize): i32 {
  if (tailBlock < 0) return 0;
  const p = a + (<usize>tailBlock << 4);
  const lo = <i32>popcnt(load<u64>(p) & ~load<u64>(TAIL));
  return halfTail ? lo : lo + <i32>popcnt(load<u64>(p, 8) & ~load<u64>(TAIL, 8));
}

/** Whether the panel blocks [kb0, kb0+kc) end with a half tail (mk1x8's `half`). */
export function halfTailAt(kb0: i32, kc: i32): bool {
  return halfTail && tailBlock == kb0 + kc - 1;
}

/** popcount((a xor b) and the tail mask) over block kb, b the block's address in the panels. */
export function tailPop(a: usize, b: usize, kb: i32): i32 {
  const p = a + (<usize>kb << 4);
  return <i32>(popcnt((load<u64>(p) ^ load<u64>(b)) & load<u64>(TAIL)) + popcnt((load<u64>(p, 8) ^ load<u64>(b, 8)) & load<u64>(TAIL, 8)));
}

/** Splits blocks [kb0, kb0+kc) of the 8-row panel group at `group` (KB blocks a row). */
export function splitPanel(group: usize, kb0: i32, kc: i32): void {
  const src = group + (<usize>kb0 << 7);
  for (let i: usize = 0; i < <usize>(kc << 3); i++) splitBlock(PANEL + (i << 5), v128.load(src + (i << 4)));
  const t = tailBlock - kb0;
  if (t >= 0 && t < kc) {
    const at = src + (<usize>t << 7);
    for (let j: usize = 0; j < <usize>COLS; j++) {
      const dst = PANEL + (((<usize>t << 3) + j) << 5);
      const v = v128.and(v128.load(at + (j << 4)), v128.load(TAIL));
      if (halfTail) v128.store(dst, halves(v));
      else splitBlock(dst, v);
    }
  }
}

// @ts-ignore: decorator
@inline function splitBlock(dst: usize, v: v128): void {
  const nib = i8x16.splat(15);
  v128.store(dst, v128.and(v, nib));
  v128.store(dst, v128.and(i16x8.shr_u(v, 4), nib), 16);
}

/** [low nibbles of bytes 0..7 | high nibbles of bytes 0..7] (a half tail's split). */
// @ts-ignore: decorator
@inline function halves(v: v128): v128 {
  const nib = i8x16.splat(15);
  return v128.shuffle<i64>(v128.and(v, nib), v128.and(i16x8.shr_u(v, 4), nib), 0, 2);
}

// @ts-ignore: decorator
@inline function lookup(table: v128, idx: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(table, idx);
  return i8x16.swizzle(table, idx);
}

/** u8 lane counters → i32 lanes, each the sum of 4 counters (i16 sums ≤ 496, so dot_i16x8 is exact). */
// @ts-ignore: decorator
@inline function widen(p: v128): v128 {
  return i32x4.dot_i16x8_s(i16x8.extadd_pairwise_i8x16_u(p), i16x8.splat(1));
}

/** [Σ lanes of s0, Σ s1, Σ s2, Σ s3] (a transposed reduction: 6 shuffles, 3 adds). */
// @ts-ignore: decorator
@inline function reduce4(s0: v128, s1: v128, s2: v128, s3: v128): v128 {
  const t0 = i32x4.add(v128.shuffle<i32>(s0, s1, 0, 4, 1, 5), v128.shuffle<i32>(s0, s1, 2, 6, 3, 7));
  const t1 = i32x4.add(v128.shuffle<i32>(s2, s3, 0, 4, 1, 5), v128.shuffle<i32>(s2, s3, 2, 6, 3, 7));
  return i32x4.add(v128.shuffle<i32>(t0, t1, 0, 1, 4, 5), v128.shuffle<i32>(t0, t1, 2, 3, 6, 7));
}

// @ts-ignore: decorator
@inline function count(p: v128, table: v128, xl: v128, xh: v128, col: usize): v128 {
  return i8x16.add(i8x16.add(p, lookup(table, v128.xor(xl, v128.load(col)))), lookup(table, v128.xor(xh, v128.load(col, 16))));
}

// @ts-ignore: decorator
@inline function count2(table: v128, xl: v128, xh: v128, col: usize): v128 {
  return i8x16.add(lookup(table, v128.xor(xl, v128.load(col))), lookup(table, v128.xor(xh, v128.load(col, 16))));
}

// @ts-ignore: decorator
@inline function countHalf(p: v128, table: v128, xq: v128, col: usize): v128 {
  return i8x16.add(p, lookup(table, v128.xor(xq, v128.load(col))));
}

/**
 * For each of `rows` rows a, a+lda, …, c the popcounts of row xor column j over the kc
 * (≤ MAX_BLOCKS) panel blocks, the row at the panel's first block: row i's 8 dots at acc + 32·i
 * (two i32x4) become base − 2·c when `first` (a at the rows' first block; base = valid[i], or
 * K + 2·padPop(row) when valid is 0), else dots − 2·c. half: the last block is a half tail.
 */
export function mk1x8(a: usize, lda: usize, rows: i32, kc: i32, acc: usize, first: bool, half: bool, valid: usize, K: i32): void {
  const table = v128.load(TABLE);
  const nib = i8x16.splat(15);
  const full = half ? kc - 1 : kc;
  for (let r = 0; r < rows; r++) {
    const ar = a + <usize>r * lda;
    let p0 = i32x4.splat(0), p1 = i32x4.splat(0), p2 = i32x4.splat(0), p3 = i32x4.splat(0);
    let p4 = i32x4.splat(0), p5 = i32x4.splat(0), p6 = i32x4.splat(0), p7 = i32x4.splat(0);
    // Block 0 starts the counters (count2, no adds onto zeros: 8 adds a row fewer than a loop from 0).
    if (full > 0) {
      const x = v128.load(ar);
      const xl = v128.and(x, nib), xh = v128.and(i16x8.shr_u(x, 4), nib);
      p4 = count2(table, xl, xh, PANEL + 128);
      p5 = count2(table, xl, xh, PANEL + 160);
      p6 = count2(table, xl, xh, PANEL + 192);
      p7 = count2(table, xl, xh, PANEL + 224);
      p0 = count2(table, xl, xh, PANEL);
      p1 = count2(table, xl, xh, PANEL + 32);
      p2 = count2(table, xl, xh, PANEL + 64);
      p3 = count2(table, xl, xh, PANEL + 96);
    }
    for (let i = 1; i < full; i++) {
      const x = v128.load(ar + (<usize>i << 4));
      const xl = v128.and(x, nib), xh = v128.and(i16x8.shr_u(x, 4), nib);
      const col = PANEL + (<usize>i << 8);
      // Columns 4..7 first: V8 (Node 20) emits this body in that order anyway, and written so
      // each load stays beside its use — in 0..7 order it hoists 8 loads and spills registers.
      p4 = count(p4, table, xl, xh, col + 128);
      p5 = count(p5, table, xl, xh, col + 160);
      p6 = count(p6, table, xl, xh, col + 192);
      p7 = count(p7, table, xl, xh, col + 224);
      p0 = count(p0, table, xl, xh, col);
      p1 = count(p1, table, xl, xh, col + 32);
      p2 = count(p2, table, xl, xh, col + 64);
      p3 = count(p3, table, xl, xh, col + 96);
    }
    if (half) {
      const xq = halves(v128.load(ar + (<usize>full << 4)));
      const col = PANEL + (<usize>full << 8);
      p4 = countHalf(p4, table, xq, col + 128);
      p5 = countHalf(p5, table, xq, col + 160);
      p6 = countHalf(p6, table, xq, col + 192);
      p7 = countHalf(p7, table, xq, col + 224);
      p0 = countHalf(p0, table, xq, col);
      p1 = countHalf(p1, table, xq, col + 32);
      p2 = countHalf(p2, table, xq, col + 64);
      p3 = countHalf(p3, table, xq, col + 96);
    }
    const out = acc + (<usize>r << 5);
    let lo: v128, hi: v128;
    if (kc <= NARROW_BLOCKS) {
      lo = sum4Narrow(p0, p1, p2, p3);
      hi = sum4Narrow(p4, p5, p6, p7);
    } else {
      lo = reduce4(widen(p0), widen(p1), widen(p2), widen(p3));
      hi = reduce4(widen(p4), widen(p5), widen(p6), widen(p7));
    }
    let b0: v128, b1: v128;
    if (first) {
      b0 = b1 = i32x4.splat(valid ? load<i32>(valid + (<usize>r << 2)) : K + 2 * padPop(ar));
    } else {
      b0 = v128.load(out);
      b1 = v128.load(out, 16);
    }
    v128.store(out, i32x4.sub(b0, i32x4.shl(lo, 1)));
    v128.store(out, i32x4.sub(b1, i32x4.shl(hi, 1)), 16);
  }
}

/** Calls of at most this many blocks sum their u8 counters with sum4Narrow (partial sums ≤ 32·7 = 224). */
const NARROW_BLOCKS: i32 = 7;

/**
 * [Σ lanes of p0, Σ p1, Σ p2, Σ p3] for u8 counters ≤ 8·NARROW_BLOCKS: pairwise byte sums, then
 * two rounds of "narrow two vectors to bytes, pairwise sums" (the sums stay ≤ 255, so the
 * saturating narrow is exact), then i16 pairs to i32 — 12 ops where widen + reduce4 take 17.
 */
// @ts-ignore: decorator
@inline function sum4Narrow(p0: v128, p1: v128, p2: v128, p3: v128): v128 {
  const q01 = i16x8.extadd_pairwise_i8x16_u(i8x16.narrow_i16x8_u(i16x8.extadd_pairwise_i8x16_u(p0), i16x8.extadd_pairwise_i8x16_u(p1)));
  const q23 = i16x8.extadd_pairwise_i8x16_u(i8x16.narrow_i16x8_u(i16x8.extadd_pairwise_i8x16_u(p2), i16x8.extadd_pairwise_i8x16_u(p3)));
  return i32x4.dot_i16x8_s(i16x8.extadd_pairwise_i8x16_u(i8x16.narrow_i16x8_u(q01, q23)), i16x8.splat(1));
}

// @ts-ignore: decorator
@inline function countRaw(p: v128, table: v128, x: v128, y: v128): v128 {
  const nib = i8x16.splat(15);
  const z = v128.xor(x, y);
  return i8x16.add(i8x16.add(p, lookup(table, v128.and(z, nib))), lookup(table, v128.and(i16x8.shr_u(z, 4), nib)));
}

/**
 * mk1x8 without the split, for few rows (splitting costs more than it saves there): the 8
 * column rows of a panel group read in place, b at the group's block for a's first block.
 */
export function mk1x8_direct(a: usize, b: usize, kc: i32, acc: usize, first: bool): void {
  const table = v128.load(TABLE);
  let p0 = i32x4.splat(0), p1 = i32x4.splat(0), p2 = i32x4.splat(0), p3 = i32x4.splat(0);
  let p4 = i32x4.splat(0), p5 = i32x4.splat(0), p6 = i32x4.splat(0), p7 = i32x4.splat(0);
  for (let i = 0; i < kc; i++) {
    const x = v128.load(a + (<usize>i << 4));
    const y = b + (<usize>i << 7);
    p4 = countRaw(p4, table, x, v128.load(y, 64));
    p5 = countRaw(p5, table, x, v128.load(y, 80));
    p6 = countRaw(p6, table, x, v128.load(y, 96));
    p7 = countRaw(p7, table, x, v128.load(y, 112));
    p0 = countRaw(p0, table, x, v128.load(y));
    p1 = countRaw(p1, table, x, v128.load(y, 16));
    p2 = countRaw(p2, table, x, v128.load(y, 32));
    p3 = countRaw(p3, table, x, v128.load(y, 48));
  }
  let lo = reduce4(widen(p0), widen(p1), widen(p2), widen(p3));
  let hi = reduce4(widen(p4), widen(p5), widen(p6), widen(p7));
  if (!first) {
    lo = i32x4.add(lo, v128.load(acc));
    hi = i32x4.add(hi, v128.load(acc, 16));
  }
  v128.store(acc, lo);
  v128.store(acc, hi, 16);
}
