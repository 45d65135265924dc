import { describe, expect, it } from 'vitest';
import { ALL_BACKENDS, KernelBox, randomF32, rng } from '../support/kernels.js';

// 2-D 3×3 stride-1 convolutions in the descriptor order of assembly/conv_geom.ts.
interface Geom { N: number; G: number; C: number; M: number; IH: number; IW: number; PH: number; PW: number; OH: number; OW: number }

const descOf = (g: Geom, chunk = 0) => new Int32Array([
  g.N, g.G, g.C, g.M, 1, g.IH, g.IW, 1, 3, 3, 1, 1, 1, 1, 1, 1, 0, g.PH, g.PW, 1, g.OH, g.OW, chunk,
]);

const ref = new KernelBox('scalar');

function convRef(g: Geom, x: Float32Array, w: Float32Array, bias: Float32Array | undefined): Float32Array {
  ref.reset();
  const out = g.N * g.G * g.M * g.OH * g.OW;
  const y = ref.alloc(out * 4);
  ref.call('conv_f32__ref', ref.put(descOf(g)), ref.put(x), ref.put(w), bias ? ref.put(bias) : 0, y);
  return ref.f32(y, out);
}

/** Scratch bytes of conv_winograd_f32 (its header comment); mirrors src/ops/conv-winograd.ts. */
function scratchBytes(g: Geom, chunk: number): number {
  const rb = 8 * Math.ceil(Math.ceil(g.OW / 2) / 4) + 4;
  return 16 * (Math.ceil(chunk / 8) * g.C * 32 + g.M * chunk * 4 + 128) + 16 * rb;
}

function runWinograd(box: KernelBox, g: Geom, x: Float32Array, w: Float32Array, bias: Float32Array | undefined, chunk: number, act: number, lo: number, hi: number): Float32Array {
  box.reset();
  const uBytes = 16 * Math.ceil(g.M / 4) * g.C * 16;
  const pw = box.put(w);
  const u = box.alloc(g.G * uBytes);
  for (let i = 0; i < g.G; i++) box.call('winograd_filter_f32', pw + i * g.M * g.C * 36, u + i * uBytes, g.M, g.C);
  const out = g.N * g.G * g.M * g.OH * g.OW;
  const y = box.alloc(out * 4);
  const scratch = box.alloc(scratchBytes(g, chunk));
  box.call('conv_winograd_f32', box.put(descOf(g, chunk)), box.put(x), u, bias ? box.put(bias) : 0, y, scratch, act, lo, hi);
  return box.f32(y, out);
}

/**
 * The error bound: |got − want| ≤ 2⁻¹⁶·(Σ|w·x| + |b|) per output, Σ|w·x| over the 9·C taps
 * (the reference run on |x|, |w|). F(2×2, 3×3) rounds in the transforms (inputs summed 4 at a
 * time, U with halves), in the C-long GEMM sums and in the 9-term output transform; the worst
 * seen on these shapes (C up to 256) is 2⁻²⁰·⁹ of the magnitude, so 2⁻¹⁶ leaves ~30× headroom
 * while a wrong tap, a dropped tile or a missing bias is off by orders of magnitude more.
 */
const REL = 2 ** -16;

function within(got: Float32Array, want: Float32Array, mag: Float32Array, what: string): void {
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= REL * mag[i])) expect.fail(`${what} [${i}]: ${got[i]} vs ${want[i]} (Σ|w·x| + |b| = ${mag[i]})`);
  }
}

function geom(p: Partial<Geom> & { IH: number; IW: number }, endH: number, endW: number): Geom {
  const g = { N: 1, G: 1, C: 1, M: 1, PH: 0, PW: 0, OH: 0, OW: 0, ...p };
  g.OH = g.IH + g.PH + endH - 2;
  g.OW = g.IW + g.PW + endW - 2;
  return g;
}

function randomGeom(r: () => number): Geom {
  const ri = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const p = { N: ri(1, 2), G: ri(1, 3), C: ri(1, 21), M: ri(1, 19), PH: ri(0, 2), PW: ri(0, 2), IH: ri(1, 17), IW: ri(1, 23) };
  const endH = ri(0, 2), endW = ri(0, 2);
  p.IH = Math.max(p.IH, 3 - p.PH - endH);
  p.IW = Math.max(p.IW, 3 - p.PW - endW);
  return geom(p, endH, endW);
}

