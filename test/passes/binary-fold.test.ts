// The epilogue arithmetic of src/passes/binary-epilogue.ts and the binary-fold rule: the JS
// threshold derivation equals the bsign_thresholds kernel's, folds are taken only when exact
// (and then give onnxruntime-node's numbers bit for bit), pool modes follow the sign's direction.

import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { InferenceSession, Tensor } from '../../src/index.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { runPasses } from '../../src/passes/index.js';
import {
  channelFn, exactF32Fold, finiteAtEnds, layerFn, poolModes, signThresholds, withLayer, type LayerEpilogue, type Stage,
} from '../../src/passes/binary-epilogue.js';
import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';
import { ALL_BACKENDS, KernelBox, rng } from '../support/kernels.js';
import { BEPI_F32, putEpi, randomAffine } from '../support/binary.js';
import { chainInput } from '../support/binary-chain-models.js';

const f32s = (xs: number[]) => Float32Array.from(xs);

describe('epilogue arithmetic', () => {
  it('signThresholds equals the bsign_thresholds kernel on the layer epilogue alone', () => {
    const box = new KernelBox('scalar');
    const r = rng(21);
    for (const K of [1, 7, 64, 301]) {
      box.reset();
      const N = 24;
      const a = randomAffine(r, N, K);
      const act = r() < 0.5 ? { act: 0, lo: 0, hi: 0 } : { act: 2, lo: -0.25, hi: 3 };
      const e: LayerEpilogue = { N, K, scale: a.scale!, bias: a.bias, act };
      const thr = box.alloc(8 * N);
      expect(box.call('bsign_thresholds', putEpi(box, { kind: BEPI_F32, scale: a.scale, bias: a.bias, ...act }), N, K, thr)).toBe(0);
      const thresholds = signThresholds(N, K, (ch) => (dot) => layerFn(e, [], ch)(dot) < 0);
      expect([...thresholds!]).toEqual([...box.i32(thr, 2 * N)]);
    }
  });

  it('signThresholds refuses a negative set that is not a threshold set', () => {
    expect(signThresholds(1, 3, () => (dot) => dot === 0)).toBeUndefined();
    expect([...signThresholds(2, 3, (ch) => (dot) => (ch === 0 ? dot < 1 : dot > -2))!]).toEqual([1, 1, 2, -1]);
  });

  it('exactF32Fold takes an Add after a layer without bias and refuses a rounding BatchNorm-like scale', () => {
    const e: LayerEpilogue = { N: 2, K: 50, scale: f32s([0.3, 1.7]), act: { act: 0, lo: 0, hi: 0 } };
    const add: Stage = { op: 'add', c: f32s([0.1, -2.2]) };
    expect(exactF32Fold(e, [add])).toEqual({ scale: e.scale, bias: add.c });
    expect(exactF32Fold(e, [{ op: 'mul', c: f32s([4]) }, add])).toBeDefined();
    expect(exactF32Fold(e, [{ op: 'mul', c: f32s([0.7, 1.3]) }, add])).toBeUndefined();
    expect(exactF32Fold({ ...e, act: { act: 1, lo: 0, hi: 0 } }, [add])).toBeUndefined();
    // Every accepted fold is checked at every dot.
    const r = rng(4);
    let accepted = 0;
    for (let i = 0; i < 200; i++) {
      const stages: Stage[] = [{ op: 'mul', c: f32s([2 ** Math.floor(r() * 8 - 4) * (r() < 0.5 ? -1 : 1)]) }, { op: 'add', c: f32s([r() - 0.5]) }];
      const f = exactF32Fold(e, stages);
      if (!f) continue;
      const folded = { ...e, ...f };
      let same = true;
      for (let dot = -50; dot <= 50; dot++) for (const ch of [0, 1]) same &&= Object.is(layerFn(folded, [], ch)(dot), channelFn(stages, ch)(layerFn(e, [], ch)(dot)));
      expect(same).toBe(true);
      accepted++;
    }
    expect(accepted).toBeGreaterThan(20);
  });

  it('poolModes: AND where the sign after the pool rises with the value, OR where it falls; refuses NaN', () => {
    const e: LayerEpilogue = { N: 3, K: 10, scale: f32s([1, 1, 1]), bias: f32s([0.5, 0, 0]), act: { act: 0, lo: 0, hi: 0 } };
    const post: Stage[] = [{ op: 'mul', c: f32s([2, -1, 0]) }, { op: 'add', c: f32s([-1, 3, -1]) }];
    const pooled = (ch: number) => layerFn(e, [], ch);
    const after = (stages: Stage[]) => (ch: number) => (p: number) => channelFn(stages, ch)(p) < 0;
    // ch 0 increasing (AND), ch 1 decreasing (OR); ch 2 is −1 on every value a tap holds, but an
    // empty window pools to −∞ and −∞·0 − 1 is NaN, +1: OR, whose empty window gives +1 too.
    expect(poolModes(3, 10, pooled, after(post))).toEqual([false, true, true]);
    expect(poolModes(1, 10, pooled, after([{ op: 'add', c: f32s([-100]) }]))).toEqual([false]);
    // f32.max puts −0 below +0: a test that tells them apart still has a pooling mode.
    const zeros = () => (dot: number) => (dot < 0 ? -0 : 0);
    expect(poolModes(1, 3, zeros, () => (p) => p === -Infinity || Object.is(p, -0))).toEqual([false]);
    expect(poolModes(1, 3, zeros, () => (p) => Object.is(p, 0))).toEqual([true]);
    expect(poolModes(1, 3, (_ch) => (dot) => dot, () => (p) => p === 0)).toBeUndefined();
    const nan: LayerEpilogue = { ...e, scale: f32s([3e38, 1, 1]) };
    expect(poolModes(3, 10, (ch) => layerFn(nan, [{ op: 'mul', c: f32s([10]) }, { op: 'mul', c: f32s([0]) }], ch), after([]))).toBeUndefined();
  });
});

