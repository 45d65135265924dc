// Every model in models/ compiled to a .lbp and run by the WASI command under node:wasi: its
// outputs equal the JS host's bit for bit, on the same kernel build (simd → lowbit.wasi.wasm,
// scalar → lowbit.wasi.scalar.wasm), on 4 real Fashion-MNIST images.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../../src/index.js';
import { compileLbp } from '../../src/session/compile.js';
import { loadSubset, toInput } from '../../scripts/lib/fmnist.js';
import { runWasi, type WasiFlavour } from '../support/wasi.js';

const MODELS = readdirSync(new URL('../../models/', import.meta.url)).filter((f) => f.endsWith('.onnx')).sort();
const DIMS = [4, 1, 28, 28];
const input = toInput(loadSubset(), 8, 4);
const dir = mkdtempSync(join(tmpdir(), 'lowbit-wasi-models-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'input.bin'), new Uint8Array(input.buffer));

describe.each(['simd', 'scalar'] as WasiFlavour[])('WASI command (%s build) vs the JS host', (flavour) => {
  it('covers every model in models/', () => {
    expect(MODELS.length).toBeGreaterThanOrEqual(21);
  });

  it.each(MODELS)('%s: bit-identical outputs', async (file) => {
    const session = await InferenceSession.create(new Uint8Array(readFileSync(new URL(`../../models/${file}`, import.meta.url))), { backend: flavour });
    const lbp = compileLbp(session._engine, new Map([['input', DIMS]]));
    const host = await session.run({ input: new Tensor('float32', input, DIMS) });
    const out = session.outputNames;
    const name = `${file}.${flavour}`;
    writeFileSync(join(dir, `${name}.lbp`), lbp);
    const res = runWasi(flavour, dir, [`${name}.lbp`, 'input.bin', ...out.map((_, i) => `${name}.out${i}.bin`)]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    out.forEach((o, i) => {
      const want = host[o].bytes();
      const got = new Uint8Array(readFileSync(join(dir, `${name}.out${i}.bin`)));
      expect(got.byteLength).toBe(want.byteLength);
      expect(Buffer.compare(got, want), `output '${o}' differs`).toBe(0);
    });
    const logits = new Float32Array(host[out[0]].bytes().buffer.slice(0));
    expect(logits.some((v) => v !== 0)).toBe(true);
  });
});

describe('one plan for both WASI builds', () => {
  it.each(MODELS)('%s: the simd and scalar compiles differ only in the build flag (and so the checksum)', async (file) => {
    const bytes = new Uint8Array(readFileSync(new URL(`../../models/${file}`, import.meta.url)));
    const [simd, scalar] = await Promise.all((['simd', 'scalar'] as const).map(async (backend) => {
      const s = await InferenceSession.create(bytes, { backend });
      return compileLbp(s._engine, new Map([['input', DIMS]]));
    }));
    expect(simd.byteLength).toBe(scalar.byteLength);
    const differ = [...simd.keys()].filter((i) => simd[i] !== scalar[i] && !(i >= 16 && i < 20));
    expect(differ).toEqual([56]);
  });
});
