// The arithmetic after a binary layer, evaluated as lowbit's kernels evaluate it, over the dot
// products the layer can produce — so each fold below is checked, not assumed.
//
// Output channel n of a binary layer is a function of one integer: y_n(dot) = act(f32(dot)·s_n
// + b_n) (product, then sum, each rounded to f32; assembly/bgemm_epilogue.ts), with dot in
// [−K, K] (conv padding can make any integer there). The per-channel ops after it — "stages":
// BatchNormalization with constant parameters (the BatchNormalization op's own y·k + d, k and d
// from foldConstants), Mul/Add/Sub/Div by a constant scalar or per-channel vector, Relu, Clip —
// keep it a function of that integer: z_n(dot) = f_m(…f_1(y_n(dot))). Its 2K+1 values per
// channel can all be computed, so:
//
// - f32 fold (exactF32Fold): the stages become the layer's own (s', b') only when
//   f32(dot)·s' + b' equals z_n(dot) bit for bit (Object.is: ±0 and NaN count) at every dot of
//   every channel. Otherwise the ops stay as they are. It holds e.g. for an Add after a layer
//   without bias (the same two roundings) and for power-of-two scalings without underflow; a
//   general BatchNorm changes a rounding somewhere and stays separate.
// - sign (signThresholds): when the next binary layer reads only the sign of z (the packers'
//   rule: x < 0 → −1, or ¬(x ≥ 0) → −1 for readers with nan_negative), the layer can store sign
//   bits: {dot : z_n(dot) is negative} must be {dot < t} or {dot > −t}, the SIGN epilogue's
//   (t, d). The bits then equal "f32 ops, then pack".
// - max pool between (poolModes): lowbit's MaxPool takes f32.max over the window (−∞ when a
//   window has no tap; no NaN may reach it). With p the value pooled and q(p) the sign after the
//   stages that follow the pool, sign(q(max p_i)) is the AND of the window's bits when every p
//   that q makes negative comes before every p it makes positive in f32.max's order
//   (−∞ < … < −0 < +0 < …), the OR when they come after; −∞ counts, so empty windows match too.
//
// Monotone shortcut. Each stage is monotone on finite values (rounding to f32 is monotone, and
// so are y·c, y + c, y / c, max(y, 0), min(max(y, lo), hi); ±0 give numerically equal results),
// and a monotone map sends a value between two others to a value between their images. So when
// every stage's value is finite at both ends of a range (finiteAtEnds), it is finite at every
// point between — no NaN either: that needs an infinite operand or 0/0, and x/0 is not finite at
// the ends — and the whole chain is monotone there. Then the threshold is found by binary search
// and the pool mode read off the ends. Any other channel is checked at every dot; the tests hold
// both ways to the same answers.
//
// JS evaluates f32 exactly: Math.fround of the double product, sum or quotient of two f32
// values is the correctly rounded f32 result (double rounding is harmless for +, ×, ÷ since
// 53 ≥ 2·24 + 2), and Math.max/min treat NaN and ±0 as wasm's f32.max/min do.

import type { Node } from '../ir/graph.js';
import { numel, toNumbers, type TensorData } from '../ir/tensor.js';
import { foldConstants } from '../ops/batchnorm.js';
import { activationOf } from './fuse-activation.js';
import type { GraphView } from './graph-view.js';

export type Stage =
  | { op: 'mul' | 'add' | 'div'; c: Float32Array }
  | { op: 'relu' }
  | { op: 'clip'; lo: number; hi: number };

/** A binary layer's own epilogue: N channels, |dot| ≤ K, scale, bias, activation. */
export interface LayerEpilogue {
  N: number;
  K: number;
  scale: Float32Array;
  bias?: Float32Array;
  act: { act: number; lo: number; hi: number };
}

/** Where the layer's output channels lie: axis 1 of a rank-`rank` conv output, or the last axis. */
export interface ChannelAxis {
  N: number;
  conv: boolean;
  /** Output rank, when known. */
  rank?: number;
}

const f32 = Math.fround;
const at = (c: Float32Array, ch: number): number => (c.length === 1 ? c[0] : c[ch]);

