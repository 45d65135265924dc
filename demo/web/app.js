// The demo page: wires the input panel, the per-precision results and the layer benchmark, and
// exposes window.lowbitDemo for the browser test (test/browser/demo.test.ts).

import * as lowbit from '/dist/index.js';
import { runBench } from './bench.js';
import { classify } from './classify.js';
import { esc, kB } from './format.js';
import { setupInput } from './input.js';
import { PrecisionPanel } from './precisions.js';

const $ = (id) => document.getElementById(id);
const fetchBytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
const toBase64 = (u8) => {
  let s = '';
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  return btoa(s);
};

const manifest = await (await fetch('/manifest.json')).json();
const [images, labels] = await Promise.all([fetchBytes(manifest.images), fetchBytes(manifest.labels)]);
const panel = new PrecisionPanel(manifest.models, manifest.classes);
const have = await lowbit.supportedBackends();
let current = { pixels: images.slice(0, 784), label: labels[0] };

function showEnv(backend) {
  const mode = panel.worker ? 'a Web Worker per model' : 'the page thread';
  $('env').innerHTML = `kernels: <b>${esc(backend)}</b> build, <b>${kB(manifest.wasmBytes[backend])}</b> of wasm ` +
    `<span title="builds this engine can run">(engine: ${have.join(' / ')})</span> · running in ${mode}`;
}

async function classifyCurrent() {
  const runs = Math.max(1, Math.min(500, Number($('runs').value) || 30));
  const r = await panel.classify(current.pixels, current.label, runs);
  if (r) $('rows').dataset.classified = String(Number($('rows').dataset.classified ?? 0) + 1);
  $('foot').textContent = `Latency: one image, median of ${runs} runs after 5 warm-up runs, measured from the page` +
    (panel.worker ? ' (includes the round trip to the worker).' : '.') +
    ' Confidence: softmax of the class scores. Weights in memory: the bytes lowbit\u2019s kernels read, packed, with scales.';
  return r;
}

async function openSessions() {
  const backend = await panel.open($('worker').checked);
  showEnv(backend);
  return backend;
}

const input = setupInput({
  images, labels, classes: manifest.classes,
  onImage: (pixels, info) => {
    current = { pixels, label: info.label };
    return classifyCurrent().catch(report);
  },
});

function report(e) {
  $('env').textContent = `error: ${e.message}`;
  console.error(e);
}

$('worker').addEventListener('change', () => openSessions().then(classifyCurrent).catch(report));
$('runs').addEventListener('change', () => classifyCurrent().catch(report));

$('layer').innerHTML = manifest.layers.map((l) => `<option value="${l.id}">${esc(l.label)}</option>`).join('');
$('bench-run').addEventListener('click', async () => {
  $('bench-run').disabled = true;
  $('bench-status').textContent = 'running… (loads onnxruntime-web on first use)';
  try {
    await runBench(manifest, $('layer').value);
    $('bench-status').textContent = '';
  } catch (e) {
    $('bench-status').textContent = `error: ${e.message}`;
  } finally {
    $('bench-run').disabled = false;
  }
});

await openSessions();
input.select(0);

window.lowbitDemo = {
  manifest,
  /** Selects a bundled image; resolves with every precision's result for it. */
  select: (index) => input.select(index),
  /** Classifies the whole bundled subset with one precision's session: argmaxes and output bytes. */
  async classifyAll(id) {
    const s = panel.session(id);
    const { bytes, preds } = await classify(s, lowbit.Tensor, images);
    return { preds, bytes: toBase64(bytes), backend: s.backend, kind: s.constructor.name };
  },
  async setWorker(on) {
    $('worker').checked = on;
    await openSessions();
    return classifyCurrent();
  },
  bench: (id, opts) => runBench(manifest, id, opts),
};
$('env').dataset.ready = 'true';
