// The web-facing API in Node: the per-build `wasm` option, createSession in both modes, and the
// package's exports pointing at files the build makes.

import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createSession, InferenceSession, supportedBackends } from '../src/index.js';
import { wasmFileUrl } from '../src/kernels/wasm.js';
import { expectLowbit } from './support/errors.js';

const MODEL = fileURLToPath(new URL('../models/fmnist-mlp-int4-nbits.onnx', import.meta.url));
const bytesOf = (b: 'scalar' | 'simd' | 'relaxed') => readFileSync(wasmFileUrl(b));

describe('option wasm', () => {
  it('one source per build: auto picks the best build among those given', async () => {
    expect(await supportedBackends()).toEqual(['scalar', 'simd', 'relaxed']);
    const onlyScalar = await InferenceSession.create(MODEL, { wasm: { scalar: bytesOf('scalar') } });
    expect(onlyScalar.backend).toBe('scalar');
    const two = await InferenceSession.create(MODEL, { wasm: { scalar: bytesOf('scalar'), simd: wasmFileUrl('simd') } });
    expect(two.backend).toBe('simd');
    const forced = await InferenceSession.create(MODEL, { backend: 'scalar', wasm: { scalar: bytesOf('scalar').buffer as ArrayBuffer, relaxed: bytesOf('relaxed') } });
    expect(forced.backend).toBe('scalar');
  });

  it('refuses unknown build names and bytes that are not WebAssembly', async () => {
    await expectLowbit(InferenceSession.create(MODEL, { wasm: { fast: bytesOf('scalar') } as never }), 'LOWBIT_BAD_OPTION', 'scalar?, simd?, relaxed?');
    await expectLowbit(InferenceSession.create(MODEL, { wasm: {} }), 'LOWBIT_WASM', 'none of the given kernel builds');
    await expectLowbit(InferenceSession.create(MODEL, { backend: 'scalar', wasm: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) }), 'LOWBIT_WASM', 'not WebAssembly');
  });
});

describe('createSession', () => {
  it('without worker: an InferenceSession', async () => {
    const s = await createSession(MODEL);
    expect(s).toBeInstanceOf(InferenceSession);
    expect(s.inputNames.length).toBe(1);
  });

  it('worker mode needs Web Workers (Node has none): a clear error', async () => {
    expect(typeof (globalThis as { Worker?: unknown }).Worker).toBe('undefined');
    await expectLowbit(createSession(MODEL, { worker: true }), 'LOWBIT_UNSUPPORTED', 'Web Workers');
  });
});

describe('package.json', () => {
  it('exports browser/node/default and lowbit/worker; files ship the kernel builds', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(Object.keys(pkg.exports['.'])).toEqual(['types', 'browser', 'node', 'default']);
    expect(pkg.exports['./worker'].default).toBe('./dist/worker.js');
    expect(pkg.files).toContain('build/*.wasm');
    for (const b of ['scalar', 'simd', 'relaxed'] as const) {
      const url = wasmFileUrl(b);
      expect(url.pathname.endsWith(`/build/lowbit.${b}.wasm`)).toBe(true);
      expect(existsSync(url)).toBe(true);
    }
  });
});