/** The layer's own epilogue as stages: · scale, + bias, then its activation. */
function layerStages(e: LayerEpilogue): Stage[] {
  const st: Stage[] = [{ op: 'mul', c: e.scale }];
  if (e.bias) st.push({ op: 'add', c: e.bias });
  if (e.act.act === 1) st.push({ op: 'relu' });
  if (e.act.act === 2) st.push({ op: 'clip', lo: f32(e.act.lo), hi: f32(e.act.hi) });
  return st;
}

const OP = { mul: 0, add: 1, div: 2, relu: 3, clip: 4 } as const;

/** One stage (op code, constants a and b) applied to y in f32. */
function applyOp(op: number, a: number, b: number, y: number): number {
  switch (op) {
    case 0: return f32(y * a);
    case 1: return f32(y + a);
    case 2: return f32(y / a);
    case 3: return Math.max(y, 0);
    default: return Math.min(Math.max(y, a), b);
  }
}

/** Channel ch's stages as op codes and constants. */
function compile(stages: readonly Stage[], ch: number): { ops: Uint8Array; a: Float64Array; b: Float64Array } {
  const n = stages.length;
  const ops = new Uint8Array(n);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  stages.forEach((s, i) => {
    ops[i] = OP[s.op];
    if (s.op === 'clip') [a[i], b[i]] = [s.lo, s.hi];
    else if (s.op !== 'relu') a[i] = at(s.c, ch);
  });
  return { ops, a, b };
}

/** The stages of channel ch as one function of y (the exhaustive checks call it (2K+1)·N times). */
export function channelFn(stages: readonly Stage[], ch: number): (y: number) => number {
  const { ops, a, b } = compile(stages, ch);
  return (y) => {
    for (let i = 0; i < ops.length; i++) y = applyOp(ops[i], a[i], b[i], y);
    return y;
  };
}

/**
 * Whether every value the stages of channel ch pass through is finite for y = lo and y = hi.
 * Then they are monotone on [lo, hi] and never make a NaN there (see the top).
 */
export function finiteAtEnds(stages: readonly Stage[], ch: number, lo: number, hi: number): boolean {
  const { ops, a, b } = compile(stages, ch);
  for (let y of [lo, hi]) {
    if (!Number.isFinite(y)) return false;
    for (let i = 0; i < ops.length; i++) {
      y = applyOp(ops[i], a[i], b[i], y);
      if (!Number.isFinite(y)) return false;
    }
  }
  return true;
}

/** The layer's own epilogue followed by `stages`. */
export function withLayer(e: LayerEpilogue, stages: readonly Stage[]): Stage[] {
  return [...layerStages(e), ...stages];
}

/** Channel ch of the layer followed by `stages`, as a function of the dot product. */
export function layerFn(e: LayerEpilogue, stages: readonly Stage[], ch: number): (dot: number) => number {
  return channelFn(withLayer(e, stages), ch);
}

/**
 * A float32 constant that broadcasts over the layer's output as one value per channel (or one
 * value), without growing its rank; its values (length N or 1), else undefined.
 */
function channelConstant(t: TensorData | undefined, ax: ChannelAxis): Float32Array | undefined {
  if (!t || t.dtype !== 'float32') return undefined;
  const len = t.dims.length;
  const rank = ax.rank ?? 1;
  const values = new Float32Array(toNumbers(t));
  if (values.length === 1) return len <= rank ? values : undefined;
  if (values.length !== ax.N || len > rank) return undefined;
  const axis = ax.conv ? len - rank + 1 : len - 1; // the channel axis, right-aligned
  return axis >= 0 && t.dims[axis] === ax.N ? values : undefined;
}

