// Graph-to-graph rewrites that run once per session, after decoding and before constant folding
// and planning: recognising quantized patterns (so a constant DequantizeLinear on packed weights
// becomes an integer kernel instead of being folded into f32), fusing epilogues.
//
// A pass is a small local rule: it matches nodes through a GraphView, replaces them with other
// nodes (standard ONNX ops, or internal ops of the `ai.lowbit` domain registered in
// src/ops/registry.ts), and reports how often it fired. Passes never change what a model computes
// beyond what the rule's comment states.

import type { Graph, Node } from '../ir/graph.js';
import { binaryPass } from './binary.js';
import { binaryChainPass, binaryFoldPass } from './binary-chain.js';
import { dqMatmulPass } from './dq-matmul.js';
import { dynamicInt8Pass } from './dynamic-int8.js';
import { exportFormsPass } from './export-forms.js';
import { fuseActivationPass } from './fuse-activation.js';
import { LOWBIT_DOMAIN, removeDeadNodes } from './graph-view.js';
import { qdqInt8Pass } from './qdq-int8.js';
import { qdqPassthroughPass } from './qdq-passthrough.js';
import { qdqWidenPass } from './qdq-widen.js';
import { qonnxQuantPass } from './qonnx-quant.js';
import { ternaryPass } from './ternary.js';

export { LOWBIT_DOMAIN };

export interface Pass {
  readonly name: string;
  /**
   * Rewrites `g` in place; returns how many times the rule fired. A candidate it leaves as it was
   * (a layer the rule is about that does not match) is told to `log` with the reason.
   */
  run(g: Graph, log?: PassLog): number;
}

export interface PassLog {
  decline(node: Node, reason: string): void;
}

/** Why rules left a node as it was: its op when they looked, and '<rule>: <reason>' lines. */
export interface Decline {
  readonly opType: string;
  readonly domain: string;
  readonly reasons: string[];
}

/** Node name → what the rules said about it (src/session/inspect.ts shows it). */
export type Declines = Map<string, Decline>;

/**
 * In the order they run. The int8 and ternary layer rules come before dq-matmul, which would
 * otherwise take an int8 or INT2 weight whose activation is quantised too onto the f32-activation
 * kernel; activation fusion comes last, on the f32 layers the others left (after the binary rule,
 * which matches only plain MatMul/Gemm/Conv, and after the binary layers took the per-channel ops
 * that follow them: chains into sign bits first, then exact f32 folds, leaving a trailing
 * Relu/Clip to fusion). The QONNX rule comes before the binary rule, to which it leaves 1-bit
 * weights under bipolar activations (folded to their ±s values). export-forms goes first: it puts
 * exporter quirks (a batch read off the tensor for a Reshape, transposed weight quantizers) the
 * way the rules read them; qdq-widen then puts 2- and 4-bit QDQ activations in the 8-bit containers
 * the integer rules read, and qdq-passthrough moves MaxPool and data movement between a DQ and a Q
 * of the same parameters onto the integers, so the layers around them meet integer inputs.
 */
export const PASSES: readonly Pass[] = [
  exportFormsPass, qdqWidenPass, qdqPassthroughPass, qdqInt8Pass, dynamicInt8Pass, ternaryPass, dqMatmulPass, qonnxQuantPass, binaryPass, binaryChainPass, binaryFoldPass,
  fuseActivationPass,
];

export interface PassReport {
  /** Rule name → times fired (rules that never fired are left out). */
  fired: Record<string, number>;
  removedNodes: number;
}

export function runPasses(g: Graph, passes: readonly Pass[] = PASSES, declines?: Declines): PassReport {
  const fired: Record<string, number> = {};
  for (const p of passes) {
    const log: PassLog = {
      decline(node, reason) {
        const line = `${p.name}: ${reason}`;
        const d = declines?.get(node.name);
        if (!d) declines?.set(node.name, { opType: node.opType, domain: node.domain, reasons: [line] });
        else if (!d.reasons.includes(line)) d.reasons.push(line);
      },
    };
    const n = p.run(g, log);
    if (n > 0) fired[p.name] = (fired[p.name] ?? 0) + n;
  }
  if (Object.keys(fired).length > 0) g.opsets.set(LOWBIT_DOMAIN, 1);
  return { fired, removedNodes: Object.keys(fired).length > 0 ? removeDeadNodes(g) : 0 };
}
