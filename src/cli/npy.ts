// NumPy .npy files (format versions 1.0, 2.0 and 3.0): a magic string, a header length (u16 in
// v1, u32 in v2/v3), a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape':
// (2, 3), } padded with spaces and '\n' so the data starts on a 64-byte boundary, then the
// elements in C order. Only little-endian (or byte-sized) numeric and bool arrays are read or
// written: the types a lowbit tensor holds as plain elements.

import type { TensorType } from '../index.js';
import { fail } from './cli-error.js';

/** descr (without the byte-order mark) ↔ tensor type. */
const DESCR: Record<string, TensorType> = {
  f4: 'float32', f8: 'float64', f2: 'float16',
  i1: 'int8', u1: 'uint8', i2: 'int16', u2: 'uint16', i4: 'int32', u4: 'uint32', i8: 'int64', u8: 'uint64',
  b1: 'bool',
};
const SIZE: Partial<Record<TensorType, number>> = {
  float32: 4, float64: 8, float16: 2, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8, bool: 1,
};
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export interface NpyArray {
  type: TensorType;
  dims: number[];
  /** Little-endian element bytes, C order. */
  bytes: Uint8Array;
}

export const npyTypes = (): TensorType[] => Object.values(DESCR);

/** Bytes per element of the types .npy files (and raw input files) hold; undefined for others. */
export const elementBytes = (t: TensorType): number | undefined => SIZE[t];

/** Reads a .npy file; `what` names it in errors. */
export function readNpy(file: Uint8Array, what: string): NpyArray {
  const bad = (why: string): never => fail(`${what} is not a .npy file lowbit reads: ${why}`);
  if (file.length < 10 || !MAGIC.every((b, i) => file[i] === b)) bad('no \\x93NUMPY magic');
  const major = file[6];
  if (major < 1 || major > 3) bad(`format version ${major}.${file[7]}`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (file.length < 8 + lenBytes) bad('truncated header');
  const hlen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenBytes + hlen;
  if (start > file.length) bad('truncated header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(file.subarray(8 + lenBytes, start));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const order = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || order === undefined || shape === undefined) bad(`header ${JSON.stringify(header.trim())} lacks descr, fortran_order or shape`);
  if (order === 'True') bad('Fortran-order arrays are not supported (save with np.ascontiguousarray)');
  const m = /^([<>|=]?)([a-z]\d+)$/.exec(descr!);
  const type = m ? DESCR[m[2]] : undefined;
  if (!m || !type) bad(`dtype '${descr}' is not supported (${Object.keys(DESCR).join(', ')})`);
  if (m![1] === '>' && SIZE[type!]! > 1) bad(`dtype '${descr}' is big-endian`);
  const dims = shape!.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (dims.some((d) => !Number.isSafeInteger(d))) bad(`shape (${shape}) is not a tuple of integers`);
  const n = dims.reduce((a, b) => a * b, 1);
  const size = n * SIZE[type!]!;
  if (!Number.isSafeInteger(size) || file.length - start !== size) bad(`shape (${dims.join(', ')}) of ${descr} needs ${size} data bytes, the file has ${file.length - start}`);
  return { type: type!, dims, bytes: file.slice(start) };
}

/** A version 1.0 .npy file (2.0 when the header needs more than 65535 bytes). */
export function writeNpy(a: NpyArray): Uint8Array {
  const code = Object.keys(DESCR).find((k) => DESCR[k] === a.type);
  if (!code) fail(`type ${a.type} cannot be written as .npy (${npyTypes().join(', ')})`);
  const order = SIZE[a.type] === 1 ? '|' : '<';
  const shape = a.dims.length === 1 ? `(${a.dims[0]},)` : `(${a.dims.join(', ')})`;
  const dict = `{'descr': '${order}${code}', 'fortran_order': False, 'shape': ${shape}, }`;
  const padTo = (pre: number) => Math.ceil((pre + dict.length + 1) / 64) * 64 - pre;
  const v1 = padTo(10) <= 0xffff;
  const pre = v1 ? 10 : 12;
  const padded = padTo(pre);
  const header = dict.padEnd(padded - 1, ' ') + '\n';
  const out = new Uint8Array(pre + padded + a.bytes.length);
  out.set(MAGIC);
  out[6] = v1 ? 1 : 2;
  const view = new DataView(out.buffer);
  if (v1) view.setUint16(8, padded, true);
  else view.setUint32(8, padded, true);
  out.set(new TextEncoder().encode(header), pre);
  out.set(a.bytes, pre + padded);
  return out;
}