describe('monotone shortcut', () => {
  it('gives the thresholds and pool modes that testing every dot gives, on random stage chains', () => {
    const r = rng(33);
    const constant = (): number => {
      const u = r();
      return u < 0.1 ? 0 : u < 0.14 ? -0 : u < 0.26 ? 3e38 * (r() < 0.5 ? -1 : 1) : u < 0.3 ? 1e-30 : u < 0.35 ? Infinity : (r() * 4 - 2);
    };
    const stages = (n: number, N: number): Stage[] => Array.from({ length: n }, (): Stage => {
      const u = r();
      if (u < 0.1) return { op: 'relu' };
      if (u < 0.2) return { op: 'clip', lo: Math.fround(r() * 2 - 1.5), hi: Math.fround(r() * 2 - 0.5) };
      return { op: pick3(u), c: Float32Array.from({ length: r() < 0.5 ? 1 : N }, constant) };
    });
    const pick3 = (u: number): 'mul' | 'add' | 'div' => (u < 0.5 ? 'mul' : u < 0.8 ? 'add' : 'div');
    const negativeAt = (st: Stage[]) => (ch: number) => {
      const z = channelFn(st, ch);
      return (y: number) => z(y) < 0;
    };
    const tally = { shortcut: 0, scanned: 0, refused: 0, poolRefused: 0 };
    for (let i = 0; i < 400; i++) {
      const N = 5;
      const K = 1 + Math.floor(r() * 80);
      const e: LayerEpilogue = { N, K, scale: Float32Array.from({ length: N }, () => r() * 2 - 1), bias: Float32Array.from({ length: N }, () => r() - 0.5), act: { act: 0, lo: 0, hi: 0 } };
      const pre = withLayer(e, stages(Math.floor(r() * 4), N));
      const post = stages(Math.floor(r() * 3), N);
      const all = [...pre, ...post];
      const monotone = (ch: number) => finiteAtEnds(all, ch, -K, K);
      for (let ch = 0; ch < N; ch++) tally[monotone(ch) ? 'shortcut' : 'scanned']++;
      const scan = signThresholds(N, K, negativeAt(all));
      if (!scan) tally.refused++;
      expect(signThresholds(N, K, negativeAt(all), monotone), `case ${i}`).toEqual(scan);
      const pooled = (ch: number) => channelFn(pre, ch);
      const modes = poolModes(N, K, pooled, negativeAt(post));
      if (!modes) tally.poolRefused++;
      expect(poolModes(N, K, pooled, negativeAt(post), (ch, lo, hi) => finiteAtEnds(pre, ch, -K, K) && finiteAtEnds(post, ch, lo, hi)), `case ${i}`).toEqual(modes);
    }
    expect(tally.shortcut).toBeGreaterThan(1000);
    expect(tally.scanned).toBeGreaterThan(300);
    expect(tally.poolRefused).toBeGreaterThan(0);
  });
  it('scans, and refuses, a chain that overflows to NaN away from zero (negative only in the middle)', () => {
    const e: LayerEpilogue = { N: 1, K: 20, scale: f32s([1]), act: { act: 0, lo: 0, hi: 0 } };
    const all = withLayer(e, [{ op: 'mul', c: f32s([3e37]) }, { op: 'mul', c: f32s([0]) }, { op: 'add', c: f32s([-1]) }]);
    expect(finiteAtEnds(all, 0, -20, 20)).toBe(false);
    const z = channelFn(all, 0);
    expect([z(-20), z(0), z(20)]).toEqual([NaN, -1, NaN]);
    expect(signThresholds(1, 20, () => (dot) => z(dot) < 0, () => finiteAtEnds(all, 0, -20, 20))).toBeUndefined();
  });
});

