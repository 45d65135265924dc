import { describe, expect, it } from 'vitest';
import { ALL_BACKENDS, KernelBox, randomF32, rng } from '../support/kernels.js';

// Geometry in the descriptor order of assembly/conv_geom.ts (3-D; lower ranks lead with 1s).
interface Geom {
  N: number; G: number; C: number; M: number;
  I: number[]; K: number[]; S: number[]; D: number[]; P: number[]; O: number[];
}

const descOf = (g: Geom, chunk = 0) => new Int32Array([g.N, g.G, g.C, g.M, ...g.I, ...g.K, ...g.S, ...g.D, ...g.P, ...g.O, chunk]);
const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);
const kvol = (g: Geom) => prod(g.K);

const ref = new KernelBox('scalar');

/** A random geometry of spatial rank 1–3; `transpose` picks ConvTranspose output sizes. */
function randomGeom(r: () => number, transpose: boolean): Geom {
  const ri = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const rank = ri(1, 3);
  const g: Geom = { N: ri(1, 2), G: ri(1, 3), C: ri(1, 5), M: ri(1, 9), I: [1, 1, 1], K: [1, 1, 1], S: [1, 1, 1], D: [1, 1, 1], P: [0, 0, 0], O: [1, 1, 1] };
  for (let i = 3 - rank; i < 3; i++) {
    const maxI = rank === 3 ? 6 : rank === 2 ? 13 : 40;
    g.I[i] = ri(1, maxI);
    g.K[i] = ri(1, 3);
    g.S[i] = ri(1, 3);
    g.D[i] = ri(1, 2);
    const span = (g.K[i] - 1) * g.D[i] + 1;
    g.P[i] = ri(0, Math.min(2, span - 1));
    const end = ri(0, 2);
    if (transpose) {
      g.O[i] = g.S[i] * (g.I[i] - 1) + span - g.P[i] - end + ri(0, g.S[i] - 1);
      if (g.O[i] < 1) g.O[i] = 1;
    } else {
      if (g.I[i] + g.P[i] + end < span) g.I[i] = span;
      g.O[i] = Math.floor((g.I[i] + g.P[i] + end - span) / g.S[i]) + 1;
    }
  }
  return g;
}

function close(got: Float32Array, want: Float32Array, K: number, what: string): void {
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= 1e-5 * (1 + Math.abs(want[i])) + 1e-6 * K)) {
      expect.fail(`${what} [${i}]: ${got[i]} vs ${want[i]}`);
    }
  }
}

function convRef(g: Geom, x: Float32Array, w: Float32Array, bias: Float32Array | undefined, kernel: string): Float32Array {
  ref.reset();
  const out = g.N * g.G * g.M * prod(g.O);
  const y = ref.alloc(out * 4);
  ref.call(kernel, ref.put(descOf(g)), ref.put(x), ref.put(w), bias ? ref.put(bias) : 0, y);
  return ref.f32(y, out);
}

function runConv(box: KernelBox, g: Geom, x: Float32Array, w: Float32Array, bias: Float32Array | undefined, chunk: number, act: number, lo: number, hi: number): Float32Array {
  box.reset();
  const K = g.C * kvol(g);
  const apBytes = Math.ceil(g.M / 4) * K * 16;
  const pw = box.put(w);
  const wp = box.alloc(g.G * apBytes);
  for (let i = 0; i < g.G; i++) box.call('pack_a_f32', pw + i * g.M * K * 4, K, wp + i * apBytes, g.M, K);
  const out = g.N * g.G * g.M * prod(g.O);
  const y = box.alloc(out * 4);
  const scratch = box.alloc(chunk * K * 32);
  box.call('conv_f32', box.put(descOf(g, chunk)), box.put(x), wp, bias ? box.put(bias) : 0, y, scratch, act, lo, hi);
  return box.f32(y, out);
}

function runConvDepthwise(box: KernelBox, g: Geom, x: Float32Array, w: Float32Array, bias: Float32Array | undefined, act: number, lo: number, hi: number): Float32Array {
  box.reset();
  const out = g.N * g.G * g.M * prod(g.O);
  const y = box.alloc(out * 4);
  box.call('conv_dw_f32', box.put(descOf(g)), box.put(x), box.put(w), bias ? box.put(bias) : 0, y, act, lo, hi);
  return box.f32(y, out);
}

