// The benchmark harness end to end on its smallest plan: CLI contract, results shape and the
// agreement check. No timing assertions — speed is measured by the benchmark, not by tests.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'lowbit-bench-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const bench = (...args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { cwd: root, maxBuffer: 1 << 24 });

describe('npm run bench', () => {
  it('times one row on all three runtimes and writes results.json / results.md', async () => {
    const id = 'fp32_gemv_1x4096x4096';
    const { stdout, stderr } = await bench('--quick', '--only', id, '--json', '--out', out);
    const lines = stdout.trimEnd().split('\n');
    const printed = JSON.parse(lines[lines.length - 1]);
    const written = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(written).toEqual(printed);

    expect(Object.keys(printed).sort()).toEqual(['env', 'rows']);
    for (const k of ['node', 'cpu', 'lowbit_backend', 'ortweb_version', 'ortnode_version', 'date']) expect(printed.env[k], k).toBeTruthy();
    expect(printed.rows).toHaveLength(1);
    const row = printed.rows[0];
    expect(row.id).toBe(id);
    expect(row.error).toBeUndefined();
    for (const k of ['lowbit_ms', 'ortweb_ms', 'ortnode_ms']) {
      expect(typeof row[k], k).toBe('number');
      expect(row[k], k).toBeGreaterThan(0);
    }
    expect(row.ortweb_over_lowbit).toBeCloseTo(row.ortweb_ms / row.lowbit_ms, 2);
    // The first run of each block (right after the other runtimes') is timed apart.
    for (const k of ['lowbit_cold_ms', 'ortweb_cold_ms', 'ortnode_cold_ms']) expect(row[k], k).toBeGreaterThan(0);
    expect(row.ortweb_over_lowbit_cold).toBeCloseTo(row.ortweb_cold_ms / row.lowbit_cold_ms, 2);
    expect(row.iterations).toBeGreaterThanOrEqual(5);
    expect(row.check.lowbit.ok).toBe(true);
    expect(row.check.lowbit.max_abs).toBeLessThan(1e-4);
    expect(row.check.ortweb.ok).toBe(true);

    expect(stdout).toContain(`| ${id}`);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toContain(`| ${id}`);
    expect(stderr).toContain(`[1/1] ${id}`);
  });

  it('times a whole QONNX model: lowbit on the file, onnxruntime on its float form, ort-web on the int8 twin', async () => {
    const id = 'e2e_fmnist_cnn_w1a1_qonnx';
    const { stdout } = await bench('--quick', '--only', id, '--json', '--out', out);
    const lines = stdout.trimEnd().split('\n');
    const [row] = JSON.parse(lines[lines.length - 1]).rows;
    expect(row.id).toBe(id);
    expect(row.error).toBeUndefined();
    for (const k of ['lowbit_ms', 'ortweb_ms', 'ortnode_ms', 'ortweb_fp32_ms', 'ortweb_int8_ms']) expect(row[k], k).toBeGreaterThan(0);
    expect(row.check.lowbit.ok).toBe(true);
    expect(row.check.ortweb.ok).toBe(true);
  });

  it('lists the whole-model rows under their contract names', async () => {
    const { ROWS } = await import('../bench/rows.js');
    const ids = ROWS.map((r) => r.id);
    expect(ids).toContain('e2e_binary_resnet18_224');
    expect(ids).toContain('e2e_ternary_transformer_d1024');
    const precisions = ['fp32', 'int8_qdq', 'int4_qdq', 'int4_qonnx', 'w2a8_qdq', 'w2a8_qonnx', 'w2a2_qdq', 'w2a2_qonnx', 'w1a1_qonnx'];
    expect(ids.filter((i) => i.startsWith('e2e_fmnist_cnn_')).sort()).toEqual(precisions.map((p) => `e2e_fmnist_cnn_${p}`).sort());
  });

  it('times an L-Mul row against its f32 row: lowbit really approximates, within the guard', async () => {
    const ids = ['fp32_gemv_1x4096x4096', 'lmul_gemv_1x4096x4096'];
    const { stdout } = await bench('--quick', '--only', ids.join(','), '--json', '--out', out);
    const printed = JSON.parse(stdout.trimEnd().split('\n').pop()!);
    const [f32, lmul] = printed.rows;
    expect(lmul.id).toBe(ids[1]);
    expect(lmul.error).toBeUndefined();
    expect(lmul.check.lowbit.ok).toBe(true);
    expect(lmul.check.lowbit.max_abs).toBeGreaterThan(1e-3); // not the exact f32 path
    expect(Math.abs(lmul.lmul_over_f32 / (lmul.lowbit_ms / f32.lowbit_ms) - 1)).toBeLessThan(0.01);
    expect(stdout).toContain(`- ${ids[1]}: lowbit in the L-Mul mode (m = 3) takes`);
  });

  it('refuses an unknown row id and names the known ones', async () => {
    const err = await bench('--only', 'no_such_row', '--out', out).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(err?.code).toBe(2);
    expect(err?.stderr).toContain('unknown row(s) no_such_row');
    expect(err?.stderr).toContain('fp32_gemv_1x4096x4096');
  });
});
