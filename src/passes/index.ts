// Graph-to-graph rewrites that run once per session, after decoding and before constant folding
// and planning: recognising quantized patterns (so a constant DequantizeLinear on packed weights
// becomes an integer kernel instead of being folded into f32), fusing epilogues.
//
// A pass is a small local rule: it matches nodes through a GraphView, replaces them with other
// nodes (standard ONNX ops, or internal ops of the `ai.lowbit` domain registered in
// src/ops/registry.ts), and reports how often it fired. Passes never change what a model computes
// beyond what the rule's comment states.

import type { Graph } from '../ir/graph.js';
import { binaryPass } from './binary.js';
import { dqMatmulPass } from './dq-matmul.js';
import { dynamicInt8Pass } from './dynamic-int8.js';
import { fuseActivationPass } from './fuse-activation.js';
import { LOWBIT_DOMAIN, removeDeadNodes } from './graph-view.js';
import { qdqInt8Pass } from './qdq-int8.js';
import { ternaryPass } from './ternary.js';

export { LOWBIT_DOMAIN };

export interface Pass {
  readonly name: string;
  /** Rewrites `g` in place; returns how many times the rule fired. */
  run(g: Graph): number;
}

/**
 * In the order they run. The int8 and ternary layer rules come before dq-matmul, which would
 * otherwise take an int8 or INT2 weight whose activation is quantised too onto the f32-activation
 * kernel; activation fusion comes last, on the f32 layers the others left (after the binary
 * rule, which matches only plain MatMul/Gemm/Conv).
 */
export const PASSES: readonly Pass[] = [qdqInt8Pass, dynamicInt8Pass, ternaryPass, dqMatmulPass, binaryPass, fuseActivationPass];

export interface PassReport {
  /** Rule name → times fired (rules that never fired are left out). */
  fired: Record<string, number>;
  removedNodes: number;
}

export function runPasses(g: Graph, passes: readonly Pass[] = PASSES): PassReport {
  const fired: Record<string, number> = {};
  for (const p of passes) {
    const n = p.run(g);
    if (n > 0) fired[p.name] = (fired[p.name] ?? 0) + n;
  }
  if (Object.keys(fired).length > 0) g.opsets.set(LOWBIT_DOMAIN, 1);
  return { fired, removedNodes: Object.keys(fired).length > 0 ? removeDeadNodes(g) : 0 };
}