function runConvTranspose(box: KernelBox, g: Geom, x: Float32Array, w: Float32Array, bias: Float32Array | undefined, chunk: number): Float32Array {
  box.reset();
  const rows = g.M * kvol(g);
  const P = prod(g.I);
  const apBytes = Math.ceil(rows / 4) * g.C * 16;
  const pw = box.put(w);
  const wp = box.alloc(g.G * apBytes);
  for (let i = 0; i < g.G; i++) box.call('pack_at_f32', pw + i * g.C * rows * 4, rows, wp + i * apBytes, rows, g.C);
  const out = g.N * g.G * g.M * prod(g.O);
  const y = box.alloc(out * 4);
  const scratch = box.alloc(Math.ceil(P / 8) * g.C * 32 + rows * chunk * 32);
  box.call('conv_transpose_f32', box.put(descOf(g, chunk)), box.put(x), wp, bias ? box.put(bias) : 0, y, scratch);
  return box.f32(y, out);
}

const geom = (p: Partial<Geom> & { I: number[]; K: number[] }): Geom => {
  const g: Geom = { N: 1, G: 1, C: 1, M: 1, S: [1, 1, 1], D: [1, 1, 1], P: [0, 0, 0], O: [1, 1, 1], ...p };
  return g;
};

/** Shapes that pin each fast path and its edges (2-D unless the name says otherwise). */
const PINNED: { name: string; g: Geom; end: number[] }[] = [
  { name: '3x3 pad 1 stride 1, OW=19 (panels cross rows, SIMD run and pad edges)', g: geom({ C: 5, M: 9, I: [1, 9, 19], K: [1, 3, 3], P: [0, 1, 1] }), end: [0, 1, 1] },
  { name: '1x1 stride 1 unpadded, M=64', g: geom({ C: 7, M: 64, I: [1, 6, 21], K: [1, 1, 1] }), end: [0, 0, 0] },
  { name: '3x3 stride 2 pad 1, OW=12 (stride-2 SIMD gather)', g: geom({ C: 3, M: 8, I: [1, 7, 24], K: [1, 3, 3], S: [1, 2, 2], P: [0, 1, 1] }), end: [0, 1, 1] },
  { name: 'depthwise 3x3, 7 groups', g: geom({ G: 7, C: 1, M: 1, I: [1, 10, 11], K: [1, 3, 3], P: [0, 1, 1] }), end: [0, 1, 1] },
  { name: 'depthwise 5x5 pad 2, OW=29 (8- and 4-wide interior runs)', g: geom({ G: 3, C: 1, M: 1, I: [1, 6, 29], K: [1, 5, 5], P: [0, 2, 2] }), end: [0, 2, 2] },
  { name: 'depthwise 3x3 stride 2 pad 1, OW=19 (stride-2 vector blocks)', g: geom({ G: 5, C: 1, M: 1, I: [1, 9, 37], K: [1, 3, 3], S: [1, 2, 2], P: [0, 1, 1] }), end: [0, 1, 1] },
  { name: 'depthwise 5x5 stride 2 pad 2, dilation 2 along W', g: geom({ G: 2, C: 1, M: 1, I: [1, 8, 41], K: [1, 5, 5], S: [1, 2, 2], D: [1, 1, 2], P: [0, 2, 2] }), end: [0, 2, 1] },
  { name: 'depthwise 3-D 3x3x3, dilation 2', g: geom({ G: 2, C: 1, M: 1, I: [5, 7, 16], K: [3, 3, 3], D: [1, 2, 2], P: [1, 2, 2] }), end: [1, 1, 2] },
  { name: 'depthwise multiplier 2, dilation 2, stride 3', g: geom({ G: 4, C: 1, M: 2, I: [1, 17, 29], K: [1, 3, 3], S: [1, 3, 3], D: [1, 2, 2], P: [0, 2, 2] }), end: [0, 0, 1] },
  { name: 'asymmetric pads 2/0 and 0/2', g: geom({ C: 2, M: 5, I: [1, 8, 9], K: [1, 3, 2], P: [0, 2, 0] }), end: [0, 0, 2] },
  { name: '1-D, 3 groups, OW=1', g: geom({ G: 3, C: 2, M: 3, I: [1, 1, 4], K: [1, 1, 4] }), end: [0, 0, 0] },
  { name: '3-D 3x3x3 pad 1', g: geom({ C: 3, M: 6, I: [5, 6, 7], K: [3, 3, 3], P: [1, 1, 1] }), end: [1, 1, 1] },
];

for (const c of PINNED) {
  for (let i = 0; i < 3; i++) {
    const span = (c.g.K[i] - 1) * c.g.D[i] + 1;
    c.g.O[i] = Math.floor((c.g.I[i] + c.g.P[i] + c.end[i] - span) / c.g.S[i]) + 1;
  }
}