function batchNormStages(v: GraphView, n: Node, ax: ChannelAxis): Stage[] | undefined {
  const opset = v.graph.opsets.get('') ?? 1;
  const int = (name: string, def: number) => {
    const a = n.attrs.get(name);
    return a?.type === 'int' ? a.value : def;
  };
  if ((opset >= 14 && int('training_mode', 0) !== 0) || int('spatial', 1) !== 1 || n.outputs.slice(1).some((o) => o !== '')) return undefined;
  if (!ax.conv && ax.rank !== 2) return undefined; // its channel axis 1 is the layer's only for [rows, N]
  const p = n.inputs.slice(1, 5).map((name) => v.constant(name));
  if (p.length !== 4 || p.some((t) => !t || t.dtype !== 'float32' || numel(t.dims) !== ax.N)) return undefined;
  const [scale, bias, mean, variance] = p.map((t) => new Float32Array(toNumbers(t!)));
  const eps = n.attrs.get('epsilon');
  const st = foldConstants(scale, bias, mean, variance, eps?.type === 'float' || eps?.type === 'int' ? eps.value : 1e-5);
  return [{ op: 'mul', c: st.subarray(0, ax.N) }, { op: 'add', c: st.subarray(ax.N) }];
}

/** The stages node `n` applies to `value` (the layer's output, channels as `ax`), or undefined. */
export function stagesOf(v: GraphView, n: Node, value: string, ax: ChannelAxis): Stage[] | undefined {
  if (n.domain !== '' || n.inputs[0] === undefined) return undefined;
  if (n.opType === 'BatchNormalization') return n.inputs[0] === value ? batchNormStages(v, n, ax) : undefined;
  if (n.opType === 'Relu' || n.opType === 'Clip') {
    const a = n.inputs[0] === value ? activationOf(v, n) : undefined;
    return a && [a.act === 1 ? { op: 'relu' } : { op: 'clip', lo: f32(a.lo), hi: f32(a.hi) }];
  }
  if (!['Mul', 'Add', 'Sub', 'Div'].includes(n.opType) || n.inputs.length !== 2) return undefined;
  const i = n.inputs.indexOf(value);
  if (i < 0 || n.inputs[1 - i] === value || (i === 1 && (n.opType === 'Sub' || n.opType === 'Div'))) return undefined;
  const c = channelConstant(v.constant(n.inputs[1 - i]), ax);
  if (!c) return undefined;
  // y − c is y + (−c) exactly (IEEE subtraction is defined so), so Sub is an add.
  if (n.opType === 'Sub') return [{ op: 'add', c: c.map((x) => -x) }];
  return [{ op: n.opType === 'Mul' ? 'mul' : n.opType === 'Add' ? 'add' : 'div', c }];
}

/** The layer's (scale, bias) with affine `stages` folded in, when that is exact (see the top). */
export function exactF32Fold(e: LayerEpilogue, stages: readonly Stage[]): { scale: Float32Array; bias?: Float32Array } | undefined {
  if (e.act.act !== 0 || stages.some((s) => s.op === 'relu' || s.op === 'clip')) return undefined;
  const scale = new Float32Array(e.N);
  const bias = new Float32Array(e.N);
  const hasBias = !!e.bias || stages.some((s) => s.op === 'add');
  for (let ch = 0; ch < e.N; ch++) {
    let s = e.scale[ch];
    let b = e.bias ? e.bias[ch] : 0;
    for (const st of stages) {
      const c = at((st as { c: Float32Array }).c, ch);
      if (st.op === 'add') b += c;
      else if (st.op === 'mul') [s, b] = [s * c, b * c];
      else [s, b] = [s / c, b / c];
    }
    scale[ch] = f32(s);
    bias[ch] = f32(b);
  }
  const folded: LayerEpilogue = { ...e, scale, bias: hasBias ? bias : undefined };
  for (let ch = 0; ch < e.N; ch++) {
    const [want, got] = [layerFn(e, stages, ch), layerFn(folded, [], ch)];
    for (let dot = -e.K; dot <= e.K; dot++) if (!Object.is(got(dot), want(dot))) return undefined;
  }
  return { scale, bias: folded.bias };
}

/**
 * The SIGN epilogue's (t, d) pairs for N channels: d·dot ≥ t ⇔ !negative(dot) at every dot in
 * [−K, K], negative = negativeAt(ch); undefined when some channel's negative set is not a
 * threshold set. Channels for which monotoneAt(ch) holds (negative is monotone in dot) take a
 * binary search for the flip; the others are scanned at every dot.
 */
