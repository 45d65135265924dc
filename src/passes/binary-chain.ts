// Epilogues of the binary layers (ai.lowbit BinaryMatMul / BinaryConv, src/passes/binary.ts):
// the per-channel ops after a layer go into it, and chains of binary layers stay in sign bits.
//
// binary-chain: when a layer's output, after per-channel stages (binary-epilogue.ts: BatchNorm,
//   Mul/Add/Sub/Div by constants, Relu, Clip), optionally a MaxPool (more stages after it) and a
//   Flatten/Reshape, is read only by nodes that take its sign as bits — binary layers reading it
//   as X (the binary rule absorbed the sign) and PackSigns (the sign moved before a pool by
//   sign-motion.ts) —
//       L1 → stages → [MaxPool → stages] → [Flatten | Reshape] → L2 (and other binary readers)
//       L1 → stages → PackSigns → BitMaxPool → …
//   becomes
//       L1 {packed_output, sign_thresholds} → [BitMaxPool] → [BitReshape] → L2 {packed_input}
//       L1 {packed_output, sign_thresholds} → BitMaxPool → …
//   with no f32 tensor between the layers. The thresholds and the pool's AND/OR per channel come
//   from evaluating the literal ops at every possible dot (binary-epilogue.ts), so the bits equal
//   those the f32 ops give, packed by the readers' rule (x < 0 → −1, or ¬(x ≥ 0) → −1 with
//   nan_negative: they must agree). Not chained (the ops stay; the layer's decline says why): an
//   intermediate read by anything else or being a graph output, a reader that does not take it
//   as bits, channel counts that do not match, a set that is no threshold set.
// binary-fold: otherwise, the longest run of affine stages right after the layer whose fold into
//   its scale and bias is bit-exact (exactF32Fold) goes into the layer; fuse-activation then
//   takes a Relu/Clip that follows.

import type { AttrValue, Graph, Node } from '../ir/graph.js';
import { QONNX_DOMAINS } from '../ir/domains.js';
import { makeTensor, numel, toNumbers } from '../ir/tensor.js';
import {
  channelFn, exactF32Fold, finiteAtEnds, poolModes, signThresholds, stagesOf, withLayer,
  type ChannelAxis, type LayerEpilogue, type Stage,
} from './binary-epilogue.js';
import { freshName, GraphView, LOWBIT_DOMAIN, removeDeadNodes } from './graph-view.js';
import type { Pass, PassLog } from './index.js';
import { bitMaxPoolAttrs, bitReshapeAttrs } from './sign-motion.js';

const BINARY = new Set(['BinaryMatMul', 'BinaryConv']);
const isBinary = (n: Node): boolean => n.domain === LOWBIT_DOMAIN && BINARY.has(n.opType);
const intAttr = (n: Node, name: string, def: number): number => {
  const a = n.attrs.get(name);
  return a?.type === 'int' ? a.value : def;
};
const int = (value: number): AttrValue => ({ type: 'int', value });
const bitRowBytes = (L: number): number => Math.ceil(L / 128) * 16;

interface Layer {
  epi: LayerEpilogue;
  ax: ChannelAxis;
}