describe('conv references', () => {
  it('compute the definitions on small hand-checked cases', () => {
    // 1-D conv, x = [1,2,3,4], w = [1,0,−1], pads 1/1: y[o] = x[o−1] − x[o+1].
    const conv = convRef(geom({ I: [1, 1, 4], K: [1, 1, 3], P: [0, 0, 1], O: [1, 1, 4] }), new Float32Array([1, 2, 3, 4]), new Float32Array([1, 0, -1]), undefined, 'conv_f32__ref');
    expect([...conv]).toEqual([-2, -2, -2, 3]);
    // 1-D transposed, x = [1,2], w = [1,2,3], stride 2, bias 0.5: [1, 2, 3+2, 4, 6] + 0.5.
    const tr = convRef(geom({ I: [1, 1, 2], K: [1, 1, 3], S: [1, 1, 2], O: [1, 1, 5] }), new Float32Array([1, 2]), new Float32Array([1, 2, 3]), new Float32Array([0.5]), 'conv_transpose_f32__ref');
    expect([...tr]).toEqual([1.5, 2.5, 5.5, 4.5, 6.5]);
  });
});

describe.each(ALL_BACKENDS)('conv_f32, conv_dw_f32 and conv_transpose_f32 (%s)', (backend) => {
  const box = new KernelBox(backend);

  const checkConv = (g: Geom, seed: number, what: string) => {
    const r = rng(seed);
    const K = g.C * kvol(g);
    const x = randomF32(r, g.N * g.G * g.C * prod(g.I));
    const w = randomF32(r, g.G * g.M * K);
    const bias = r() < 0.8 ? randomF32(r, g.G * g.M) : undefined;
    const want = convRef(g, x, w, bias, 'conv_f32__ref');
    const chunks = [1, 3, Math.ceil(prod(g.O) / 8)];
    for (const chunk of chunks) {
      close(runConv(box, g, x, w, bias, chunk, 0, 0, 0), want, K, `${what} seed ${seed} chunk ${chunk} ${JSON.stringify(g)}`);
    }
    const relu = want.map((v) => Math.max(v, 0));
    const clamp = want.map((v) => Math.min(Math.max(v, -0.5), 0.25));
    close(runConv(box, g, x, w, bias, 2, 1, 0, 0), relu, K, `${what} relu seed ${seed}`);
    close(runConv(box, g, x, w, bias, 2, 2, -0.5, 0.25), clamp, K, `${what} clamp seed ${seed}`);
    if (g.C !== 1) return;
    close(runConvDepthwise(box, g, x, w, bias, 0, 0, 0), want, K, `${what} conv_dw_f32 seed ${seed}`);
    close(runConvDepthwise(box, g, x, w, bias, 1, 0, 0), relu, K, `${what} conv_dw_f32 relu seed ${seed}`);
    close(runConvDepthwise(box, g, x, w, bias, 2, -0.5, 0.25), clamp, K, `${what} conv_dw_f32 clamp seed ${seed}`);
  };

  it.each(PINNED)('Conv: $name', ({ name, g }) => checkConv(g, 99, name));

  it('Conv matches the reference on random ragged geometries (rank 1–3, groups, strides, dilations, pads)', () => {
    for (let seed = 1; seed <= 60; seed++) checkConv(randomGeom(rng(seed), false), seed, 'random');
  });

  it('conv_dw_f32 and Conv match the reference on random one-channel-per-group geometries', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const g = randomGeom(rng(500 + seed), false);
      g.C = 1;
      g.G = 1 + (seed % 5);
      checkConv(g, 500 + seed, 'random depthwise');
    }
  });

  it('ConvTranspose matches the reference on random geometries (output_padding and cropping included)', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const r = rng(1000 + seed);
      const g = randomGeom(r, true);
      const x = randomF32(r, g.N * g.G * g.C * prod(g.I));
      const w = randomF32(r, g.G * g.C * g.M * kvol(g));
      const bias = r() < 0.7 ? randomF32(r, g.G * g.M) : undefined;
      const want = convRef(g, x, w, bias, 'conv_transpose_f32__ref');
      for (const chunk of [1, 2, Math.ceil(prod(g.I) / 8)]) {
        close(runConvTranspose(box, g, x, w, bias, chunk), want, g.C * kvol(g), `transpose seed ${1000 + seed} chunk ${chunk} ${JSON.stringify(g)}`);
      }
    }
  });

  it('ConvTranspose: stride 2 4x4 pad 1 (upsampling decoder), 2 groups, 9 channels', () => {
    const g = geom({ G: 2, C: 9, M: 5, I: [1, 7, 13], K: [1, 4, 4], S: [1, 2, 2], P: [0, 1, 1], O: [1, 14, 26] });
    const r = rng(5);
    const x = randomF32(r, g.G * g.C * prod(g.I));
    const w = randomF32(r, g.G * g.C * g.M * kvol(g));
    const bias = randomF32(r, g.G * g.M);
    const want = convRef(g, x, w, bias, 'conv_transpose_f32__ref');
    for (const chunk of [1, 3, 12]) close(runConvTranspose(box, g, x, w, bias, chunk), want, g.C * 16, `decoder chunk ${chunk}`);
  });
});
