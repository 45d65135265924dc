// The WASI command under a native runtime: wasmtime (PyPI package, Python peer, installed into
// .venv by .ci/run) runs lowbit.wasi.wasm with SIMD and lowbit.wasi.scalar.wasm with SIMD
// disabled (so the scalar module must contain no SIMD instruction). pywasm3 installs from PyPI
// but its Python API has no WASI, so wasmtime without SIMD stands in for the no-SIMD interpreter.
// Outputs of every model equal the JS host's bit for bit; bad files exit with their code.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../../src/index.js';
import { compileLbp } from '../../src/session/compile.js';
import { loadSubset, toInput } from '../../scripts/lib/fmnist.js';
import { wasiModuleFile, type WasiFlavour } from '../support/wasi.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const python = process.env.LOWBIT_PYTHON ?? join(root, '.venv/bin/python');
const MODELS = readdirSync(join(root, 'models')).filter((f) => f.endsWith('.onnx')).sort();
const DIMS = [3, 1, 28, 28];
const input = toInput(loadSubset(), 20, 3);
const dir = mkdtempSync(join(tmpdir(), 'lowbit-wasi-native-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'input.bin'), new Uint8Array(input.buffer));

interface NativeResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

function runNative(flavour: WasiFlavour, runs: string[][]): NativeResult[] {
  const spec = { module: fileURLToPath(wasiModuleFile(flavour)), simd: flavour === 'simd', dir, runs };
  const r = spawnSync(python, [join(root, 'scripts/wasi/run_native.py')], { input: JSON.stringify(spec), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`run_native.py failed (${r.status}): ${r.stderr || r.error?.message}`);
  return JSON.parse(r.stdout) as NativeResult[];
}

describe('the Python peer has wasmtime', () => {
  it(`${python} imports wasmtime (.ci/run installs it; by hand: .venv/bin/pip install wasmtime)`, () => {
    const r = spawnSync(python, ['-c', 'import wasmtime'], { encoding: 'utf8' });
    expect(r.error?.message ?? r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe.each(['simd', 'scalar'] as WasiFlavour[])('wasmtime runs the %s build', (flavour) => {
  it('every model in models/: outputs bit-identical to the JS host', async () => {
    const runs: string[][] = [];
    const want: Uint8Array[][] = [];
    for (const file of MODELS) {
      const session = await InferenceSession.create(new Uint8Array(readFileSync(join(root, 'models', file))), { backend: flavour });
      const name = `${file}.${flavour}`;
      writeFileSync(join(dir, `${name}.lbp`), compileLbp(session._engine, new Map([['input', DIMS]])));
      const host = await session.run({ input: new Tensor('float32', input, DIMS) });
      want.push(session.outputNames.map((o) => host[o].bytes()));
      runs.push([`${name}.lbp`, 'input.bin', ...session.outputNames.map((_, i) => `${name}.out${i}.bin`)]);
    }
    const results = runNative(flavour, runs);
    results.forEach((r, m) => {
      expect(r.stderr, MODELS[m]).toBe('');
      expect(r.code, MODELS[m]).toBe(0);
      want[m].forEach((bytes, i) => {
        expect(Buffer.compare(readFileSync(join(dir, runs[m][2 + i])), bytes), `${MODELS[m]} output ${i}`).toBe(0);
      });
    });
    expect(results.length).toBe(MODELS.length);
  });

  it('bad files: a message and the exit code, no trap, no output', () => {
    const good = readFileSync(join(dir, `${MODELS[0]}.${flavour}.lbp`));
    writeFileSync(join(dir, 'cut.lbp'), good.subarray(0, good.length - 7));
    const flipped = Buffer.from(good);
    flipped[flipped.length >> 1] ^= 1;
    writeFileSync(join(dir, 'flip.lbp'), flipped);
    writeFileSync(join(dir, 'short.bin'), new Uint8Array(100));
    const lbp = `${MODELS[0]}.${flavour}.lbp`;
    const results = runNative(flavour, [['cut.lbp', 'input.bin', 'bad.out'], ['flip.lbp', 'input.bin', 'bad.out'], [lbp, 'short.bin', 'bad.out']]);
    expect(results.map((r) => r.code)).toEqual([4, 4, 5]);
    expect(results[0].stderr).toMatch(/cut\.lbp' is truncated/);
    expect(results[1].stderr).toMatch(/flip\.lbp' is corrupted: checksum mismatch/);
    expect(results[2].stderr).toMatch(/short\.bin' has 100 bytes/);
    expect(existsSync(join(dir, 'bad.out'))).toBe(false);
  });
});