/** The epilogue and channel axis of a binary layer whose constants the rules can read. */
function layerOf(v: GraphView, n: Node, ranks: Map<string, number>): Layer | undefined {
  if (!isBinary(n) || intAttr(n, 'packed_output', 0) === 1) return undefined;
  const [w, s] = [v.constant(n.inputs[1]), v.constant(n.inputs[2])];
  const b = n.inputs[3] ? v.constant(n.inputs[3]) : undefined;
  if (!w || s?.dtype !== 'float32' || (n.inputs[3] && b?.dtype !== 'float32')) return undefined;
  const conv = n.opType === 'BinaryConv';
  if (w.dims.length !== 2 && !(conv && w.dims.length > 2)) return undefined;
  const transB = intAttr(n, 'trans_b', 0) === 1;
  const [K, N] = conv ? [numel(w.dims.slice(1)), w.dims[0]] : transB ? [w.dims[1], w.dims[0]] : w.dims;
  if (numel(s.dims) !== N || (b && numel(b.dims) !== N)) return undefined;
  const act = { act: intAttr(n, 'activation', 0), lo: 0, hi: 0 };
  for (const k of ['lo', 'hi'] as const) {
    const a = n.attrs.get(`activation_${k}`);
    if (a?.type === 'float' || a?.type === 'int') act[k] = a.value;
  }
  const epi = { N, K, scale: new Float32Array(toNumbers(s)), bias: b && new Float32Array(toNumbers(b)), act };
  return { epi, ax: { N, conv, rank: conv ? w.dims.length : ranks.get(n.outputs[0]) } };
}

/** The channels a binary layer reads in X: C·group (conv) or K (matmul). */
function readerChannels(v: GraphView, n: Node): number | undefined {
  const w = v.constant(n.inputs[1]);
  if (!w || w.dims.length < 2) return undefined;
  if (n.opType === 'BinaryConv') return w.dims[1] * intAttr(n, 'group', 1);
  return intAttr(n, 'trans_b', 0) === 1 ? w.dims[1] : w.dims[0];
}

interface Walk {
  /** Stage runs in order, each with the node that applies it. */
  pre: { node: Node; stages: Stage[] }[];
  pool?: Node;
  post: Stage[];
  reshape?: Node;
  /** Every node passed, in order. */
  nodes: Node[];
  /** The value reached and who reads it. */
  end: string;
  readers: readonly Node[];
}

const isPlainMaxPool = (n: Node, value: string): boolean =>
  n.domain === '' && n.opType === 'MaxPool' && n.inputs[0] === value && n.outputs.slice(1).every((o) => o === '');

const isReshape = (n: Node, value: string): boolean =>
  n.domain === '' && n.inputs[0] === value && (n.opType === 'Flatten' || (n.opType === 'Reshape' && n.inputs.length >= 2 && n.inputs[1] !== value));

/** Follows the layer's output through single-reader stages, a MaxPool and a Flatten/Reshape. */
function walk(v: GraphView, n: Node, ax: ChannelAxis): Walk {
  const w: Walk = { pre: [], post: [], nodes: [], end: n.outputs[0], readers: [] };
  for (;;) {
    w.readers = v.consumersOf(w.end);
    const next = v.singleUse(w.end) && !w.reshape ? w.readers[0] : undefined;
    const stages = next && stagesOf(v, next, w.end, ax);
    if (next && stages) {
      if (w.pool) w.post.push(...stages);
      else w.pre.push({ node: next, stages });
    } else if (next && !w.pool && ax.conv && isPlainMaxPool(next, w.end)) {
      w.pool = next;
    } else if (next && isReshape(next, w.end)) {
      w.reshape = next;
    } else {
      return w;
    }
    w.nodes.push(next);
    w.end = next.outputs[0];
  }
}

function replaceNode(g: Graph, old: Node, next: Node): void {
  g.nodes[g.nodes.indexOf(old)] = next;
}

const isPackSigns = (n: Node): boolean => n.domain === LOWBIT_DOMAIN && n.opType === 'PackSigns';

/** A node that takes the sign of its input 0 as bits: a binary layer's X, or PackSigns. */
const takesSign = (n: Node): boolean => isBinary(n) || isPackSigns(n);

/** Whether `n` is, or leads through a few single-output nodes to, a node that takes a sign. */
function leadsToSign(v: GraphView, n: Node, depth = 4): boolean {
  if (takesSign(n)) return true;
  return depth > 0 && n.outputs.length >= 1 && v.consumersOf(n.outputs[0]).some((r) => leadsToSign(v, r, depth - 1));
}

