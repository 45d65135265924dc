// The .lbp plan file (docs/lbp-format.md): a Plan plus the bytes of the W region it reads,
// little-endian, with a magic number, a format version and a CRC-32 over everything after it.
// The WASI command (assembly/wasi) runs it with the same kernels as the JS host.

import { fail } from '../errors.js';
import { dtypeCode } from '../ir/dtype.js';
import { REJECTS } from '../runtime/executor.js';
import { LBP_KERNEL_SIGS } from './lbp-kernels.generated.js';
import { isRef, type IOSlot, type Plan } from './types.js';

export const LBP_VERSION = 1;
export const LBP_MAGIC = Uint8Array.from([0x89, 0x4c, 0x42, 0x50, 0x0d, 0x0a, 0x1a, 0x0a]);
const HEADER = 64;
/** Argument tags: immediates, then the region an address points into. */
const TAG = { i32: 0, f32: 1, W: 2, P: 3, A: 4 } as const;
export type LbpFlavour = 'scalar' | 'simd';

class Writer {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf);
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u32(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) fail('LOWBIT_LIMIT', `plan value ${v} does not fit the .lbp format (u32)`);
    this.room(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }
  /** u32 byte length, UTF-8 bytes, zero padding to a multiple of 4. */
  str(s: string): void {
    this.bytes(new TextEncoder().encode(s), 4, true);
  }
  bytes(b: Uint8Array, align: number, withLength = false): void {
    if (withLength) this.u32(b.byteLength);
    this.room(b.byteLength + align);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
    this.pad(align);
  }
  pad(align: number): void {
    const n = (align - (this.pos % align)) % align;
    this.room(n);
    this.pos += n;
  }
  setU32(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** CRC-32 (IEEE 802.3, the zlib/PNG polynomial). */
export function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (let i = 0; i < bytes.length; i++) {
    c ^= bytes[i];
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return ~c >>> 0;
}

/** Checks that every step calls a kernel of the WASI table with arguments of its signature. */
function kernelsOf(plan: Plan): string[] {
  const used: string[] = [];
  for (const s of plan.steps) {
    const sig = LBP_KERNEL_SIGS.get(s.kernel);
    if (sig === undefined) fail('LOWBIT_UNSUPPORTED', `node '${s.node}': kernel ${s.kernel} is not in the WASI kernel table, so the plan cannot be compiled`);
    const params = sig.split(':')[0];
    if (params.length !== s.args.length) {
      fail('LOWBIT_RUNTIME', `internal: node '${s.node}': kernel ${s.kernel} takes ${params.length} arguments, the plan gives ${s.args.length}`);
    }
    s.args.forEach((a, i) => {
      if (params[i] === 'f' && isRef(a)) fail('LOWBIT_RUNTIME', `internal: node '${s.node}': kernel ${s.kernel} argument ${i} is f32 but the plan gives an address`);
    });
    if (!used.includes(s.kernel)) used.push(s.kernel);
  }
  return used;
}

const f32bits = (x: number): number => new Uint32Array(Float32Array.of(x).buffer)[0];

function slot(w: Writer, s: IOSlot): void {
  w.str(s.name);
  w.u32(dtypeCode(s.dtype));
  w.u32(s.dims.length);
  for (const d of s.dims) w.u32(d);
  w.u32(TAG[s.ref.r]);
  w.u32(s.ref.o);
  w.u32(s.bytes);
}

/**
 * Serialises `plan` with `weights`, the bytes of the W region its steps read (at least
 * plan.weightsBytes). `flavour` records which kernel build computed the pre-packed weights,
 * `buildId` which lowbit build (src/kernels/build-id.ts): runners refuse plans of another build.
 */
export function encodeLbp(plan: Plan, weights: Uint8Array, flavour: LbpFlavour, buildId: number): Uint8Array {
  if (weights.byteLength < plan.weightsBytes) fail('LOWBIT_RUNTIME', 'internal: the W region given is smaller than the plan needs');
  const kernels = kernelsOf(plan);
  const w = new Writer();
  w.bytes(new Uint8Array(HEADER), 1);
  for (const k of kernels) {
    w.str(k);
    w.str(LBP_KERNEL_SIGS.get(k)!);
    w.str(REJECTS[k] ?? '');
  }
  for (const s of plan.steps) {
    const sig = LBP_KERNEL_SIGS.get(s.kernel)!;
    w.u32(kernels.indexOf(s.kernel));
    w.str(s.node);
    w.u32(s.args.length);
    s.args.forEach((a, i) => {
      // As a JS call would convert them: ToInt32 for i32 parameters, rounding to f32 for f32.
      if (isRef(a)) {
        w.u32(TAG[a.r]);
        w.u32(a.o);
      } else if (sig[i] === 'f') {
        w.u32(TAG.f32);
        w.u32(f32bits(a));
      } else {
        w.u32(TAG.i32);
        w.u32(a >>> 0);
      }
    });
  }
  for (const s of plan.inputs) slot(w, s);
  for (const s of plan.outputs) slot(w, s);
  w.pad(64);
  const wOff = w.pos;
  w.bytes(weights.subarray(0, plan.weightsBytes), 64);
  const pOff = w.pos;
  w.bytes(plan.params, 64);
  const fields = [LBP_VERSION, w.pos, 0, kernels.length, plan.steps.length, plan.inputs.length, plan.outputs.length,
    wOff, plan.weightsBytes, pOff, plan.params.byteLength, plan.arenaBytes, flavour === 'simd' ? 1 : 0, buildId];
  const out = w.result();
  out.set(LBP_MAGIC, 0);
  const view = new DataView(out.buffer);
  fields.forEach((v, i) => view.setUint32(8 + 4 * i, v, true));
  view.setUint32(16, crc32(out.subarray(20)), true);
  return out;
}
