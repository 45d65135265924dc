import { readFileSync } from 'node:fs';
import * as ortWeb from 'onnxruntime-web';
import { Machine } from '../src/kernels/machine.js';
import { ROWS } from './rows.js';
ortWeb.env.wasm.numThreads = 1; ortWeb.env.wasm.proxy = false;
const row = ROWS.find((r) => r.id === 'ternary_gemv_1x4096x4096')!;
const c = row.build();
const ortFeeds: Record<string, ortWeb.Tensor> = {};
for (const [n, f] of Object.entries(c.feeds)) ortFeeds[n] = new ortWeb.Tensor(f.type as ortWeb.Tensor.Type, f.data as Float32Array, f.dims);
const ort = await ortWeb.InferenceSession.create(c.model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
const m = new Machine(new WebAssembly.Module(readFileSync('/tmp/gemv-base/lowbit.relaxed.wasm')), 'relaxed');
let top = m.heapBase; const alloc = (n: number) => { const a = top; top += Math.ceil(n / 64) * 64; m.ensure(top); return a; };
const rows = 1024, cols = 1024; // 4 MiB f32
const x = alloc(rows * cols * 4), y = alloc(rows * 4);
const d = alloc(24); new Int32Array(m.memory.buffer, d, 6).set([1, rows, cols, 1, cols, 1]);
const dw = alloc(24); new Int32Array(m.memory.buffer, dw, 6).set([1, 4, 64, 1, 64, 1]);
const red = m.kernel('reduce');
for (let i = 0; i < 500; i++) red(0, 1, x, y, dw);
const put = (dd: ArrayBufferView) => { const a = alloc(dd.byteLength); new Uint8Array(m.memory.buffer).set(new Uint8Array(dd.buffer, dd.byteOffset, dd.byteLength), a); return a; };
const call = (n: string, ...a: number[]) => m.kernel(n)(...a) as number;
const N = 4096, K = 4096, M = 1;
const wb = Math.ceil(N / 4) * 64 * Math.ceil(K / 64);
const wp = alloc(wb + 4 * N);
call('pack_ternary_i8', put(new Int8Array(N * K).map((_, i) => ((i * 2654435761) >>> 30) % 3 - 1)), N, K, K, 1, wp);
call('ternary_row_sums', wp, N, K, wp + wb);
const rowc = alloc(4 * N); call('ternary_rowc', wp + wb, N, put(Uint8Array.of(128)), 0, 0, rowc);
const epi = put(new Int32Array([1, put(new Float32Array(N).fill(0.001)), 0, 1, 128, 0, 0, 0, 0, 0, 0]));
const a = put(new Uint8Array(M * K).map((_, i) => i * 7)); const cc = alloc(M * N);
for (let i = 0; i < 2000; i++) call('tgemm_t2i8', a, K, 0, wp, rowc, cc, M, 16, 256, N, epi);
const flush = new Uint8Array(64 << 20);
const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
const modes: Record<string, () => Promise<unknown> | void> = { warm: () => {}, ort: () => ort.run(ortFeeds), ortwait: async () => { await ort.run(ortFeeds); await new Promise((r) => setTimeout(r, 3)); }, ortspin: async () => { await ort.run(ortFeeds); const t = performance.now(); while (performance.now() - t < 2); }, sleep: () => new Promise((r) => setTimeout(r, 5)), flush: () => { flush.fill(1); }, read: () => { let s = 0; for (let i = 0; i < flush.length; i += 64) s += flush[i]; return void s; } };
for (let rep = 0; rep < 2; rep++) for (const [k, f] of Object.entries(modes)) {
  const t: number[] = [];
  for (let i = 0; i < 25; i++) { await f(); const t0 = performance.now(); red(0, 1, x, y, d); t.push(performance.now() - t0); }
  console.log(k.padEnd(6), 'reduce 4 MiB median', med(t).toFixed(3), 'min', Math.min(...t).toFixed(3));
  const t2: number[] = [];
  for (let i = 0; i < 25; i++) { await f(); const t0 = performance.now(); call('tgemm_t2i8', a, K, 0, wp, rowc, cc, M, N, K, N, epi); t2.push(performance.now() - t0); }
  console.log(k.padEnd(6), 'tgemv 4 MiB median', med(t2).toFixed(3), 'min', Math.min(...t2).toFixed(3));
}
