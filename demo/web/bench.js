// The benchmark panel: one layer (a seeded model from bench/lib, served by the demo server) run
// by lowbit and by onnxruntime-web (WASM backend, 1 thread) in this page on this thread. Rounds
// alternate between the runtimes; each round times a batch of runs; the number is the median.

import * as lowbit from '/dist/index.js';
import { esc, kB, median } from './format.js';

const ARRAYS = { float32: Float32Array, uint8: Uint8Array, int8: Int8Array, int32: Int32Array };
const bytesOf = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

let ortModule;
/** onnxruntime-web, loaded on first use (its wasm is ~14 MB; lowbit never imports it). */
async function ort() {
  if (!ortModule) {
    ortModule = await import('/ort/ort.wasm.bundle.min.mjs');
    ortModule.env.wasm.numThreads = 1;
    ortModule.env.wasm.proxy = false;
    ortModule.env.wasm.wasmPaths = '/ort/';
  }
  return ortModule;
}

function decodeCase(c) {
  const feeds = {};
  for (const [name, f] of Object.entries(c.feeds)) {
    const raw = bytesOf(f.data);
    feeds[name] = { type: f.type, dims: f.dims, data: new ARRAYS[f.type](raw.buffer, 0, raw.byteLength / ARRAYS[f.type].BYTES_PER_ELEMENT) };
  }
  return { model: bytesOf(c.model), feeds };
}

/** A runtime as { run(): Promise<output data> } over fixed feeds. */
async function lowbitRunner(c) {
  const s = await lowbit.InferenceSession.create(c.model);
  const feeds = Object.fromEntries(Object.entries(c.feeds).map(([n, f]) => [n, new lowbit.Tensor(f.type, f.data, f.dims)]));
  return { backend: s.backend, run: async () => (await s.run(feeds))[s.outputNames[0]].data, release: () => s.release() };
}

async function ortRunner(c) {
  const o = await ort();
  const s = await o.InferenceSession.create(c.model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const feeds = Object.fromEntries(Object.entries(c.feeds).map(([n, f]) => [n, new o.Tensor(f.type, f.data, f.dims)]));
  return { run: async () => (await s.run(feeds))[s.outputNames[0]].data, release: () => s.release() };
}

function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(Number(a[i]) - Number(b[i])));
  return m;
}

/** Per-run ms of each runner: `rounds` alternating rounds, each a batch of ≥ minBatchMs. */
async function timeAlternating(runners, rounds, minBatchMs) {
  const batch = [];
  for (const r of runners) {
    const t0 = performance.now();
    await r.run();
    batch.push(Math.max(1, Math.ceil(minBatchMs / Math.max(performance.now() - t0, 0.01))));
  }
  const per = runners.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < runners.length; i++) {
      const t0 = performance.now();
      for (let k = 0; k < batch[i]; k++) await runners[i].run();
      per[i].push((performance.now() - t0) / batch[i]);
    }
    await new Promise((r) => setTimeout(r, 0)); // let the page paint between rounds
  }
  return per.map(median);
}

function render(layer, res, manifest) {
  const rows = [
    { name: 'lowbit', sub: `${res.backend} build`, ms: res.lowbitMs, color: 'var(--accent)' },
    { name: 'onnxruntime-web', sub: 'same model', ms: res.ortMs, color: 'var(--ort)' },
  ];
  if (res.ortTwinMs !== undefined) rows.push({ name: 'onnxruntime-web', sub: 'as an int8 model', ms: res.ortTwinMs, color: '#cbd5e1' });
  const max = Math.max(...rows.map((r) => r.ms));
  const gmacs = (t) => `${(layer.macs / (t * 1e6)).toFixed(1)} GMAC/s`;
  const agree = res.integer ? (res.maxDiff === 0 ? 'bit-identical outputs' : `outputs within ${res.maxDiff} quantum`) : `max |Δ| = ${res.maxDiff.toExponential(1)}`;
  document.getElementById('bench-out').innerHTML = rows.map((r) => `
    <div><div class="name">${r.name}</div><div class="small">${r.sub}</div></div>
    <div class="bar"><span style="width:${((100 * r.ms) / max).toFixed(1)}%;background:${r.color}"></span></div>
    <div class="num big" data-runtime="${r.name === 'lowbit' ? 'lowbit' : r.sub === 'same model' ? 'ort' : 'ort-int8'}">${r.ms.toFixed(3)} ms</div>
    <div class="num small">${gmacs(r.ms)}</div>`).join('') + `
    <div class="summary">${esc(layer.label)} — ${esc(layer.note)}. lowbit is <b>${(res.ortMs / res.lowbitMs).toFixed(1)}×</b> ${res.ortMs >= res.lowbitMs ? 'faster' : 'slower'} than onnxruntime-web on the same model
      (${agree} vs onnxruntime). Download: lowbit's ${res.backend} kernels <b>${kB(manifest.wasmBytes[res.backend])}</b>,
      onnxruntime-web's wasm <b>${kB(manifest.ortWasmBytes)}</b>. Median of ${res.rounds} alternating rounds.</div>`;
}

/** Runs the benchmark for one layer id; renders and returns the numbers. */
export async function runBench(manifest, id, { rounds = 7, minBatchMs = 40 } = {}) {
  const layer = manifest.layers.find((l) => l.id === id);
  document.getElementById('layer').value = id;
  const json = await (await fetch(`/layers/${id}.json`)).json();
  const main = decodeCase(json.model);
  const runners = [await lowbitRunner(main), await ortRunner(main)];
  if (json.twin) runners.push(await ortRunner(decodeCase(json.twin)));
  try {
    const [a, b] = [await runners[0].run(), await runners[1].run()];
    const integer = !(a instanceof Float32Array);
    const times = await timeAlternating(runners, rounds, minBatchMs);
    const res = {
      id, backend: runners[0].backend, lowbitMs: times[0], ortMs: times[1], ortTwinMs: times[2],
      maxDiff: maxAbsDiff(a, b), integer, outputs: a.length, rounds,
    };
    render(layer, res, manifest);
    return res;
  } finally {
    for (const r of runners) await r.release();
  }
}