/** Shapes that pin the edges: partial tiles, tile rows not a multiple of 4 or 8, pads 0/1/2. */
const PINNED: { name: string; g: Geom }[] = [
  { name: 'resnet-like 16→16 pad 1, 14×14 (TW 7: groups cross panels)', g: geom({ C: 16, M: 16, IH: 14, IW: 14, PH: 1, PW: 1 }, 1, 1) },
  { name: 'odd 9×11 pad 1 (partial edge tiles both ways), C 5, M 9', g: geom({ C: 5, M: 9, IH: 9, IW: 11, PH: 1, PW: 1 }, 1, 1) },
  { name: 'unpadded 10×19, C 17, M 6', g: geom({ C: 17, M: 6, IH: 10, IW: 19 }, 0, 0) },
  { name: 'asymmetric pads 2/0 and 0/2, batch 2, 2 groups', g: geom({ N: 2, G: 2, C: 3, M: 5, IH: 8, IW: 9, PH: 2, PW: 0 }, 0, 2) },
  { name: 'one output pixel', g: geom({ C: 4, M: 4, IH: 3, IW: 3 }, 0, 0) },
  { name: 'deep C 256 (long GEMM sums), M 8', g: geom({ C: 256, M: 8, IH: 9, IW: 9, PH: 1, PW: 1 }, 1, 1) },
  { name: 'wide row 5×70 (TW 35, many panels per row), C 8, M 12', g: geom({ C: 8, M: 12, IH: 5, IW: 70, PH: 1, PW: 1 }, 1, 1) },
];

describe.each(ALL_BACKENDS)('conv_winograd_f32 (%s)', (backend) => {
  const box = new KernelBox(backend);

  const check = (g: Geom, seed: number, what: string) => {
    const r = rng(seed);
    const x = randomF32(r, g.N * g.G * g.C * g.IH * g.IW);
    const w = randomF32(r, g.G * g.M * g.C * 9);
    const bias = r() < 0.8 ? randomF32(r, g.G * g.M) : undefined;
    const want = convRef(g, x, w, bias);
    const mag = convRef(g, x.map(Math.abs), w.map(Math.abs), bias?.map(Math.abs));
    const tiles = Math.ceil(g.OH / 2) * Math.ceil(g.OW / 2);
    for (const chunk of [8, 3, 16, tiles]) {
      within(runWinograd(box, g, x, w, bias, chunk, 0, 0, 0), want, mag, `${what} seed ${seed} chunk ${chunk} ${JSON.stringify(g)}`);
    }
    within(runWinograd(box, g, x, w, bias, 8, 1, 0, 0), want.map((v) => Math.max(v, 0)), mag, `${what} relu seed ${seed}`);
    within(runWinograd(box, g, x, w, bias, 24, 2, -0.5, 0.25), want.map((v) => Math.min(Math.max(v, -0.5), 0.25)), mag, `${what} clamp seed ${seed}`);
  };

  it.each(PINNED)('$name', ({ name, g }) => check(g, 7, name));

  it('matches conv_f32__ref on random ragged geometries (pads, groups, batch, odd sizes)', () => {
    for (let seed = 1; seed <= 40; seed++) check(randomGeom(rng(seed)), seed, 'random');
  });

  it('winograd_filter_f32 packs U = G·w·Gᵀ as the GEMM A operand, rows past M zero', () => {
    // w[m, c] = m + 1 at the centre tap only: Uξ = (m + 1)·(G e₁)(G e₁)ᵀ with G e₁ = [0, ½, −½, 0].
    const M = 5, C = 2;
    const w = new Float32Array(M * C * 9);
    for (let m = 0; m < M; m++) for (let c = 0; c < C; c++) w[(m * C + c) * 9 + 4] = m + 1;
    box.reset();
    const region = Math.ceil(M / 4) * C * 16;
    const u = box.alloc(16 * region);
    box.call('winograd_filter_f32', box.put(w), u, M, C);
    const got = box.f32(u, 16 * region / 4);
    const ge = [0, 0.5, -0.5, 0];
    for (let xi = 0; xi < 16; xi++) {
      for (let m = 0; m < 8; m++) {
        for (let c = 0; c < C; c++) {
          const v = got[(xi * region + (m >> 2) * C * 16 + c * 16 + (m & 3) * 4) / 4];
          expect(v).toBe(m < M ? (m + 1) * ge[xi >> 2] * ge[xi & 3] + 0 : 0);
        }
      }
    }
  });
});
