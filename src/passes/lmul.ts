// L-Mul execution mode (opt-in, session option `lmul`): the f32 MatMul / Gemm / Conv nodes of the
// chosen kinds become `ai.lowbit` LMulMatMul / LMulGemm / LMulConv, whose GEMM products are
// L-Mul integer adds on m-bit mantissas (assembly/lmul.ts) with f32 accumulation. This changes
// the numbers by design, which is why it runs only when asked and inspect marks those nodes
// inexact. What stays float: Gemm's alpha/beta scaling, biases, activations.
//
// Kinds: 'MatMul', 'Gemm', 'Conv' (every node of that op, fused activations included), and
// 'attention': the two MatMuls of a Q·Kᵀ → Softmax → ·V block — a MatMul whose output reaches a
// Softmax through only scalar scaling / masking (Mul, Div, Add, Sub, Where, Cast), and the MatMul
// that reads that Softmax (through Cast/Dropout/Identity) as its first input.

import { fail } from '../errors.js';
import type { Graph, Node } from '../ir/graph.js';
import { GraphView, LOWBIT_DOMAIN } from './graph-view.js';
import type { Pass } from './index.js';

export const LMUL_OPS = ['MatMul', 'Gemm', 'Conv', 'attention'] as const;
export type LmulOp = (typeof LMUL_OPS)[number];

export interface LmulOptions {
  /** Mantissa bits kept of each operand (truncated), 1…23. */
  mantissaBits: number;
  /** Op kinds to run on L-Mul (default: all four). */
  ops?: readonly LmulOp[];
}

/** Checks user options; a bad value is a LowbitError (LOWBIT_BAD_OPTION) at create time. */
export function checkLmulOptions(o: unknown): Required<LmulOptions> {
  if (typeof o !== 'object' || o === null) fail('LOWBIT_BAD_OPTION', 'option lmul must be an object { mantissaBits, ops? }');
  const { mantissaBits: m, ops } = o as LmulOptions;
  if (!Number.isInteger(m) || m < 1 || m > 23) {
    fail('LOWBIT_BAD_OPTION', `option lmul.mantissaBits must be an integer from 1 to 23 (got ${String(m)})`);
  }
  if (ops !== undefined && (!Array.isArray(ops) || ops.length === 0)) fail('LOWBIT_BAD_OPTION', 'option lmul.ops must be a non-empty list of op kinds');
  for (const k of ops ?? []) {
    if (!LMUL_OPS.includes(k)) fail('LOWBIT_BAD_OPTION', `option lmul.ops: unknown op kind '${String(k)}' (use ${LMUL_OPS.join(', ')})`);
  }
  return { mantissaBits: m, ops: ops ?? LMUL_OPS };
}

/** The L-Mul op each f32 GEMM-like node becomes, by (domain, op type). */
const TARGET: Record<string, { kind: LmulOp; to: string }> = {
  MatMul: { kind: 'MatMul', to: 'LMulMatMul' },
  Gemm: { kind: 'Gemm', to: 'LMulGemm' },
  Conv: { kind: 'Conv', to: 'LMulConv' },
  [`${LOWBIT_DOMAIN}:FusedMatMul`]: { kind: 'MatMul', to: 'LMulMatMul' },
  [`${LOWBIT_DOMAIN}:FusedGemm`]: { kind: 'Gemm', to: 'LMulGemm' },
  [`${LOWBIT_DOMAIN}:FusedConv`]: { kind: 'Conv', to: 'LMulConv' },
};

const targetOf = (n: Node) => TARGET[n.domain === '' ? n.opType : `${n.domain}:${n.opType}`];

const SCORE_PATH = new Set(['Mul', 'Div', 'Add', 'Sub', 'Where', 'Cast']);
const PROB_PATH = new Set(['Cast', 'Dropout', 'Identity']);

/** MatMuls of Q·Kᵀ → Softmax → ·V blocks. */
export function attentionMatmuls(g: Graph): Set<Node> {
  const v = new GraphView(g);
  const found = new Set<Node>();
  const isMatMul = (n: Node | undefined) => n !== undefined && targetOf(n)?.kind === 'MatMul';
  for (const sm of g.nodes) {
    if (sm.domain !== '' || sm.opType !== 'Softmax') continue;
    // Back from the Softmax input to the score MatMul.
    let score: Node | undefined = v.producer(sm.inputs[0]);
    while (score && score.domain === '' && SCORE_PATH.has(score.opType)) {
      const ins = score.inputs.filter((i) => i !== '' && !g.initializers.has(i));
      const up = ins.map((i) => v.producer(i)).filter((p) => p !== undefined);
      score = up.find((p) => isMatMul(p) || (p!.domain === '' && SCORE_PATH.has(p!.opType)));
    }
    if (!isMatMul(score)) continue;
    // Forward from the Softmax output to the MatMul that weighs V.
    const ctxMatmuls: Node[] = [];
    const walk = (value: string, depth: number) => {
      for (const c of v.consumersOf(value)) {
        if (isMatMul(c) && c.inputs[0] === value) ctxMatmuls.push(c);
        else if (depth < 3 && c.domain === '' && PROB_PATH.has(c.opType)) walk(c.outputs[0], depth + 1);
      }
    };
    walk(sm.outputs[0], 0);
    if (ctxMatmuls.length === 0) continue;
    found.add(score!);
    for (const n of ctxMatmuls) found.add(n);
  }
  return found;
}

export function lmulPass(opts: LmulOptions): Pass {
  const { mantissaBits, ops } = checkLmulOptions(opts);
  return {
    name: 'lmul',
    run(g) {
      const attention = ops.includes('attention') ? attentionMatmuls(g) : new Set<Node>();
      let fired = 0;
      for (const n of g.nodes) {
        const t = targetOf(n);
        if (!t || !(ops.includes(t.kind) || attention.has(n))) continue;
        n.opType = t.to;
        n.domain = LOWBIT_DOMAIN;
        n.attrs.set('mantissa_bits', { type: 'int', value: mantissaBits });
        fired++;
      }
      return fired;
    },
  };
}
