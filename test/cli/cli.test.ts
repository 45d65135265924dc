// `lowbit inspect` and `lowbit run`, called in-process through main(argv): the table and JSON
// against the API's report, run's outputs against session.run on the same data (JSON, .npy,
// raw and .json inputs), and every mistake as one line on stderr with a non-zero exit code
// (`lowbit serve`'s too; the server itself is tested in test/server/ and test/cli/bin.test.ts).

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { main } from '../../src/cli/main.js';
import { readNpy, writeNpy } from '../../src/cli/npy.js';
import { inspect, InferenceSession, Tensor } from '../../src/index.js';
import { rng } from '../support/kernels.js';
import { nbitsModel } from '../support/nbits-models.js';
import { randomWeights } from '../support/qweights.js';

const model = (f: string) => new URL(`../../models/${f}`, import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'lowbit-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** Two Fashion-MNIST test images as a [2,1,28,28] float32 batch in [0, 1]. */
function images(): Float32Array {
  const u8 = readFileSync(model('data/fmnist-test-256-images.u8')).subarray(0, 2 * 784);
  return Float32Array.from(u8, (v) => v / 255);
}
const x = images();
const npyFile = join(tmp, 'x.npy');
writeFileSync(npyFile, writeNpy({ type: 'float32', dims: [2, 1, 28, 28], bytes: new Uint8Array(x.buffer) }));

async function reference(file: string, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const s = await InferenceSession.create(file);
  const r = await s.run(feeds);
  await s.release();
  return r;
}

const MODELS = ['fmnist-mlp-fp32.onnx', 'fmnist-mlp-int4-nbits.onnx', 'fmnist-mlp-int8-qdq.onnx'];

describe('lowbit inspect', () => {
  it.each([
    ['fmnist-mlp-fp32.onnx', /^\/2\/Gemm\s+FusedGemm\s+gemm_f32\s+32\s+32\s+802,816\s+802,816\s+binary: weights are not ±s per output channel$/m],
    ['fmnist-mlp-int4-nbits.onnx', /^\/2\/Gemm_MatMul_Q4\s+MatMulNBits\s+qwgemm_f32\s+4\s+32\s+[\d,]+\s+802,816$/m],
    ['fmnist-mlp-int8-qdq.onnx', /^\/2\/Gemm\s+QGemm\s+qgemm_i8\s+8\s+8\s+[\d,]+\s+802,816$/m],
  ])('%s: the table names each layer’s kernel and bits; the totals add up', async (file, row) => {
    const { code, out, err } = await cli('inspect', model(file));
    expect([code, err]).toEqual([0, '']);
    expect(out).toMatch(row);
    const report = await inspect(model(file));
    const total = out.split('\n').find((l) => l.startsWith('total '))!.split(/\s{2,}/);
    const num = (s: string) => Number(s.replace(/,/g, ''));
    expect(num(total[1])).toBe(report.nodes.reduce((s, n) => s + (n.packedWeightBytes ?? 0), 0));
    expect(num(total[2])).toBe(4 * (784 * 256 + 256 * 256 + 256 * 10));
  });

  it('--json prints the API report; --shape plans for that shape', async () => {
    const { code, out } = await cli('inspect', model('fmnist-mlp-int4-nbits.onnx'), '--json', '--shape', 'input=5x1x28x28', '--backend', 'scalar');
    expect(code).toBe(0);
    const parsed = JSON.parse(out);
    expect(parsed).toEqual(await inspect(model('fmnist-mlp-int4-nbits.onnx'), { shapes: { input: [5, 1, 28, 28] }, backend: 'scalar' }));
    expect(parsed.backend).toBe('scalar');
    expect(parsed.inputs[0].dims).toEqual([5, 1, 28, 28]);
  });

  it('says when MatMulNBits uses int8 activations, and --precision exact turns that off', async () => {
    const file = join(tmp, 'nbits-level4.onnx');
    writeFileSync(file, nbitsModel({ w: randomWeights(rng(5), 16, 64, 4, 32, false), lead: [2], zp: 'packed', bias: null, accuracyLevel: 4 }));
    const approx = await cli('inspect', file);
    expect(approx.out).toMatch(/^mmnb\s+MatMulNBits\s+qwgemm_i8\s+4\s+8\s+.*accuracy_level 4/m);
    const exact = await cli('inspect', file, '--precision', 'exact');
    expect(exact.out).toMatch(/^mmnb\s+MatMulNBits\s+qwgemm_f32\s+4\s+32\s+[\d,]+\s+4,096$/m);
    expect(exact.out).toContain('passes: exact-activations ×1');
  });
});

describe('lowbit run', () => {
  it.each(MODELS)('%s: JSON on stdout equals session.run', async (file) => {
    const { code, out, err } = await cli('run', model(file), '--input', `input=${npyFile}`);
    expect([code, err]).toEqual([0, '']);
    const want = await reference(model(file), { input: new Tensor('float32', x, [2, 1, 28, 28]) });
    const got = JSON.parse(out);
    expect(Object.keys(got)).toEqual(Object.keys(want));
    for (const [k, t] of Object.entries(want)) {
      expect(got[k].type).toBe('float32');
      expect(got[k].dims).toEqual([...t.dims]);
      expect(Float32Array.from(got[k].data as number[])).toEqual(t.data); // doubles that round-trip to the same f32
    }
  });

  it('--output-dir writes .npy (and .json) files that hold session.run’s outputs', async () => {
    const dir = join(tmp, 'out');
    const npy = await cli('run', model('fmnist-mlp-int8-qdq.onnx'), '--input', `input=${npyFile}`, '--output-dir', dir);
    expect(npy.code).toBe(0);
    expect(npy.out).toBe(`${join(dir, 'logits.npy')}\tlogits\tfloat32\t[2,10]\n`);
    const want = (await reference(model('fmnist-mlp-int8-qdq.onnx'), { input: new Tensor('float32', x, [2, 1, 28, 28]) })).logits;
    const a = readNpy(new Uint8Array(readFileSync(join(dir, 'logits.npy'))), 'logits.npy');
    expect([a.type, a.dims, new Float32Array(a.bytes.buffer, a.bytes.byteOffset, 20)]).toEqual(['float32', [2, 10], want.data]);
    const json = await cli('run', model('fmnist-mlp-int8-qdq.onnx'), '--input', `input=${npyFile}`, '--output-dir', dir, '--format', 'json');
    expect(json.code).toBe(0);
    const j = JSON.parse(readFileSync(join(dir, 'logits.json'), 'utf8'));
    expect(Float32Array.from(j.data)).toEqual(want.data);
  });

  it('raw (with --shape) and .json inputs give the same outputs as .npy', async () => {
    const raw = join(tmp, 'x.bin');
    writeFileSync(raw, new Uint8Array(x.buffer));
    const nested = join(tmp, 'x.json');
    const img = (i: number) => [Array.from({ length: 28 }, (_, r) => Array.from(x.subarray(i * 784 + r * 28, i * 784 + r * 28 + 28)))];
    writeFileSync(nested, JSON.stringify([img(0), img(1)]));
    const flat = join(tmp, 'x-flat.json');
    writeFileSync(flat, JSON.stringify({ dims: [2, 1, 28, 28], data: Array.from(x) }));
    const base = (await cli('run', model('fmnist-mlp-fp32.onnx'), '--input', `input=${npyFile}`)).out;
    const viaRaw = await cli('run', model('fmnist-mlp-fp32.onnx'), '--input', `input=${raw}`, '--shape', 'input=2x1x28x28', '--dtype', 'input=float32');
    expect([viaRaw.code, viaRaw.err]).toEqual([0, '']);
    expect(viaRaw.out).toBe(base);
    expect((await cli('run', model('fmnist-mlp-fp32.onnx'), '--input', `input=${nested}`)).out).toBe(base);
    expect((await cli('run', model('fmnist-mlp-fp32.onnx'), '--input', `input=${flat}`)).out).toBe(base);
  });

  it('--precision exact changes an accuracy_level 4 model’s numbers to the exact ones', async () => {
    const w = randomWeights(rng(9), 16, 64, 4, 32, false);
    const level4 = join(tmp, 'l4.onnx');
    const level0 = join(tmp, 'l0.onnx');
    writeFileSync(level4, nbitsModel({ w, lead: [2], zp: 'packed', bias: null, accuracyLevel: 4 }));
    writeFileSync(level0, nbitsModel({ w, lead: [2], zp: 'packed', bias: null, accuracyLevel: 0 }));
    const a = join(tmp, 'a.json');
    writeFileSync(a, JSON.stringify(Array.from({ length: 2 }, (_, i) => Array.from({ length: 64 }, (_, k) => Math.sin(i * 64 + k)))));
    const exact = (await cli('run', level0, '--input', `a=${a}`)).out;
    expect((await cli('run', level4, '--input', `a=${a}`, '--precision', 'exact')).out).toBe(exact);
    expect((await cli('run', level4, '--input', `a=${a}`)).out).not.toBe(exact);
  });
});

describe('mistakes: one line on stderr, exit code 1', () => {
  const badShape = join(tmp, 'bad-shape.npy');
  writeFileSync(badShape, writeNpy({ type: 'float32', dims: [2, 784], bytes: new Uint8Array(x.buffer) }));
  const f64 = join(tmp, 'f64.npy');
  writeFileSync(f64, writeNpy({ type: 'float64', dims: [1, 1, 28, 28], bytes: new Uint8Array(784 * 8) }));
  const ragged = join(tmp, 'ragged.json');
  writeFileSync(ragged, '[[1, 2], [3]]');
  const short = join(tmp, 'short.bin');
  writeFileSync(short, new Uint8Array(100));
  const m = model('fmnist-mlp-fp32.onnx');
  const emptyRepo = join(tmp, 'empty-repo');
  mkdirSync(emptyRepo);
  const brokenRepo = join(tmp, 'broken-repo');
  mkdirSync(join(brokenRepo, 'broken', '1'), { recursive: true });
  writeFileSync(join(brokenRepo, 'broken', '1', 'model.onnx'), 'not onnx');
  it.each([
    ['a missing input file', ['run', m, '--input', 'input=/nonexistent/x.npy'], "cannot read input 'input': no such file '/nonexistent/x.npy'"],
    ['--input without name=', ['run', m, '--input', npyFile], `--input '${npyFile}' must be name=FILE (inputs: input)`],
    ['--input for no such input', ['run', m, '--input', `image=${npyFile}`], "'image' is not an input of this model"],
    ['no --input', ['run', m], "no --input for 'input'"],
    ['the wrong shape', ['run', m, '--input', `input=${badShape}`], "input 'input' must have rank 4 [N,1,28,28], got [2,784] (LOWBIT_SHAPE_MISMATCH)"],
    ['the wrong type', ['run', m, '--input', `input=${f64}`], "input 'input' must be float32, got float64 (LOWBIT_TYPE_MISMATCH)"],
    ['a raw file of the wrong size', ['run', m, '--input', `input=${short}`, '--shape', 'input=1x1x28x28'], 'has 100 bytes; shape [1,1,28,28] of float32 needs 3136'],
    ['a raw file without --shape for a symbolic input', ['run', m, '--input', `input=${short}`], "the input's shape is [N,1,28,28]; give --shape input=DIMS to read a raw file"],
    ['a --dtype that is no type', ['run', m, '--input', `input=${short}`, '--dtype', 'input=f32'], '--dtype input=f32: use one of'],
    ['JSON that is not rectangular', ['run', m, '--input', `input=${ragged}`], 'the nested arrays are not rectangular'],
    ['bad --shape dims', ['inspect', m, '--shape', 'input=1xtwo'], "--shape dims '1xtwo' must be non-negative integers joined by x"],
    ['--shape of the wrong rank', ['inspect', m, '--shape', 'input=1x784'], 'LOWBIT_SHAPE_MISMATCH'],
    ['a missing model', ['inspect', '/nonexistent/model.onnx'], "cannot open model '/nonexistent/model.onnx'"],
    ['not a model', ['inspect', npyFile], 'LOWBIT_BAD_MODEL'],
    ['npy output without a directory', ['run', m, '--input', `input=${npyFile}`, '--format', 'npy'], '--format npy writes one file per output: give --output-dir DIR'],
    ['an unknown backend', ['inspect', m, '--backend', 'gpu'], "argument 'gpu' is invalid"],
    ['an unknown option', ['inspect', m, '--verbose'], "unknown option '--verbose'"],
    ['an unknown command', ['benchmark', m], "unknown command 'benchmark'"],
    ['a missing argument', ['inspect'], "missing required argument 'model'"],
    ['serve: a missing repository', ['serve', '/nonexistent/repo'], "model repository '/nonexistent/repo': no such directory (LOWBIT_PATH)"],
    ['serve: a repository without models', ['serve', emptyRepo], 'has no model directories'],
    ['serve: a repository where no model loads', ['serve', brokenRepo, '--port', '0'], `no model in '${brokenRepo}' can be served: broken version 1: not a valid ONNX model`],
    ['serve: a bad --port', ['serve', tmp, '--port', '80a'], "--port '80a' must be an integer ≥ 0"],
    ['serve: a port out of range', ['serve', tmp, '--port', '70000'], 'option port must be an integer from 0 to 65535 (got 70000) (LOWBIT_BAD_OPTION)'],
    ['serve: negative workers', ['serve', tmp, '--workers', '-1'], "--workers '-1' must be an integer ≥ 0"],
    ['serve: a timeout without workers', ['serve', tmp, '--workers', '0', '--timeout', '100'], '--timeout needs worker threads: with --workers 0 each request runs to completion on the main thread'],
    ['serve: a queue without workers', ['serve', tmp, '--workers', '0', '--queue', '8'], '--queue needs worker threads'],
    ['serve: a bad --timeout', ['serve', tmp, '--timeout', '1.5'], "--timeout '1.5' must be an integer ≥ 1"],
  ])('%s', async (_, argv, message) => {
    const { code, out, err } = await cli(...argv);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err.endsWith('\n') && err.split('\n').length).toBe(2);
    expect(err).toMatch(/^lowbit: error: /);
    expect(err).toContain(message);
  });
});

describe('--help', () => {
  it.each([[[] as string[], 'Usage: lowbit [options] [command]'], [['inspect'], 'Usage: lowbit inspect [options] <model>'], [['run'], 'Usage: lowbit run [options] <model>'], [['serve'], 'Usage: lowbit serve [options] <repo>'], [['bench'], 'Usage: lowbit bench [options] <model>']])(
    'lowbit %j --help', async (cmd, usage) => {
      const { code, out, err } = await cli(...cmd, '--help');
      expect([code, err]).toEqual([0, '']);
      expect(out).toContain(usage);
      if (cmd[0] === 'run') for (const f of ['--input', '--dtype', '--shape', '--format', '--output-dir', '--backend', '--precision']) expect(out).toContain(f);
      if (cmd[0] === 'inspect') for (const f of ['--shape', '--json', '--backend', '--precision']) expect(out).toContain(f);
      if (cmd[0] === 'bench') for (const f of ['--vs', '--shape', '--input', '--time', '--json', '--backend', '--precision']) expect(out).toContain(f);
      if (cmd[0] === 'serve') for (const f of ['--port', '--host', '--workers', '--queue', '--max-body', '--timeout', '--backend', '--precision']) expect(out).toContain(f);
    });
});
