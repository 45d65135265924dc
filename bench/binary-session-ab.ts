// Session A/B of two kernel builds on the binary bench rows: lowbit sessions on DIR_A and DIR_B
// (their lowbit.relaxed.wasm, via the session option `wasm`) and onnxruntime-web fp32 / int8, all
// interleaved in one process (A and B alternate places), medians and the median per-run B/A.
// Run: node --experimental-wasm-relaxed-simd --import tsx bench/binary-session-ab.ts DIR_A DIR_B [seconds]
import { readFileSync } from 'node:fs';
import * as ortWeb from 'onnxruntime-web';
import { InferenceSession, Tensor } from '../src/index.js';
import { ROWS } from './rows.js';
ortWeb.env.wasm.numThreads = 1; ortWeb.env.wasm.proxy = false;
const [dirA, dirB, secs = '8'] = process.argv.slice(2);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const row of ROWS.filter((r) => r.id === 'binary_gemm_64x1024x1024' || r.id === 'binary_conv3x3_64x64x56')) {
  const c = row.build();
  const mk = async (dir: string) => {
    const s = await InferenceSession.create(c.model, { backend: 'relaxed', wasm: new Uint8Array(readFileSync(`${dir}/lowbit.relaxed.wasm`)) } as any);
    const feeds: Record<string, Tensor> = {};
    for (const [n, f] of Object.entries(c.feeds)) feeds[n] = new Tensor(f.type, f.data as Float32Array, f.dims);
    return () => s.runSync(feeds);
  };
  const ort = async (cc: typeof c) => {
    const s = await ortWeb.InferenceSession.create(cc.model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
    const feeds: Record<string, ortWeb.Tensor> = {};
    for (const [n, f] of Object.entries(cc.feeds)) feeds[n] = new ortWeb.Tensor(f.type as ortWeb.Tensor.Type, f.data as Float32Array, f.dims);
    return () => s.run(feeds);
  };
  const cols: Record<string, () => unknown> = { A: await mk(dirA), B: await mk(dirB), fp32: await ort(c), int8: await ort(row.int8Twin!()) };
  for (let i = 0; i < 20; i++) { (cols.A as any)(); (cols.B as any)(); }
  const t: Record<string, number[]> = { A: [], B: [], fp32: [], int8: [] };
  const order = [['fp32', 'A', 'int8', 'B'], ['fp32', 'B', 'int8', 'A']];
  const start = performance.now();
  for (let i = 0; performance.now() - start < Number(secs) * 1000; i++) {
    for (const k of order[i % 2]) { const t0 = performance.now(); await cols[k](); t[k].push(performance.now() - t0); }
  }
  const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
  const ratios = t.A.map((a, i) => t.B[i] / a);
  console.log(`${row.id} (${t.A.length} runs): A ${m.A.toFixed(3)} ms (${(m.fp32 / m.A).toFixed(2)}x fp32, ${(m.int8 / m.A).toFixed(2)}x int8)  B ${m.B.toFixed(3)} ms (${(m.fp32 / m.B).toFixed(2)}x fp32, ${(m.int8 / m.B).toFixed(2)}x int8)  fp32 ${m.fp32.toFixed(3)} int8 ${m.int8.toFixed(3)}  B/A median ${median(ratios).toFixed(3)}`);
}
