// npm run bench:server end to end on a one-second plan: the server processes start and stop, the
// load runs with no errors, the onnxruntime-node server answers as lowbit's, and the report
// parses. No timing assertions: speed is what the benchmark measures.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const benchServer = (...args: string[]) =>
  promisify(execFile)(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', 'bench/server.ts', ...args], { cwd: root, maxBuffer: 1 << 24 });

describe('npm run bench:server', () => {
  it('loads lowbit (main thread, 2 workers) and onnxruntime-node servers with autocannon and reports them', async () => {
    const { stdout, stderr } = await benchServer('--model', 'models/fmnist-mlp-int8-qdq.onnx', '--seconds', '1', '--warmup', '0', '--connections', '4', '--only', 'inline,workers2,ort-node-1t', '--json');
    const lines = stdout.trimEnd().split('\n');
    const report = JSON.parse(lines[lines.length - 1]);
    expect([report.model, report.batch, report.connections, report.seconds]).toEqual(['fmnist-mlp-int8-qdq.onnx', 1, 4, 1]);
    expect(report.rows.map((r: { config: string }) => r.config)).toEqual(['inline', 'workers2', 'ort-node-1t']);
    for (const r of report.rows) {
      expect([r.errors, r.non2xx, r.timeouts], r.config).toEqual([0, 0, 0]);
      expect(r.requests, r.config).toBeGreaterThan(0);
      expect(r.rps, r.config).toBeGreaterThan(0);
      expect(r.p50_ms).toBeLessThanOrEqual(r.p99_ms);
      expect(r.p99_ms).toBeLessThanOrEqual(r.max_ms);
      expect(r.rss_before_mb).toBeGreaterThan(10);
      expect(r.rss_after_mb).toBeGreaterThan(10);
    }
    // The same logits from every server (the first row is lowbit's).
    expect(report.rows[1].max_abs_vs_first).toBe(0);
    expect(report.rows[2].max_abs_vs_first).toBeLessThan(1e-3);
    expect(lines).toContain('| server | req/s | p50 ms | p99 ms | max ms | errors | RSS before → after MiB | server CPU | autocannon CPU | max abs diff vs first row |');
    expect(stderr).toContain('bench:server: fmnist-mlp-int8-qdq.onnx, batch 1, binary requests, 4 connections');
  });

  it('refuses an unknown configuration', async () => {
    await expect(benchServer('--only', 'nginx')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("unknown configuration 'nginx' (configurations: inline, workers1, workers2, ort-node, ort-node-1t)") });
  });
});
