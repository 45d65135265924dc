// The results panel: one lowbit session per precision (in a Web Worker or on the page's thread),
// each image classified by all of them in turn — prediction, softmax confidence, median latency.

import { createSession, Tensor } from '/dist/index.js';
import { esc, kB, median } from './format.js';

const ms = (t) => (t < 1 ? `${t.toFixed(3)} ms` : `${t.toFixed(2)} ms`);

function softmax(scores) {
  const m = Math.max(...scores);
  const e = Array.from(scores, (s) => Math.exp(s - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

export class PrecisionPanel {
  constructor(models, classes) {
    this.models = models;
    this.classes = classes;
    this.sessions = new Map();
    this.generation = 0;
    this.renderSkeleton();
  }

  /** (Re)creates every session; worker: run them in module Web Workers. */
  async open(worker) {
    this.generation++;
    const old = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(old.map((s) => s.release()));
    const made = await Promise.all(this.models.map((m) => createSession(m.url, { worker })));
    this.models.forEach((m, i) => this.sessions.set(m.id, made[i]));
    this.worker = worker;
    return made[0].backend;
  }

  session(id) {
    return this.sessions.get(id);
  }

  renderSkeleton() {
    document.getElementById('rows').innerHTML = this.models.map((m) => `
      <tr id="row-${m.id}">
        <td><span class="prec" style="background:var(--${m.id})">${esc(m.label)}</span>
          <div class="prec-note">${(100 * m.testAccuracy).toFixed(1)} % on the 10,000 test images</div>
          <div class="kernels" title="lowbit kernels, layer by layer">${m.kernels.map(esc).join(' → ')}</div></td>
        <td class="out"><span class="small">—</span></td>
        <td class="num lat">—</td>
        <td class="num"><div class="big">${kB(m.fileBytes)}</div><div class="small">.onnx download</div></td>
        <td class="num"><div class="big">${kB(m.packedWeightBytes)}</div>
          <div class="small">fp32 ÷ packed = ${(m.fp32WeightBytes / m.packedWeightBytes).toFixed(1)}×</div></td>
      </tr>`).join('');
  }

  renderRow(m, r, label) {
    const row = document.getElementById(`row-${m.id}`);
    const top = r.probs.map((p, c) => [p, c]).sort((a, b) => b[0] - a[0]).slice(0, 3);
    const verdict = label === undefined ? '' : r.pred === label ? 'ok' : 'wrong';
    row.querySelector('.out').innerHTML = `<div class="pred ${verdict}">${esc(this.classes[r.pred])}</div><div class="bars">${top.map(([p, c]) =>
      `<span>${esc(this.classes[c])}</span><div class="bar"><span style="width:${(100 * p).toFixed(1)}%;background:var(--${m.id})"></span></div><span class="num">${(100 * p).toFixed(1)} %</span>`).join('')}</div>`;
    row.querySelector('.lat').innerHTML = `<div class="big">${ms(r.ms)}</div><div class="small">median of ${r.runs}</div>`;
  }

  /** Classifies one 28×28 image with every precision in turn; a newer call supersedes it. */
  async classify(pixels, label, runs) {
    const gen = ++this.generation;
    const x = new Float32Array(784);
    for (let i = 0; i < 784; i++) x[i] = pixels[i] / 255;
    const results = [];
    for (const m of this.models) {
      const s = this.sessions.get(m.id);
      if (!s || gen !== this.generation) return undefined;
      const feeds = { [s.inputNames[0]]: new Tensor('float32', x, [1, 1, 28, 28]) };
      let out;
      const times = [];
      try {
        for (let i = -5; i < runs; i++) {
          const t0 = performance.now();
          out = await s.run(feeds);
          if (i >= 0) times.push(performance.now() - t0);
        }
      } catch (e) {
        if (gen !== this.generation) return undefined; // the sessions were replaced meanwhile
        throw e;
      }
      if (gen !== this.generation) return undefined;
      const scores = out[s.outputNames[0]].data;
      const probs = softmax(scores);
      const pred = probs.indexOf(Math.max(...probs));
      const r = { id: m.id, pred, confidence: probs[pred], probs, ms: median(times), runs };
      this.renderRow(m, r, label);
      results.push(r);
    }
    return results;
  }
}