interface Readers {
  /** The bit-row length the readers take, and their NaN rule. */
  length: number;
  nanNegative: 0 | 1;
}

/**
 * Whether the walk ends at readers that can take the layer's bits — binary layers reading it as
 * X, or PackSigns of the same layout — and their common length and NaN rule; otherwise why not
 * (undefined when no reader takes a sign: there is nothing to chain).
 */
function chainReaders(v: GraphView, n: Node, w: Walk, ax: ChannelAxis): Readers | string | undefined {
  if (!w.readers.some((r) => leadsToSign(v, r))) return undefined;
  const after = w.nodes.length > 0 ? ` (after ${w.nodes.map((x) => x.opType).join(' → ')})` : '';
  const [only] = w.readers;
  if (w.readers.length === 1 && !takesSign(only) && v.singleUse(w.end)) {
    return `the bits cannot pass ${only.opType}${after} (a per-channel op needs constants and a channel axis known at load)`;
  }
  if (v.graph.outputs.some((o) => o.name === w.end)) return `output${after} is also a graph output`;
  const want = w.reshape ? 'BinaryMatMul' : n.opType;
  const lengths = new Set<number | undefined>();
  const rules = new Set<number>();
  const others: string[] = [];
  for (const r of w.readers) {
    const own = r.inputs[0] === w.end && r.inputs.indexOf(w.end, 1) < 0;
    if (own && isBinary(r) && r.opType === want && intAttr(r, 'packed_input', 0) === 0) {
      lengths.add(readerChannels(v, r));
    } else if (own && isPackSigns(r) && !w.reshape && intAttr(r, 'nhwc', 0) === (ax.conv ? 1 : 0)) {
      lengths.add(intAttr(r, 'channels', 0));
    } else {
      others.push(r.opType);
      continue;
    }
    rules.add(intAttr(r, 'nan_negative', 0));
  }
  if (others.length > 0) return `output${after} is also read by ${others.join(', ')}; its readers must all take its sign as bits`;
  if (rules.size !== 1) return `its readers take the sign of NaN differently (nan_negative ${[...rules].join(' and ')})`;
  const [len] = [...lengths];
  if (lengths.size !== 1 || len === undefined) return 'its readers take different lengths';
  if (!w.reshape && len !== ax.N) return `its readers take ${len} channels, the layer has ${ax.N}`;
  return { length: len, nanNegative: [...rules][0] === 1 ? 1 : 0 };
}

/** The bit of a value under the readers' rule: −1 where x < 0 (and NaN with nanNegative). */
const negative = (nanNegative: 0 | 1) => (nanNegative ? (x: number) => !(x >= 0) : (x: number) => x < 0);

