// The WASI command under other runtimes, driven through the Python peer (.venv, packages from
// PyPI installed by .ci/run): wasmtime runs lowbit.wasi.wasm with SIMD and lowbit.wasi.scalar.wasm
// with SIMD disabled (so the scalar module must hold no SIMD instruction); wasm3 (pywasm3), a
// no-SIMD interpreter, runs lowbit.wasi.scalar.wasm too — when pywasm3 does not install, the
// wasmtime no-SIMD run is the scalar build's check, as issue 8 allows. Outputs of every model
// equal the JS host's bit for bit; bad files exit with their code.

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

type Runtime = 'wasmtime' | 'wasm3';

function runNative(flavour: WasiFlavour, runs: string[][], runtime: Runtime = 'wasmtime'): NativeResult[] {
  const spec = { module: fileURLToPath(wasiModuleFile(flavour)), simd: flavour === 'simd', dir, runs };
  const script = join(root, `scripts/wasi/${runtime === 'wasmtime' ? 'run_native.py' : 'run_wasm3.py'}`);
  const r = spawnSync(python, [script], { input: JSON.stringify(spec), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${script} failed (${r.status}): ${r.stderr || r.error?.message}`);
  return JSON.parse(r.stdout) as NativeResult[];
}

const haveWasm3 = spawnSync(python, ['-c', 'import wasm3'], { encoding: 'utf8' }).status === 0;
if (!haveWasm3) console.warn(`WARNING: ${python} has no pywasm3: the scalar build is checked under wasmtime with SIMD disabled only`);
const RUNS: [WasiFlavour, Runtime][] = [['simd', 'wasmtime'], ['scalar', 'wasmtime'], ...(haveWasm3 ? [['scalar', 'wasm3'] as [WasiFlavour, Runtime]] : [])];

describe('the Python peer has wasmtime', () => {
  it(`${python} imports wasmtime (.ci/run installs it; by hand: .venv/bin/pip install wasmtime)`, () => {
    const r = spawnSync(python, ['-c', 'import wasmtime'], { encoding: 'utf8' });
    expect(r.error?.message ?? r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe.each(RUNS)('the %s build under %s', (flavour, runtime) => {
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
    const results = runNative(flavour, runs, runtime);
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
    const results = runNative(flavour, [['cut.lbp', 'input.bin', 'bad.out'], ['flip.lbp', 'input.bin', 'bad.out'], [lbp, 'short.bin', 'bad.out']], runtime);
    expect(results.map((r) => r.code)).toEqual([4, 4, 5]);
    expect(results[0].stderr).toMatch(/cut\.lbp' is truncated/);
    expect(results[1].stderr).toMatch(/flip\.lbp' is corrupted: checksum mismatch/);
    expect(results[2].stderr).toMatch(/short\.bin' has 100 bytes/);
    expect(existsSync(join(dir, 'bad.out'))).toBe(false);
  });
});