/** x → sign → MatMul ±s (no bias) → `after` → y, ai.onnx form. */
function layerThen(after: (b: OnnxBuilder, h: string) => string, seed: number): Uint8Array {
  const r = rng(seed);
  const b = new OnnxBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [5, 96]);
  const s = b.op('Where', [b.op('Less', [x, b.const('float32', [], [0])]), b.const('float32', [], [-1]), b.const('float32', [], [1])]);
  const sc = Array.from({ length: 12 }, () => (1 + Math.floor(r() * 128) / 128) * 2 ** -Math.floor(r() * 5));
  const w = Float32Array.from({ length: 96 * 12 }, (_, i) => (r() < 0.5 ? -1 : 1) * sc[i % 12]);
  const h = b.op('MatMul', [s, b.init('w', 'float32', [96, 12], w)], {}, { name: 'fc' });
  b.output(b.op('Identity', [after(b, h)], {}, { outputs: ['y'] }), 'float32', null);
  return b.toBytes();
}

const bn = (b: OnnxBuilder, h: string, dyadic: boolean, r: () => number): string => {
  const v = (f: () => number) => b.const('float32', [12], Float32Array.from({ length: 12 }, f));
  const p = dyadic
    ? [v(() => 2 ** Math.floor(r() * 3 - 1)), v(() => Math.round(r() * 64 - 32) / 64), v(() => Math.round(r() * 256 - 128) / 64), v(() => 3.75)]
    : [v(() => 0.5 + r()), v(() => r() - 0.5), v(() => r() * 4 - 2), v(() => 0.2 + r())];
  return b.op('BatchNormalization', [h, ...p], dyadic ? { epsilon: 0.25 } : {});
};

const FOLDS: { name: string; after: (b: OnnxBuilder, h: string) => string; folds: boolean; left: string[] }[] = [
  { name: 'Add per channel (layer without bias)', after: (b, h) => b.op('Add', [h, b.const('float32', [12], Float32Array.from({ length: 12 }, (_, i) => i / 7 - 0.8))]), folds: true, left: ['BinaryMatMul', 'Identity'] },
  { name: 'BatchNorm with power-of-two scales, then Relu', after: (b, h) => b.op('Relu', [bn(b, h, true, rng(1))]), folds: true, left: ['BinaryMatMul', 'Identity'] },
  { name: 'BatchNorm that rounds', after: (b, h) => bn(b, h, false, rng(2)), folds: false, left: ['BinaryMatMul', 'BatchNormalization', 'Identity'] },
  { name: 'Sub of a scalar, then Mul by 0.5', after: (b, h) => b.op('Mul', [b.op('Sub', [h, b.const('float32', [], [0.375])]), b.const('float32', [1], [0.5])]), folds: true, left: ['BinaryMatMul', 'Identity'] },
];

describe('binary-fold', () => {
  for (const c of FOLDS) {
    it(`${c.name}: ${c.folds ? 'folds into the layer' : 'stays'}`, () => {
      const g = decodeModel(layerThen(c.after, 3)).graph;
      expect(runPasses(g).fired['binary-fold']).toBe(c.folds ? 1 : undefined);
      expect(g.nodes.map((n) => n.opType)).toEqual(c.left);
    });
    // A fold must not change a bit; where it does not fire, the ops run as before.
    for (const backend of c.folds ? ALL_BACKENDS : []) {
      it(`${backend}: ${c.name} equals onnxruntime-node bit for bit`, async () => {
        const bytes = layerThen(c.after, 3);
        const x = chainInput([5, 96], 4);
        const s = await InferenceSession.create(bytes, { backend });
        const y = Array.from((await s.run({ x: new Tensor('float32', x, [5, 96]) })).y.data as Float32Array);
        const ref = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3 });
        const want = Array.from((await ref.run({ x: new ort.Tensor('float32', x, [5, 96]) })).y.data as Float32Array);
        expect(y).toEqual(want);
      });
    }
  }
});
