// The ONNX operator node tests, run inside `npm test` (the same check as `npm run conformance`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { listCases, runCase, summarize, type CaseResult } from '../scripts/lib/conformance.js';

const DIR = process.env.LOWBIT_NODE_TESTS ?? fileURLToPath(new URL('../../shared/onnx-node-tests', import.meta.url));
const QUANT_OPS = new Set(['QuantizeLinear', 'DequantizeLinear', 'QLinearMatMul', 'QLinearConv', 'MatMulInteger', 'ConvInteger', 'DynamicQuantizeLinear']);

describe('ONNX node tests', () => {
  it('every test whose ops are not quantization ops passes', async () => {
    expect(existsSync(DIR), `node tests not found at ${DIR} (set LOWBIT_NODE_TESTS)`).toBe(true);
    const results: CaseResult[] = [];
    for (const dir of listCases(DIR)) results.push(await runCase(dir));
    const s = summarize(results);
    const core = results.filter((r) => !r.ops.some((op) => QUANT_OPS.has(op)));
    const bad = core.filter((r) => r.status !== 'passed').map((r) => `${r.test}: ${r.why}`);
    expect(bad, `${bad.length} of ${core.length} core tests fail`).toEqual([]);
    expect(s.total).toBe(570);
  }, 600_000);
});
