// The CLI's .npy reader and writer against files NumPy wrote (test/fixtures/npy, made by
// scripts/make-npy-fixtures.py): every dtype lowbit reads, format versions 1–3, scalars and empty
// arrays; the writer reproduces np.save byte for byte; what it refuses, it refuses in one line.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../src/cli/cli-error.js';
import { readNpy, writeNpy } from '../../src/cli/npy.js';
import type { TensorType } from '../../src/index.js';

const dir = new URL('../fixtures/npy/', import.meta.url);
const file = (name: string) => new Uint8Array(readFileSync(new URL(name, dir)));
type Entry = { type: TensorType; dims: number[]; hex: string } | { error: string };
const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as Record<string, Entry>;
const readable = Object.entries(manifest).filter((e): e is [string, Extract<Entry, { hex: string }>] => 'hex' in e[1]);
const refused = Object.entries(manifest).filter((e): e is [string, { error: string }] => 'error' in e[1]);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('.npy', () => {
  it('the fixtures cover every type the reader takes', () => {
    expect(new Set(readable.map(([, e]) => e.type))).toEqual(new Set(['float32', 'float64', 'float16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool']));
  });

  it.each(readable)('reads %s as NumPy wrote it', (name, e) => {
    const a = readNpy(file(name), name);
    expect({ type: a.type, dims: a.dims, hex: hex(a.bytes) }).toEqual(e);
  });

  it.each(readable.filter(([n]) => !/_v[23]\.npy$/.test(n)))('writes %s byte for byte as np.save does', (name, e) => {
    expect(hex(writeNpy({ type: e.type, dims: e.dims, bytes: new Uint8Array(Buffer.from(e.hex, 'hex')) }))).toBe(hex(file(name)));
  });

  it.each(refused)('refuses %s in one line', (name, e) => {
    expect(() => readNpy(file(name), name)).toThrow(CliError);
    expect(() => readNpy(file(name), name)).toThrow(e.error);
  });

  it('refuses truncated data, a truncated header and a missing magic string', () => {
    const f = file('float32_2x3.npy');
    expect(() => readNpy(f.subarray(0, f.length - 1), 'x.npy')).toThrow('needs 24 data bytes, the file has 23');
    expect(() => readNpy(f.subarray(0, 40), 'x.npy')).toThrow('truncated header');
    expect(() => readNpy(new TextEncoder().encode('{"not": "npy"}'), 'x.npy')).toThrow('no \\x93NUMPY magic');
  });

  it('writes format 2.0 when the header outgrows 65535 bytes, aligned to 64 like every header', () => {
    const dims = new Array<number>(30000).fill(1);
    const f = writeNpy({ type: 'int16', dims, bytes: new Uint8Array([0x34, 0x12]) });
    expect([f[6], f[7]]).toEqual([2, 0]);
    const hlen = new DataView(f.buffer).getUint32(8, true);
    expect(hlen).toBeGreaterThan(65535);
    expect((12 + hlen) % 64).toBe(0);
    const back = readNpy(f, 'big-header.npy');
    expect([back.type, back.dims.length, [...back.bytes]]).toEqual(['int16', 30000, [0x34, 0x12]]);
  });
});
