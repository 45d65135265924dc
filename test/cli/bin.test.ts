// The built `lowbit` executable, as npm installs it: package.json "bin" → dist/cli/lowbit.js with
// a node shebang, run as a real process (and through npx in this repository).

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

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

  it('runs as `npx lowbit` in this repository', () => {
    const p = spawnSync('npx', ['--no', '--', 'lowbit', 'run', '--help'], { cwd: root, encoding: 'utf8' });
    expect([p.status, p.stderr]).toEqual([0, '']);
    expect(p.stdout).toContain('Usage: lowbit run [options] <model>');
  });
});
