// The WASI command on bad files: a clear message on stderr, the documented exit code, no trap and
// no output file. Also --info, .npy in/out, and a kernel that rejects its input data.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { InferenceSession, LowbitError, Tensor } from '../../src/index.js';
import { readNpy, writeNpy } from '../../src/cli/npy.js';
import { crc32, LBP_VERSION } from '../../src/plan/lbp.js';
import { compileLbp } from '../../src/session/compile.js';
import { loadSubset, toInput } from '../../scripts/lib/fmnist.js';
import { runWasi } from '../support/wasi.js';

const DIMS = [2, 1, 28, 28];
const dir = mkdtempSync(join(tmpdir(), 'lowbit-wasi-bad-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (n: string) => join(dir, n);

// fake_quant_q8 (the QONNX activation quantiser) rejects NaN activations.
const session = await InferenceSession.create(new Uint8Array(readFileSync(new URL('../../models/fmnist-mlp-int4-qonnx.onnx', import.meta.url))), { backend: 'simd' });
const lbp = compileLbp(session._engine, new Map([['input', DIMS]]));
const input = toInput(loadSubset(), 0, 2);
const host = (await session.run({ input: new Tensor('float32', input, DIMS) })).logits.bytes();
writeFileSync(file('m.lbp'), lbp);
writeFileSync(file('in.bin'), new Uint8Array(input.buffer));

beforeEach(() => rmSync(file('out.bin'), { force: true }));

function withPatch(name: string, patch: (b: Uint8Array) => Uint8Array): string {
  writeFileSync(file(name), patch(lbp.slice()));
  return name;
}

function expectFailure(args: string[], code: number, message: RegExp): void {
  const r = runWasi('simd', dir, args);
  expect(r.stderr).toMatch(message);
  expect(r.stderr.startsWith('lowbit: ')).toBe(true);
  expect(r.code).toBe(code);
  expect(existsSync(file('out.bin'))).toBe(false);
}

describe('WASI command: plan files', () => {
  it('runs the good plan (the control for every case below)', () => {
    const r = runWasi('simd', dir, ['m.lbp', 'in.bin', 'out.bin']);
    expect(r.code).toBe(0);
    expect(Buffer.compare(readFileSync(file('out.bin')), host)).toBe(0);
  });

  it('--info lists inputs and outputs', () => {
    const r = runWasi('simd', dir, ['--info', 'm.lbp']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`lowbit plan v${LBP_VERSION}`);
    expect(r.stdout).toContain('input input float32 [2,1,28,28] (6272 bytes)');
    expect(r.stdout).toContain('output logits float32 [2,10] (80 bytes)');
  });

  it('a truncated plan', () => {
    expectFailure([withPatch('cut.lbp', (b) => b.subarray(0, b.length - 100)), 'in.bin', 'out.bin'], 4, /cut\.lbp' is truncated: the header says \d+ bytes, the file has \d+/);
    expectFailure([withPatch('tiny.lbp', (b) => b.subarray(0, 30)), 'in.bin', 'out.bin'], 4, /not a valid lowbit plan: it has only 30 bytes/);
  });

  it('a corrupted byte anywhere after the checksum (header, steps, weights, params)', () => {
    for (const at of [24, 200, Math.floor(lbp.length / 2), lbp.length - 1]) {
      expectFailure([withPatch('bad.lbp', (b) => ((b[at] ^= 0x10), b)), 'in.bin', 'out.bin'], 4, /bad\.lbp' is corrupted: checksum mismatch/);
    }
  });

  it('an unknown format version, and not a plan at all', () => {
    expectFailure([withPatch('v9.lbp', (b) => ((b[8] = 9), b)), 'in.bin', 'out.bin'], 4, /v9\.lbp' is plan format version 9; this lowbit reads version 1/);
    expectFailure([withPatch('magic.lbp', (b) => ((b[1] = 0x4d), b)), 'in.bin', 'out.bin'], 4, /wrong magic number/);
  });

  it('a well-formed checksum over malformed content is still refused (counts, kernels, regions)', () => {
    const resum = (b: Uint8Array) => (new DataView(b.buffer).setUint32(16, crc32(b.subarray(20)), true), b);
    const u32 = (b: Uint8Array, at: number, v: number) => (new DataView(b.buffer).setUint32(at, v, true), resum(b));
    expectFailure([withPatch('steps.lbp', (b) => u32(b, 24, 1e6)), 'in.bin', 'out.bin'], 4, /not a valid lowbit plan/);
    expectFailure([withPatch('arena.lbp', (b) => u32(b, 52, 16)), 'in.bin', 'out.bin'], 4, /outside its region/);
    expectFailure([withPatch('build.lbp', (b) => u32(b, 60, new DataView(b.buffer).getUint32(60, true) ^ 1)), 'in.bin', 'out.bin'], 4,
      /build\.lbp' was compiled by another lowbit build \(kernels 0x[0-9a-f]+, this runner has 0x[0-9a-f]+\)/);
    // The first kernel name is at offset 68: rename it to one this build does not have.
    expectFailure([withPatch('kern.lbp', (b) => ((b[68] = 0x7a), resum(b))), 'in.bin', 'out.bin'], 4, /calls kernel 'z\w*', which this build does not have/);
  });
});

describe('WASI command: tensors', () => {
  it('an input file of the wrong size', () => {
    writeFileSync(file('short.bin'), new Uint8Array(6271));
    expectFailure(['m.lbp', 'short.bin', 'out.bin'], 5, /short\.bin' has 6271 bytes; input 'input' \(float32 \[2,1,28,28\]\) needs 6272/);
  });

  it('.npy in and out: same numbers, a header NumPy reads', () => {
    writeFileSync(file('in.npy'), writeNpy({ type: 'float32', dims: DIMS, bytes: new Uint8Array(input.buffer) }));
    const r = runWasi('simd', dir, ['m.lbp', 'in.npy', 'out.npy']);
    expect(r.code).toBe(0);
    const got = readFileSync(file('out.npy'));
    expect(Buffer.compare(got, writeNpy({ type: 'float32', dims: [2, 10], bytes: host }))).toBe(0);
    expect(readNpy(new Uint8Array(got), 'out.npy').dims).toEqual([2, 10]);
  });

  it('a .npy input of the wrong shape or type', () => {
    writeFileSync(file('shape.npy'), writeNpy({ type: 'float32', dims: [1, 2, 28, 28], bytes: new Uint8Array(input.buffer) }));
    expectFailure(['m.lbp', 'shape.npy', 'out.bin'], 5, /shape\.npy' has shape \(1, 2, 28, 28\); input 'input' needs \(2, 1, 28, 28\)/);
    writeFileSync(file('type.npy'), writeNpy({ type: 'int32', dims: DIMS, bytes: new Uint8Array(input.buffer) }));
    expectFailure(['m.lbp', 'type.npy', 'out.bin'], 5, /type\.npy' holds <i4; input 'input' needs <f4/);
  });

  it('wrong arguments and missing files', () => {
    expectFailure(['m.lbp', 'in.bin'], 2, /this plan has 1 input\(s\) and 1 output\(s\) \(input → logits\): give 2 files after the plan, got 1/);
    expectFailure([], 2, /give one plan file/);
    expectFailure(['--fast', 'm.lbp'], 2, /unknown option '--fast'/);
    expectFailure(['nothere.lbp', 'in.bin', 'out.bin'], 3, /cannot open 'nothere\.lbp' for reading: no such file/);
    expectFailure(['m.lbp', 'nothere.bin', 'out.bin'], 3, /cannot open 'nothere\.bin'/);
  });

  it('a kernel that rejects its input data: exit 1, as the JS host refuses it, no output', async () => {
    const nan = input.slice();
    nan[100] = NaN;
    writeFileSync(file('nan.bin'), new Uint8Array(nan.buffer));
    const err = await session.run({ input: new Tensor('float32', nan, DIMS) }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(LowbitError);
    expect((err as LowbitError).message).toContain('rejected its input data');
    expectFailure(['m.lbp', 'nan.bin', 'out.bin'], 1, /node '[^']+': kernel fake_quant_q8 rejected its input data \(a NaN among the activations/);
  });
});
