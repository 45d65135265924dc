// Operator table: (domain, op_type) → implementation, checked against the model's opset.

import { fail } from '../errors.js';
import { nodeLabel, type Graph, type Node } from '../ir/graph.js';
import type { OpDef } from './context.js';
import { batchNormOps } from './batchnorm.js';
import { binaryOps } from './binary.js';
import { binaryBitsOps } from './binary-bits.js';
import { castOps } from './cast.js';
import { convOps, fusedConvOps } from './conv.js';
import { elementwiseOps } from './elementwise.js';
import { fusedMatmulOps, lmulMatmulOps, matmulOps } from './matmul.js';
import { microsoftOps } from './matmul-nbits.js';
import { lowbitOps } from './matmul-qw.js';
import { normOps } from './norm.js';
import { poolOps } from './pool.js';
import { qconvFloatOps, qconvOps } from './qconv.js';
import { qgemmOps } from './qgemm.js';
import { qmatmulOps } from './qmatmul.js';
import { QONNX_DOMAINS, qonnxIntOps, qonnxOps } from './qonnx.js';
import { quantOps } from './quant.js';
import { reduceOps } from './reduce.js';
import { shapeOps } from './shape.js';
import { ternaryOps } from './ternary.js';

/** Highest ai.onnx opset whose semantics lowbit implements. */
export const MAX_ONNX_OPSET = 25;

/** ai.onnx operators, one table per concern. */
const ONNX_OPS: Record<string, OpDef> = {
  ...elementwiseOps,
  ...castOps,
  ...shapeOps,
  ...matmulOps,
  ...convOps,
  ...poolOps,
  ...reduceOps,
  ...normOps,
  ...batchNormOps,
  ...qmatmulOps,
  ...qconvOps,
  ...quantOps,
};

const DOMAINS = new Map<string, Record<string, OpDef>>([
  ['', ONNX_OPS],
  ['com.microsoft', { ...microsoftOps }],
  ['ai.lowbit', { ...lowbitOps, ...binaryOps, ...binaryBitsOps, ...qgemmOps, ...fusedConvOps, ...fusedMatmulOps, ...lmulMatmulOps, ...qonnxIntOps, ...qconvFloatOps, ...ternaryOps }],
  ...QONNX_DOMAINS.map((d): [string, Record<string, OpDef>] => [d, qonnxOps]),
]);

/** Domains models use without importing them (exporters omit com.microsoft and the QONNX ones): assumed opset 1. */
const IMPLICIT_OPSET = new Map<string, number>([['com.microsoft', 1], ...QONNX_DOMAINS.map((d): [string, number] => [d, 1])]);

export interface ResolvedOp {
  def: OpDef;
  opset: number;
}

export function resolveOp(node: Node, graph: Graph): ResolvedOp {
  const domain = node.domain;
  const opset = graph.opsets.get(domain) ?? IMPLICIT_OPSET.get(domain);
  const table = DOMAINS.get(domain);
  const dom = domain === '' ? 'ai.onnx' : domain;
  if (opset === undefined && domain !== '') {
    fail('LOWBIT_UNSUPPORTED_OP', `${nodeLabel(node)}: domain '${dom}' is not imported by the model (opset_import)`);
  }
  if (!table) fail('LOWBIT_UNSUPPORTED_OP', `${nodeLabel(node)}: domain '${dom}' (opset ${opset}) is not supported`);
  const def = Object.prototype.hasOwnProperty.call(table, node.opType) ? table[node.opType] : undefined;
  if (!def) fail('LOWBIT_UNSUPPORTED_OP', `${nodeLabel(node)}: operator ${node.opType} (domain ${dom}, opset ${opset}) is not supported`);
  if (domain === '' && (opset! < 1 || opset! > MAX_ONNX_OPSET)) {
    fail('LOWBIT_UNSUPPORTED_OP', `${nodeLabel(node)}: ai.onnx opset ${opset} is not supported (1…${MAX_ONNX_OPSET})`);
  }
  return { def, opset: opset ?? 1 };
}

export function supportedOps(): { domain: string; opType: string }[] {
  return [...DOMAINS.entries()].flatMap(([domain, t]) => Object.keys(t).map((opType) => ({ domain, opType })));
}