function chainLayer(g: Graph, v: GraphView, n: Node, ranks: Map<string, number>, log?: PassLog): boolean {
  const layer = layerOf(v, n, ranks);
  if (!layer) return false;
  const { epi, ax } = layer;
  const w = walk(v, n, ax);
  const readers = chainReaders(v, n, w, ax);
  if (typeof readers === 'string') log?.decline(n, `output not kept in bits: ${readers}`);
  if (typeof readers !== 'object') return false;
  // Every stage is monotone where its values stay finite (binary-epilogue.ts): channels whose
  // ends are finite skip the scan of every dot.
  const pre = withLayer(epi, w.pre.flatMap((s) => s.stages));
  const all = [...pre, ...w.post];
  const isNeg = negative(readers.nanNegative);
  const negativeAt = (stages: Stage[]) => (ch: number) => {
    const z = channelFn(stages, ch);
    return (y: number) => isNeg(z(y));
  };
  const thresholds = signThresholds(epi.N, epi.K, negativeAt(all), (ch) => finiteAtEnds(all, ch, -epi.K, epi.K));
  if (!thresholds) {
    log?.decline(n, 'output not kept in bits: in some channel the sign after its ops is no threshold of the dot');
    return false;
  }
  const modes = !w.pool ? [] : poolModes(epi.N, epi.K, (ch) => channelFn(pre, ch), negativeAt(w.post),
    (ch, lo, hi) => finiteAtEnds(pre, ch, -epi.K, epi.K) && finiteAtEnds(w.post, ch, lo, hi));
  if (!modes) {
    log?.decline(n, 'output not kept in bits: in some channel the sign of the MaxPool is neither the AND nor the OR of the signs');
    return false;
  }

  const thr = freshName(g, `${n.name || n.outputs[0]}__sign_thresholds`);
  g.initializers.set(thr, makeTensor('int32', [epi.N, 2], new Uint8Array(thresholds.buffer)));
  let bits = freshName(g, `${n.outputs[0]}__bits`);
  const inputs = [...n.inputs.slice(0, 4)];
  while (inputs.length < 4) inputs.push('');
  const attrs = new Map(n.attrs).set('packed_output', int(1));
  replaceNode(g, n, { ...n, inputs: [...inputs, thr], outputs: [bits], attrs });
  if (w.pool) {
    const mask = new Uint8Array(bitRowBytes(epi.N));
    modes.forEach((or, ch) => (mask[ch >> 3] |= or ? 1 << (ch & 7) : 0));
    const maskName = freshName(g, `${w.pool.name || w.pool.outputs[0]}__or_mask`);
    g.initializers.set(maskName, makeTensor('uint8', [mask.length], mask));
    const out = freshName(g, `${w.pool.outputs[0]}__bits`);
    replaceNode(g, w.pool, { ...w.pool, opType: 'BitMaxPool', domain: LOWBIT_DOMAIN, inputs: [bits, maskName], outputs: [out], attrs: bitMaxPoolAttrs(g, w.pool) });
    bits = out;
  }
  if (w.reshape) {
    const r = w.reshape;
    const out = freshName(g, `${r.outputs[0]}__bits`);
    const rattrs = bitReshapeAttrs(r, epi.N, ax.conv, readers.length);
    replaceNode(g, r, { ...r, opType: 'BitReshape', domain: LOWBIT_DOMAIN, inputs: r.opType === 'Reshape' ? [bits, r.inputs[1]] : [bits], outputs: [out], attrs: rattrs });
    bits = out;
  }
  const packers = new Set(w.readers.filter(isPackSigns));
  for (const reader of w.readers.filter((r) => !packers.has(r))) {
    replaceNode(g, reader, { ...reader, inputs: [bits, ...reader.inputs.slice(1)], attrs: new Map(reader.attrs).set('packed_input', int(1)) });
  }
  // A PackSigns reader's bits are the layer's: its readers read those instead.
  const packed = new Set([...packers].map((p) => p.outputs[0]));
  g.nodes.forEach((x, i) => {
    if (x.inputs.some((inp) => packed.has(inp))) g.nodes[i] = { ...x, inputs: x.inputs.map((inp) => (packed.has(inp) ? bits : inp)) };
  });
  const stageNodes = new Set<Node>([...w.pre.map((s) => s.node), ...w.nodes.filter((x) => x !== w.pool && x !== w.reshape), ...packers]);
  g.nodes.splice(0, g.nodes.length, ...g.nodes.filter((x) => !stageNodes.has(x)));
  return true;
}

