// Implicit binary layers: MatMul / Gemm / Conv whose constant f32 weights are ±s_n per output
// channel n (s_n > 0, every weight of channel n is +s_n or −s_n) and whose activation is a
// bipolar sign become ai.lowbit binary ops (src/ops/binary.ts) that keep one bit per weight plus
// scale[n] = s_n and run on the XNOR-popcount kernels:
//
//   sign(x) → MatMul/Gemm  ⇒  BinaryMatMul(x, W, scale, bias)
//   sign(x) → Conv         ⇒  BinaryConv(x, W, scale, bias)
//   QONNX BipolarQuant(W, s_w) on a constant W (s_w scalar or per output channel) as the weight:
//     folded here (before constant folding would turn it into plain f32) to ±s_w,n
//
// sign is a bipolar sign (bipolar.ts): Where(Less(x, 0), −1, +1), QONNX BipolarQuant(x, s_a) or
// a 1-bit signed QONNX Quant(x, s_a, 0); scale[n] = s_n·s_a. Its NaN rule goes to the layer
// (nan_negative: BipolarQuant and Quant give NaN → −1, Where gives +1), so the packed bits are
// the literal op's. A MaxPool and a Flatten/Reshape between the sign and the layer are moved
// (sign-motion.ts: the pool then runs on bits). ai.onnx Sign is not a bipolar sign — Sign(0) = 0,
// which a ±1 bit cannot express — so Sign-fed layers stay on the float path, as do ±s layers on
// plain f32 activations (bgemm_b1f32 measured ≈2× slower than gemm_f32 on 1×4096×4096 and
// 64×1024×1024).
//
// Exactness: Σ_k a_k·(±s_n) over ±1 activations equals dot·s_n with dot an exact integer; the op
// rounds dot·s_n once (and then + bias), so it matches any float evaluation whose partial sums
// are exact (e.g. s_n with ≤ 24 − log2(K) significant bits) up to that final rounding.
// Gemm matches when transA = 0, alpha = 1 and C is absent or a float32 constant of N elements
// ([N] or [1, N]) with beta = 1. The weight's QuantParams (bits 1, per channel) go to graph.quant.

import type { AttrValue, Graph, Node } from '../ir/graph.js';
import type { QuantParams } from '../ir/quant.js';
import { makeTensor, numel, toNumbers, type TensorData } from '../ir/tensor.js';
import { bipolarPath, isBipolarQuant, notBipolar } from './bipolar.js';
import { GraphView, LOWBIT_DOMAIN } from './graph-view.js';
import { SignMotion } from './sign-motion.js';
import type { Pass, PassLog } from './index.js';

function num(n: Node, name: string, def: number): number {
  const a = n.attrs.get(name);
  return a && (a.type === 'int' || a.type === 'float') ? a.value : def;
}

/**
 * The value of BipolarQuant(W, s) for a constant f32 W and a constant s that is a scalar or one
 * value per output channel (channel axis `axis` of W, 1 elsewhere): (W ≥ 0 ? +1 : −1)·s, in f32
 * as the op computes it. Undefined for any other producer.
 */
function foldedBipolarWeight(v: GraphView, value: string, axis: (w: TensorData) => number): TensorData | undefined {
  const q = v.producer(value);
  if (!q || !isBipolarQuant(q)) return undefined;
  const w = v.constant(q.inputs[0]);
  const s = q.inputs[1] ? v.constant(q.inputs[1]) : undefined;
  if (!w || !s || w.dtype !== 'float32' || s.dtype !== 'float32' || w.dims.length < 2) return undefined;
  const a = axis(w);
  const C = w.dims[a];
  const sv = toNumbers(s);
  const perChannel = sv.length === C && s.dims.length <= w.dims.length &&
    s.dims.every((d, i) => d === (i === s.dims.length - (w.dims.length - a) ? C : 1));
  if (sv.length !== 1 && !perChannel) return undefined;
  const wv = new Float32Array(w.bytes.slice().buffer);
  const inner = numel(w.dims.slice(a + 1));
  const out = new Float32Array(wv.length);
  for (let i = 0; i < wv.length; i++) {
    const sc = sv.length === 1 ? sv[0] : sv[Math.floor(i / inner) % C];
    out[i] = Math.fround((wv[i] >= 0 ? 1 : -1) * sc);
  }
  return makeTensor('float32', w.dims, new Uint8Array(out.buffer));
}

/**
 * s_n of a weight whose element (n, j) of channel n is at w[n·cs + j·js] (j < per), when every
 * element of channel n is ±s_n with s_n > 0 finite; otherwise undefined.
 */
export function channelMagnitudes(w: Float32Array, N: number, per: number, cs: number, js: number): Float32Array | undefined {
  const s = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    const m = Math.abs(w[n * cs]);
    if (!(m > 0) || m === Infinity) return undefined;
    for (let j = 1; j < per; j++) if (Math.abs(w[n * cs + j * js]) !== m) return undefined;
    s[n] = m;
  }
  return s;
}

interface Match {
  /** Output channels, elements per channel, and how W is walked (see channelMagnitudes). */
  N: number;
  per: number;
  cs: number;
  js: number;
  /** W's channel axis (QuantParams.axis). */
  axis: number;
  bias: string;
  attrs: Map<string, AttrValue>;
}

