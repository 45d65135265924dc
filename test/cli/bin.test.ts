// The built `lowbit` executable, as npm installs it: package.json "bin" → dist/cli/lowbit.js with
// a node shebang, run as a real process (and through npx in this repository).

import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { fmnistFp32, makeRepo, slowModel } from '../support/server-repo.js';
import { post } from '../support/v2-client.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { bin: Record<string, string>; version: string };
const bin = `${root}${pkg.bin.lowbit}`;
const model = `${root}models/fmnist-mlp-int4-nbits.onnx`;

const lowbit = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });

beforeAll(() => {
  // What `npm install` runs (prepare → build): here only the TypeScript half, into dist/.
  const tsc = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.json`], { cwd: root, encoding: 'utf8' });
  expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
});

describe('the lowbit executable', () => {
  it('is a node script with a shebang', () => {
    expect(pkg.bin).toEqual({ lowbit: 'dist/cli/lowbit.js' });
    expect(readFileSync(bin, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('prints the same inspect table as main() in-process', async () => {
    const p = lowbit('inspect', model);
    expect([p.status, p.stderr]).toEqual([0, '']);
    let out = '';
    await main(['inspect', model], { out: (t) => (out += t), err: () => undefined });
    expect(p.stdout).toBe(out);
    expect(p.stdout).toMatch(/MatMulNBits\s+qwgemm_f32\s+4\s+32/);
  });

  it('exits 1 with one line on stderr for a bad input, 0 for --version', () => {
    const bad = lowbit('run', model, '--input', 'input=/nonexistent.npy');
    expect([bad.status, bad.stdout, bad.stderr]).toEqual([1, '', "lowbit: error: cannot read input 'input': no such file '/nonexistent.npy'\n"]);
    const v = lowbit('--version');
    expect([v.status, v.stdout]).toEqual([0, `${pkg.version}\n`]);
  });

  it('installed without the optional onnxruntime packages: bench runs lowbit alone, --vs ort is a one-line error', () => {
    // The package as npm installs it for a user: dist/, build/ and only the runtime dependencies.
    const home = mkdtempSync(join(tmpdir(), 'lowbit-installed-'));
    try {
      const at = join(home, 'node_modules', 'lowbit');
      mkdirSync(join(at, 'node_modules'), { recursive: true });
      cpSync(`${root}dist`, join(at, 'dist'), { recursive: true });
      cpSync(`${root}package.json`, join(at, 'package.json'));
      symlinkSync(`${root}build`, join(at, 'build'));
      for (const dep of Object.keys((pkg as unknown as { dependencies: Record<string, string> }).dependencies)) symlinkSync(`${root}node_modules/${dep}`, join(at, 'node_modules', dep));
      const run = (...args: string[]) => spawnSync(process.execPath, [join(at, pkg.bin.lowbit), ...args], { cwd: home, encoding: 'utf8' });
      const vs = run('bench', model, '--vs', 'ort');
      expect([vs.status, vs.stdout, vs.stderr]).toEqual([1, '', 'lowbit: error: --vs needs onnxruntime-web and onnxruntime-node, which are not installed (lowbit does not depend on them): npm install onnxruntime-web onnxruntime-node\n']);
      const alone = run('bench', model, '--time', '0.2', '--json');
      expect([alone.status, alone.stderr]).toEqual([0, '']);
      expect(JSON.parse(alone.stdout).runtimes.map((r: { id: string }) => r.id)).toEqual(['lowbit']);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('runs as `npx lowbit` in this repository', () => {
    // npm's own notices are not lowbit's output: CI's npm_config_* settings for onnxruntime-node make
    // npm warn about an unknown config, and npm may query the registry (offline: the bin is local).
    const env: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: 'false', npm_config_offline: 'true' };
    for (const k of Object.keys(env)) if (/^npm_config_onnxruntime/i.test(k)) delete env[k];
    const p = spawnSync('npx', ['--no', '--', 'lowbit', 'run', '--help'], { cwd: root, encoding: 'utf8', env });
    expect([p.status, p.stderr]).toEqual([0, '']);
    expect(p.stdout).toContain('Usage: lowbit run [options] <model>');
  }, 300_000); // npm exec reads the whole node_modules tree: ≈ 1 s alone, measured 150 s on a loaded machine

  it('serves a repository (workers from dist/) and on SIGTERM finishes the request in flight, then exits 0', async () => {
    const repo = makeRepo({ 'fmnist/1': fmnistFp32(), 'slow/1': slowModel() });
    const p = spawn(process.execPath, [bin, 'serve', repo, '--port', '0', '--workers', '1'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d));
    const exited = new Promise<number | null>((resolve) => p.on('exit', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      p.stdout.on('data', (d: Buffer) => {
        out += d;
        const m = /listening on (http:\/\/\S+) \(1 workers\)/.exec(out);
        if (m) resolve(m[1]);
      });
      void exited.then(() => reject(new Error(`exited early: ${out}${err}`)));
    });
    try {
      expect(out).toBe(`model fmnist version 1: ready\nmodel slow version 1: ready\nlistening on ${url} (1 workers)\n`);
      const r = await post(`${url}/v2/models/fmnist/infer`, { inputs: [{ name: 'input', shape: [1, 1, 28, 28], datatype: 'FP32', data: Array(784).fill(0.5) }] });
      expect([r.status, r.json.outputs[0].shape]).toEqual([200, [1, 10]]);
      const inFlight = post(`${url}/v2/models/slow/infer`, { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [2] }, { name: 'n', shape: [2], datatype: 'INT64', data: [768, 768] }] });
      await new Promise((res) => setTimeout(res, 50));
      p.kill('SIGTERM');
      const done = await inFlight;
      expect([done.status, done.json.outputs[0].data]).toEqual([200, [768 * 4]]);
      expect(await exited).toBe(0);
      expect(out.endsWith('SIGTERM: finishing the requests in flight, refusing new ones\nstopped\n')).toBe(true);
      expect(err).toBe('');
    } finally {
      p.kill('SIGKILL');
      rmSync(repo, { recursive: true, force: true });
    }
  });
});