export function signThresholds(
  N: number, K: number, negativeAt: (ch: number) => (dot: number) => boolean, monotoneAt: (ch: number) => boolean = () => false,
): Int32Array | undefined {
  const out = new Int32Array(2 * N);
  for (let ch = 0; ch < N; ch++) {
    const negative = negativeAt(ch);
    const first = negative(-K);
    let flip: number | undefined;
    if (monotoneAt(ch)) {
      if (negative(K) !== first) {
        let [lo, hi] = [-K, K]; // negative(lo) = first ≠ negative(hi)
        while (hi - lo > 1) {
          const mid = Math.floor((lo + hi) / 2);
          if (negative(mid) === first) lo = mid;
          else hi = mid;
        }
        flip = hi;
      }
    } else {
      let prev = first;
      for (let dot = -K + 1; dot <= K; dot++) {
        const neg = negative(dot);
        if (neg === prev) continue;
        if (flip !== undefined) return undefined;
        flip = dot;
        prev = neg;
      }
    }
    // No flip: always + (dot ≥ −K) or always − (dot ≥ K + 1 never holds). A flip at f: + from f
    // on (dot ≥ f), or + up to f − 1 (−dot ≥ 1 − f).
    const [t, d] = flip === undefined ? [first ? K + 1 : -K, 1] : first ? [flip, 1] : [1 - flip, -1];
    out[2 * ch] = t;
    out[2 * ch + 1] = d;
  }
  return out;
}

/** a before b in f32.max's order: numeric, −0 below +0 (no NaN here; 1/−0 = −∞ < 1/+0 = +∞). */
const before = (a: number, b: number): boolean => a < b || (a === b && 1 / a < 1 / b);

/**
 * Per channel, whether the bit after a max pool is the OR (true) or the AND (false) of the
 * window's bits: pooledAt(ch) gives the value a tap holds for a dot, negativeAt(ch) the sign test
 * after the pool. Undefined when a NaN can reach the pool or the test is not monotone there.
 * When monotoneAt(ch, lo, hi) holds — the pooled value is monotone in dot, so its values lie in
 * [lo, hi] (its values at ±K), and the test is monotone on [lo, hi] — the ends decide; otherwise
 * every value is tested.
 */
export function poolModes(
  N: number, K: number, pooledAt: (ch: number) => (dot: number) => number, negativeAt: (ch: number) => (p: number) => boolean,
  monotoneAt: (ch: number, lo: number, hi: number) => boolean = () => false,
): boolean[] | undefined {
  const modes: boolean[] = [];
  for (let ch = 0; ch < N; ch++) {
    const pooled = pooledAt(ch);
    const negative = negativeAt(ch);
    // −∞, what an empty window pools to, is first in the order: it sets the mode. One change
    // along the order at most: the negatives all below the positives (AND: the max is negative
    // only if every tap is), or all above (OR); one side empty is the constant case.
    const neg0 = negative(-Infinity);
    const [a, b] = [pooled(-K), pooled(K)];
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    if (monotoneAt(ch, lo, hi)) {
      const [negLo, negHi] = [negative(lo), negative(hi)];
      if (negLo !== negHi && negLo !== neg0) return undefined;
      modes.push(!neg0);
      continue;
    }
    // The extremes of the values tested negative and of those tested positive.
    let [negLo, negHi, posLo, posHi] = [-Infinity, -Infinity, -Infinity, -Infinity];
    let [hasNeg, hasPos] = [neg0, !neg0];
    for (let dot = -K; dot <= K; dot++) {
      const p = pooled(dot);
      if (p !== p) return undefined;
      if (negative(p)) {
        if (!hasNeg || before(p, negLo)) negLo = p;
        if (!hasNeg || before(negHi, p)) negHi = p;
        hasNeg = true;
      } else {
        if (!hasPos || before(p, posLo)) posLo = p;
        if (!hasPos || before(posHi, p)) posHi = p;
        hasPos = true;
      }
    }
    if (!hasNeg) modes.push(true);
    else if (!hasPos || before(negHi, posLo)) modes.push(false);
    else if (before(posHi, negLo)) modes.push(true);
    else return undefined;
  }
  return modes;
}