function matmulMatch(v: GraphView, n: Node, w: TensorData): Match | undefined {
  if (w.dims.length !== 2) return undefined;
  const intA = (x: number): AttrValue => ({ type: 'int', value: x });
  if (n.opType === 'MatMul') {
    const [K, N] = w.dims;
    return { N, per: K, cs: 1, js: N, axis: 1, bias: '', attrs: new Map([['trans_b', intA(0)]]) };
  }
  if (num(n, 'transA', 0) !== 0 || num(n, 'alpha', 1) !== 1) return undefined;
  const transB = num(n, 'transB', 0) === 1;
  const [K, N] = transB ? [w.dims[1], w.dims[0]] : w.dims;
  const bias = n.inputs[2] ?? '';
  if (bias !== '') {
    const c = v.constant(bias);
    const rowShaped = c !== undefined && (c.dims.length === 1 || (c.dims.length === 2 && c.dims[0] === 1)) && numel(c.dims) === N;
    if (!rowShaped || c.dtype !== 'float32' || num(n, 'beta', 1) !== 1) return undefined;
  }
  const walk = transB ? { cs: K, js: 1, axis: 0 } : { cs: 1, js: N, axis: 1 };
  return { N, per: K, ...walk, bias, attrs: new Map([['trans_b', intA(transB ? 1 : 0)]]) };
}

function convMatch(n: Node, w: TensorData): Match | undefined {
  if (w.dims.length < 3) return undefined;
  const per = numel(w.dims.slice(1));
  return { N: w.dims[0], per, cs: per, js: 1, axis: 0, bias: n.inputs[2] ?? '', attrs: new Map(n.attrs) };
}

const FORM: Record<string, string> = {
  MatMul: 'weight is not 2-D',
  Gemm: 'Gemm needs transA = 0, alpha = 1 and C absent or a float32 [N] with beta = 1',
  Conv: 'weight has rank < 3',
};

function rewrite(g: Graph, v: GraphView, motion: SignMotion, n: Node, serial: number, log?: PassLog): boolean {
  if (n.domain !== '' || !['MatMul', 'Gemm', 'Conv'].includes(n.opType)) return false;
  let wName = n.inputs[1];
  const chanAxis = (t: TensorData) => (n.opType === 'Conv' ? 0 : n.opType === 'Gemm' && num(n, 'transB', 0) === 1 ? 0 : t.dims.length - 1);
  const folded = foldedBipolarWeight(v, wName, chanAxis);
  const w = folded ?? v.constant(wName);
  if (!w || w.dtype !== 'float32' || n.inputs[0] === wName) return false;
  const decline = (reason: string): false => {
    log?.decline(n, reason);
    return false;
  };
  const m = n.opType === 'Conv' ? convMatch(n, w) : matmulMatch(v, n, w);
  if (!m) return decline(FORM[n.opType]);
  if (m.N < 1 || m.per < 1) return decline('weight is empty');
  const s = channelMagnitudes(new Float32Array(w.bytes.slice().buffer), m.N, m.per, m.cs, m.js);
  if (!s) return decline('weights are not ±s per output channel');
  const path = bipolarPath(v, n.inputs[0]);
  if (path === undefined) return decline(notBipolar(v, n.inputs[0]));
  const reader = { conv: n.opType === 'Conv', channels: n.opType === 'Conv' ? w.dims[1] * num(n, 'group', 1) : m.per };
  const why = motion.check(path, reader);
  if (why) return decline(why);
  const as = path.sign.scale;
  if (as !== 1) for (let i = 0; i < s.length; i++) s[i] = Math.fround(s[i] * as);
  if (!s.every((x) => x > 0 && x < Infinity)) return decline('weight scale × activation scale is not a finite f32');
  if (folded) {
    wName = `${wName}__bipolar_${serial}`;
    g.initializers.set(wName, folded);
  }
  const input = motion.input(path, reader);
  const attrs = new Map(m.attrs);
  if (input.nanNegative === 1) attrs.set('nan_negative', { type: 'int', value: 1 });
  if (input.packed) attrs.set('packed_input', { type: 'int', value: 1 });
  const x = input.x;
  const opType = n.opType === 'Conv' ? 'BinaryConv' : 'BinaryMatMul';
  const sName = `${wName}__binary_scale_${serial}`;
  g.initializers.set(sName, makeTensor('float32', [m.N], new Uint8Array(s.buffer)));
  const inputs = [x, wName, sName, m.bias];
  if (inputs[3] === '') inputs.pop();
  g.nodes[g.nodes.indexOf(n)] = { name: n.name, opType, domain: LOWBIT_DOMAIN, inputs, outputs: [...n.outputs], attrs };
  const q: QuantParams = { scale: s, zeroPoint: new Int32Array(m.N), axis: m.axis, blockSize: 0, bits: 1, signed: true, narrow: false };
  g.quant.set(wName, q);
  return true;
}

export const binaryPass: Pass = {
  name: 'binary',
  run(g, log) {
    const v = new GraphView(g);
    const motion = new SignMotion(g, v);
    return [...g.nodes].reduce((fired, n) => fired + (rewrite(g, v, motion, n, fired, log) ? 1 : 0), 0);
  },
};
