// `lowbit bench`, in-process through main(argv) on short timing plans: the --json report (every
// runtime timed in the same number of blocks of runs, ratios and order statistics consistent,
// outputs compared with lowbit's), the table, --shape and --input, a model onnxruntime cannot load, the
// one-line error when onnxruntime is not installed, and the progress bar (drawn on a terminal
// only). No assertion on speed: that is what the command measures. The installed-package case
// (no onnxruntime in node_modules) runs the built bin in test/cli/bin.test.ts.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blockRuns, roundsFor, timeInBlocks, type TimingPlan } from '../../src/cli/bench/measure.js';
import { progressBar } from '../../src/cli/progress.js';
import { main, type CliIO } from '../../src/cli/main.js';
import { writeNpy } from '../../src/cli/npy.js';

const model = (f: string) => new URL(`../../models/${f}`, import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const tmp = mkdtempSync(join(tmpdir(), 'lowbit-bench-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(argv: string[], extra: Partial<CliIO> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), ...extra });
  return { code, out, err };
}

describe('lowbit bench', () => {
  it('--vs ort --json: lowbit, onnxruntime-web and -node timed in interleaved blocks on the same inputs', async () => {
    const { code, out, err } = await cli(['bench', model('fmnist-mlp-fp32.onnx'), '--vs', 'ort', '--time', '0.3', '--json']);
    expect([code, err]).toEqual([0, '']);
    const r = JSON.parse(out);
    expect(r.model).toBe(model('fmnist-mlp-fp32.onnx'));
    expect(r.inputs).toEqual([{ name: 'input', type: 'float32', dims: [1, 1, 28, 28] }]);
    expect(r.errors).toEqual({});
    expect(r.runtimes.map((x: { id: string }) => x.id)).toEqual(['lowbit', 'ort-web', 'ort-node']);
    const [lowbit, web, node] = r.runtimes;
    expect(lowbit.version).toBe(pkg.version);
    expect([web.detail, node.detail]).toEqual(['WASM, 1 thread', 'CPU, 1 thread']);
    for (const x of r.runtimes) {
      expect(x.blocks).toBe(lowbit.blocks);
      expect(x.runs_per_block).toBeGreaterThanOrEqual(2);
      expect(x.runs).toBe(x.blocks * (x.runs_per_block - 1)); // a block's first run is timed apart
      expect(x.cold_ms).toBeGreaterThan(0);
      expect(x.p10_ms).toBeGreaterThan(0);
      expect(x.p10_ms).toBeLessThanOrEqual(x.median_ms);
      expect(x.median_ms).toBeLessThanOrEqual(x.p90_ms);
      expect(x.over_lowbit).toBeCloseTo(x.median_ms / lowbit.median_ms, 12);
    }
    expect(lowbit.runs).toBeGreaterThanOrEqual(10);
    expect(lowbit.over_lowbit).toBe(1);
    // fp32 logits from three runtimes: the same up to the order of float sums.
    expect(web.max_abs_diff_vs_lowbit).toBeLessThan(1e-4);
    expect(node.max_abs_diff_vs_lowbit).toBeLessThan(1e-4);
  });

  it('prints a table: one row per runtime, medians, p90s, ratios', async () => {
    const { code, out } = await cli(['bench', model('fmnist-mlp-int8-qdq.onnx'), '--vs', 'ort-web', '--time', '0.2']);
    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines[0]).toBe(`${model('fmnist-mlp-int8-qdq.onnx')}: input float32 [1,1,28,28]`);
    expect(lines[2]).toMatch(/^runtime\s+median ms\s+p90 ms\s+cold ms\s+runs\s+÷ lowbit\s+max \|Δ\| vs lowbit\s+on$/);
    expect(lines[4]).toMatch(new RegExp(`^lowbit ${pkg.version.replace(/\./g, '\\.')}\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+\\s+\\d+\\s+1\\.00×\\s+—\\s+\\w+ build, precision model$`));
    expect(lines[5]).toMatch(/^ort-web 1\.\d+\.\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+\d+\s+[\d.]+×\s+\d\.\de[+-]\d+\s+WASM, 1 thread$/);
    expect(out).toContain("cold: that first run, right after the other runtimes' runs (their data in the caches).");
    expect(out).toContain("÷ lowbit: the runtime's median time over lowbit's (above 1: lowbit is faster).");
  });

  it('--shape sets symbolic dims; --input takes a file', async () => {
    const shaped = JSON.parse((await cli(['bench', model('fmnist-mlp-int4-nbits.onnx'), '--shape', 'input=4x1x28x28', '--time', '0.1', '--json'])).out);
    expect(shaped.inputs[0].dims).toEqual([4, 1, 28, 28]);
    expect(shaped.runtimes.map((x: { id: string }) => x.id)).toEqual(['lowbit']);
    const file = join(tmp, 'x.npy');
    writeFileSync(file, writeNpy({ type: 'float32', dims: [3, 1, 28, 28], bytes: new Uint8Array(3 * 784 * 4) }));
    const fromFile = JSON.parse((await cli(['bench', model('fmnist-mlp-int4-nbits.onnx'), '--input', `input=${file}`, '--vs', 'ort-node', '--time', '0.1', '--json'])).out);
    expect(fromFile.inputs[0].dims).toEqual([3, 1, 28, 28]);
    expect(fromFile.runtimes[1].max_abs_diff_vs_lowbit).toBeLessThan(1e-2);
  });

  it('times lowbit alone when onnxruntime cannot load the model, and says why', async () => {
    const { code, out, err } = await cli(['bench', model('fmnist-mlp-w1a1-qonnx.onnx'), '--vs', 'ort-node', '--time', '0.1', '--json']);
    expect([code, err]).toEqual([0, '']);
    const r = JSON.parse(out);
    expect(r.runtimes.map((x: { id: string }) => x.id)).toEqual(['lowbit']);
    expect(r.errors['ort-node']).toMatch(/^cannot load the model: .*Quant/);
    const table = await cli(['bench', model('fmnist-mlp-w1a1-qonnx.onnx'), '--vs', 'ort-node', '--time', '0.1']);
    expect(table.out).toMatch(/\nort-node: not timed: cannot load the model: /);
  });

  it('one line on stderr when onnxruntime is not installed', async () => {
    const notInstalled = (pkgName: string) => Promise.reject(Object.assign(new Error(`Cannot find package '${pkgName}'`), { code: 'ERR_MODULE_NOT_FOUND' }));
    const both = await cli(['bench', model('fmnist-mlp-fp32.onnx'), '--vs', 'ort'], { importer: notInstalled });
    expect([both.code, both.out, both.err]).toEqual([1, '', 'lowbit: error: --vs needs onnxruntime-web and onnxruntime-node, which are not installed (lowbit does not depend on them): npm install onnxruntime-web onnxruntime-node\n']);
    const webOnly = await cli(['bench', model('fmnist-mlp-fp32.onnx'), '--vs', 'ort'], { importer: (p) => (p === 'onnxruntime-web' ? notInstalled(p) : import(p)) });
    expect(webOnly.err).toBe('lowbit: error: --vs needs onnxruntime-web, which is not installed (lowbit does not depend on it): npm install onnxruntime-web\n');
  });

  it.each([
    ['a bad --time', ['--time', '0'], "--time '0' must be a number of seconds above 0"],
    ['an unknown --vs', ['--vs', 'tflite'], "argument 'tflite' is invalid. Allowed choices are ort, ort-web, ort-node."],
    ['a --shape for no input', ['--shape', 'x=1x784'], "--shape: 'x' is not an input of this model (inputs: input)"],
    ['a --shape of the wrong rank', ['--shape', 'input=1x784'], "--shape input=1x784 does not fit the input's shape [N,1,28,28]"],
    ['a missing model', [], "cannot read model '/nonexistent.onnx': no such file"],
  ])('%s: one line on stderr, exit 1', async (what, flags, message) => {
    const file = what === 'a missing model' ? '/nonexistent.onnx' : model('fmnist-mlp-fp32.onnx');
    const { code, out, err } = await cli(['bench', file, ...flags, '--time', flags.includes('--time') ? flags[1] : '0.1']);
    expect([code, out]).toEqual([1, '']);
    expect(err.split('\n').length).toBe(2);
    expect(err).toContain(message);
  });

  it('draws a progress bar on a terminal and clears it; none otherwise', async () => {
    const tty = await cli(['bench', model('fmnist-mlp-int8-qdq.onnx'), '--time', '0.2'], { errColumns: 80 });
    expect(tty.code).toBe(0);
    const frames = tty.err.split('\r').filter((f) => f.trim() !== '');
    expect(frames.length).toBeGreaterThan(1);
    for (const f of frames) expect(f.length).toBeLessThanOrEqual(79);
    expect(frames.some((f) => /^lowbit bench [█░]{24}\s+\d+% warming up lowbit/.test(f))).toBe(true);
    const last = frames[frames.length - 1].trimEnd();
    expect(last).toBe(`lowbit bench ${'█'.repeat(24)} 100% timing`);
    expect(tty.err.endsWith(`\r${' '.repeat(last.length)}\r`)).toBe(true);
    expect(tty.out).toMatch(/^.*: input float32 \[1,1,28,28\]\n/);
  });

  it('progressBar: redraws at most every interval, pads over a longer line, writes nothing off a terminal', () => {
    let text = '';
    const bar = progressBar('x', (t) => (text += t), 80, 0);
    bar.update('phase one', 1, 4);
    bar.update('two', 4, 4);
    bar.end();
    expect(text.split('\r')).toEqual(['', `x ${'█'.repeat(6)}${'░'.repeat(18)}  25% phase one`, `x ${'█'.repeat(24)} 100% two`.padEnd(41), ' '.repeat(35), '']);
    let narrow = '';
    const cut = progressBar('x', (t) => (narrow += t), 20, 0);
    cut.update('a long phase name', 1, 2);
    expect(narrow).toBe(`\rx ${'█'.repeat(12)}${'░'.repeat(5)}`);
    let none = '';
    const off = progressBar('x', (t) => (none += t), undefined);
    off.update('p', 1, 2);
    off.end();
    expect(none).toBe('');
  });
});

describe('timeInBlocks', () => {
  const plan: TimingPlan = { targetMs: 60, blockMs: 4, warmupRuns: 2, warmupMs: 0, minRuns: 6, maxRounds: 50 };
  const busy = (ms: number) => {
    const t0 = performance.now();
    while (performance.now() - t0 < ms);
  };

  it('sizes blocks to blockMs (2 to 256 runs) and rounds to the slowest block and minRuns', () => {
    expect([blockRuns(1, 25), blockRuns(10, 25), blockRuns(20, 25), blockRuns(100, 25), blockRuns(0.001, 25), blockRuns(0, 25)]).toEqual([25, 3, 2, 2, 256, 256]);
    // Slowest block 2 × 10 ms: 60 / 20 = 3 rounds; minRuns 6 with blocks of 2 needs 6 rounds.
    expect(roundsFor([1, 10], plan)).toBe(6);
    expect(roundsFor([1, 10], { ...plan, minRuns: 1 })).toBe(3);
    expect(roundsFor([1, 10], { ...plan, minRuns: 1, maxRounds: 2 })).toBe(2);
  });

  it('runs each runtime in blocks, rotating the start; a block\'s first run is timed apart as cold', async () => {
    const calls: string[] = [];
    let last = '';
    // A run right after the other runtime takes longer, as with caches full of the other's data.
    const runtime = (id: 'a' | 'b', ms: number) => ({
      id,
      run: async () => {
        busy(last === id ? ms : ms + 3);
        last = id;
        calls.push(id);
      },
    });
    const { timings, rounds } = await timeInBlocks([runtime('a', 0.5), runtime('b', 2)], plan);
    const a = timings.get('a')!;
    const b = timings.get('b')!;
    expect(a.block).toBeGreaterThanOrEqual(2);
    expect(b.block).toBe(2);
    for (const t of [a, b]) expect(rounds).toBeGreaterThanOrEqual(Math.ceil(plan.minRuns / (t.block - 1)));
    const timed = calls.slice(4); // after 2 warm-up runs each
    const expected: string[] = [];
    for (let i = 0; i < rounds; i++) {
      for (const id of i % 2 === 0 ? ['a', 'b'] : ['b', 'a']) expected.push(...Array(timings.get(id as 'a')!.block).fill(id));
    }
    expect(timed).toEqual(expected);
    for (const t of [a, b]) {
      expect(t.cold.n).toBe(rounds);
      expect(t.steady.n).toBe(rounds * (t.block - 1));
      expect(t.cold.median).toBeGreaterThan(t.steady.median + 2);
    }
  });
});
