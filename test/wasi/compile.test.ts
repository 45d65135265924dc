// lowbit compile and the WASI build's invariants: the generated kernel tables match the kernel
// module, each module stays within 200 KB, and what a fixed plan cannot express is refused.

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InferenceSession } from '../../src/index.js';
import { main } from '../../src/cli/main.js';
import { compileLbp } from '../../src/session/compile.js';
import { generated } from '../../scripts/gen-wasi-kernels.js';
import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';
import { runWasi, wasiModuleFile } from '../support/wasi.js';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-wasi-compile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  return main(args, { out: (t) => (out += t), err: (t) => (err += t) }).then((code) => ({ code, out, err }));
}

describe('WASI build', () => {
  it('the generated kernel tables are those of the current kernel module (npm run build:wasi regenerates them)', () => {
    for (const [rel, text] of Object.entries(generated())) {
      expect(readFileSync(new URL(`../../${rel}`, import.meta.url), 'utf8'), rel).toBe(text);
    }
  });

  it('each WASI module is at most 200 KB', () => {
    for (const f of ['simd', 'scalar'] as const) expect(statSync(wasiModuleFile(f)).size).toBeLessThanOrEqual(200 * 1024);
  });
});

describe('lowbit compile', () => {
  const model = new URL('../../models/fmnist-mlp-w2a8-qdq.onnx', import.meta.url).pathname;

  it('writes a plan the WASI command runs (CLI)', async () => {
    const r = await cli(['compile', model, '-o', join(dir, 'cli.lbp'), '--shape', 'input=3x1x28x28']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const info = runWasi('simd', dir, ['--info', 'cli.lbp']);
    expect(info.code).toBe(0);
    expect(info.stdout).toContain('input input float32 [3,1,28,28]');
    expect(info.stdout).toContain('output logits float32 [3,10]');
  });

  it('refuses symbolic dims left open, unknown inputs and the relaxed build', async () => {
    let r = await cli(['compile', model, '-o', join(dir, 'x.lbp')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/input 'input' has symbolic dims \[N,1,28,28\]: fix them with --shape input=DIMS/);
    r = await cli(['compile', model, '-o', join(dir, 'x.lbp'), '--shape', 'image=1x1x28x28']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/'image' is not an input of this model/);
    const relaxed = await InferenceSession.create(model, { backend: 'relaxed' });
    expect(() => compileLbp(relaxed._engine, new Map([['input', [1, 1, 28, 28]]]))).toThrow(/not 'relaxed'/);
  });

  it('refuses a plan that depends on input values (an input feeding a shape)', async () => {
    const b = new OnnxBuilder({ opset: 21 });
    const x = b.input('x', 'float32', [2, 6]);
    const s = b.input('shape', 'int64', [2]);
    b.output(b.op('Reshape', [x, s], {}, { outputs: ['y'] }), 'float32', null);
    const session = await InferenceSession.create(b.toBytes(), { backend: 'simd' });
    expect(() => compileLbp(session._engine)).toThrow(/depends on the values of an input/);
  });
});