function foldLayer(g: Graph, v: GraphView, n: Node, ranks: Map<string, number>): boolean {
  const layer = layerOf(v, n, ranks);
  if (!layer || layer.epi.act.act !== 0) return false;
  const w = walk(v, n, layer.ax);
  let run = w.pre.findIndex((s) => s.stages.some((st) => st.op === 'relu' || st.op === 'clip'));
  if (run < 0) run = w.pre.length;
  for (let k = run; k > 0; k--) {
    const folded = exactF32Fold(layer.epi, w.pre.slice(0, k).flatMap((s) => s.stages));
    if (!folded) continue;
    const base = n.name || n.outputs[0];
    const sName = freshName(g, `${base}__folded_scale`);
    g.initializers.set(sName, makeTensor('float32', [layer.epi.N], new Uint8Array(folded.scale.buffer)));
    const inputs = [n.inputs[0], n.inputs[1], sName];
    if (folded.bias) {
      const bName = freshName(g, `${base}__folded_bias`);
      g.initializers.set(bName, makeTensor('float32', [layer.epi.N], new Uint8Array(folded.bias.buffer)));
      inputs.push(bName);
    }
    const gone = new Set(w.pre.slice(0, k).map((s) => s.node));
    replaceNode(g, n, { ...n, inputs, outputs: [w.pre[k - 1].node.outputs[0]] });
    g.nodes.splice(0, g.nodes.length, ...g.nodes.filter((x) => !gone.has(x)));
    return true;
  }
  return false;
}

/** Ops whose output has the rank of input 0, and ops that broadcast all inputs. */
const SAME_RANK = new Set([
  'BinaryMatMul', 'BinaryConv', 'Conv', 'MaxPool', 'BatchNormalization', 'Relu', 'Clip', 'Identity', 'Sign', 'Neg', 'Abs',
  // ai.lowbit layers of the QONNX rule (matmuls with 2-D weights keep X's rank) and their quantizers
  'QonnxQuantInt', 'QonnxBipolarInt', 'QGemmToFloat', 'QConvToFloat', 'MatMulQW', 'MatMulQWQ8',
]);
const BROADCAST = new Set(['Where', 'Less', 'Mul', 'Add', 'Sub', 'Div', 'BipolarQuant', 'Quant']);

/**
 * Ranks that follow from the graph inputs' declared shapes (enforced on every feed) and the
 * initializers through SAME_RANK/BROADCAST ops; value_info is not trusted.
 */
function knownRanks(g: Graph): Map<string, number> {
  const r = new Map<string, number>();
  for (const i of g.inputs) if (i.shape) r.set(i.name, i.shape.length);
  for (const [name, t] of g.initializers) r.set(name, t.dims.length);
  for (let changed = true; changed;) {
    changed = false;
    for (const n of g.nodes) {
      const o = n.outputs[0];
      if (!o || r.has(o) || !(n.domain === '' || n.domain === LOWBIT_DOMAIN || QONNX_DOMAINS.includes(n.domain))) continue;
      const ins = (BROADCAST.has(n.opType) ? n.inputs : n.inputs.slice(0, 1)).filter((i) => i !== '');
      let rank: number | undefined;
      if (n.domain === '' && (n.opType === 'Gemm' || n.opType === 'Flatten')) rank = 2;
      else if ((SAME_RANK.has(n.opType) || BROADCAST.has(n.opType)) && ins.length > 0 && ins.every((i) => r.has(i))) rank = Math.max(...ins.map((i) => r.get(i)!));
      if (rank !== undefined) {
        r.set(o, rank);
        changed = true;
      }
    }
  }
  return r;
}

function layerPass(name: string, rule: (g: Graph, v: GraphView, n: Node, ranks: Map<string, number>, log?: PassLog) => boolean): Pass {
  return {
    name,
    run(g, log) {
      if (!g.nodes.some(isBinary)) return 0;
      removeDeadNodes(g); // the signs the binary rule absorbed
      const ranks = knownRanks(g);
      let fired = 0;
      // Rewrites replace node objects (a reader gains packed_input): each new one gets its turn.
      const tried = new Set<Node>();
      for (let n = g.nodes.find(isBinary); n; n = g.nodes.find((x) => isBinary(x) && !tried.has(x))) {
        tried.add(n);
        if (rule(g, new GraphView(g), n, ranks, log)) fired++;
      }
      return fired;
    },
  };
}

export const binaryChainPass = layerPass('binary-chain', chainLayer);
export const binaryFoldPass = layerPass('binary-fold', foldLayer);
