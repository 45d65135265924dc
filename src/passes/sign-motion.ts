// Carries out a bipolar path (bipolar.ts) for a binary layer: what the layer reads as X.
//
//   sign(x) → layer                                 X = x, packed by the layer
//   sign(x) → Flatten|Reshape → layer               X = Flatten|Reshape(x), packed by the layer
//   sign(x) → MaxPool → layer (a conv)              X = BitMaxPool(PackSigns(x))             packed_input
//   sign(x) → MaxPool → Flatten|Reshape → layer     X = BitReshape(BitMaxPool(PackSigns(x))) packed_input
//     (a matmul: x's channels must be known at load, channelsOf)
// With Quant's divisor s, x is Div(x, s) first. The layer takes the sign's nan_negative (its own
// packer, or PackSigns'). What the moves make is shared by every layer reading the same path;
// the old sign and moves stay for other readers, or go as dead nodes.

import type { AttrValue, Graph, Node } from '../ir/graph.js';
import { makeTensor } from '../ir/tensor.js';
import { channelsOf, type BipolarPath } from './bipolar.js';
import { freshName, LOWBIT_DOMAIN, type GraphView } from './graph-view.js';

const int = (value: number): AttrValue => ({ type: 'int', value });

export interface LayerInput {
  x: string;
  packed: boolean;
  nanNegative: 0 | 1;
}

/** What a binary layer reads: a conv reads C = W.dims[1]·group channels, a matmul rows of K. */
export interface Reader {
  conv: boolean;
  channels: number;
}

/** The attributes of BitMaxPool for a MaxPool (no indices output, ceil_mode only from opset 10). */
export function bitMaxPoolAttrs(g: Graph, pool: Node): Map<string, AttrValue> {
  const a = new Map(pool.attrs);
  a.delete('storage_order');
  if ((g.opsets.get('') ?? 1) < 10) a.delete('ceil_mode');
  return a;
}

/** The attributes of BitReshape for a Flatten/Reshape of C channels read as rows of `length`. */
export function bitReshapeAttrs(r: Node, channels: number, nhwc: boolean, length: number): Map<string, AttrValue> {
  const a = new Map<string, AttrValue>([['channels', int(channels)], ['nhwc', int(nhwc ? 1 : 0)], ['length', int(length)]]);
  for (const k of ['axis', 'allowzero']) if (r.attrs.has(k)) a.set(k, r.attrs.get(k)!);
  return a;
}

export class SignMotion {
  private readonly made = new Map<string, string>();

  constructor(private readonly g: Graph, private readonly v: GraphView) {}

  /** Adds a node computing one output; its name and the output's are fresh. */
  private add(base: string, opType: string, domain: string, inputs: string[], attrs: Map<string, AttrValue>): string {
    const out = freshName(this.g, base);
    this.g.nodes.push({ name: out, opType, domain, inputs, outputs: [out], attrs });
    return out;
  }

  private once(key: string, make: () => string): string {
    const have = this.made.get(key);
    if (have) return have;
    const out = make();
    this.made.set(key, out);
    return out;
  }

  /** The value whose sign the layer takes: x, or x / divisor as the Quant computes it. */
  private signed(p: BipolarPath): string {
    const { sign } = p;
    if (sign.divisor === undefined) return sign.x;
    return this.once(`div:${sign.node.outputs[0]}`, () => {
      const s = freshName(this.g, `${sign.node.outputs[0]}__divisor`);
      this.g.initializers.set(s, makeTensor('float32', [], new Uint8Array(Float32Array.of(sign.divisor!).buffer)));
      return this.add(`${sign.node.outputs[0]}__quotient`, 'Div', '', [sign.x, s], new Map());
    });
  }

  /** Why the path cannot feed this reader, or undefined when it can. */
  check(p: BipolarPath, reader: Reader): string | undefined {
    if (!p.pool) return undefined;
    if (!p.reshape && !reader.conv) return 'a MaxPool feeds a MatMul/Gemm directly (no bit layout for that)';
    if (p.reshape && reader.conv) return 'a pooled sign reaches a Conv through a Flatten/Reshape';
    if (p.reshape && channelsOf(this.v, p.sign.x) === undefined) return 'the channels of the value pooled before the Flatten/Reshape are not known at load';
    return undefined;
  }

  /** X for the reader (check() first). */
  input(p: BipolarPath, reader: Reader): LayerInput {
    const { nanNegative } = p.sign;
    const x = this.signed(p);
    if (!p.pool) {
      const r = p.reshape;
      if (!r) return { x, packed: false, nanNegative };
      const moved = this.once(`reshape:${r.outputs[0]}:${x}`, () => this.add(`${r.outputs[0]}__of_${x}`, r.opType, '', [x, ...r.inputs.slice(1)], new Map(r.attrs)));
      return { x: moved, packed: false, nanNegative };
    }
    const pool = p.pool;
    const C = p.reshape ? channelsOf(this.v, p.sign.x)! : reader.channels;
    const bits = this.once(`pack:${x}:${nanNegative}:${C}`, () =>
      this.add(`${x}__sign_bits`, 'PackSigns', LOWBIT_DOMAIN, [x], new Map([['nhwc', int(1)], ['nan_negative', int(nanNegative)], ['channels', int(C)]])));
    const pooled = this.once(`pool:${pool.outputs[0]}:${bits}`, () =>
      this.add(`${pool.outputs[0]}__bits`, 'BitMaxPool', LOWBIT_DOMAIN, [bits], bitMaxPoolAttrs(this.g, pool)));
    const r = p.reshape;
    if (!r) return { x: pooled, packed: true, nanNegative };
    const out = this.once(`bitreshape:${r.outputs[0]}:${pooled}:${reader.channels}`, () =>
      this.add(`${r.outputs[0]}__bits`, 'BitReshape', LOWBIT_DOMAIN, r.opType === 'Reshape' ? [pooled, r.inputs[1]] : [pooled], bitReshapeAttrs(r, C, true, reader.channels)));
    return { x: out, packed: true, nanNegative };
  }
}
