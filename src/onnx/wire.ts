// Protobuf wire format, read side only: varints up to 64 bits, fixed 32/64-bit values,
// length-delimited slices, and skipping unknown fields by wire type. Every read is bounds-checked:
// truncated or malformed input is a LOWBIT_BAD_MODEL error, never a RangeError or a hang.

import { fail } from '../errors.js';

export const VARINT = 0, FIXED64 = 1, LEN = 2, FIXED32 = 5;

const bad = (what: string, at: number): never => fail('LOWBIT_BAD_MODEL', `not a valid ONNX model: ${what} at byte ${at}`);

export class Reader {
  pos = 0;
  /** Low and high 32 bits of the last varint read (two's complement for negatives). */
  lo = 0;
  hi = 0;
  private readonly view: DataView;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Reads a varint of up to 10 bytes into lo/hi; returns the low 32 bits unsigned. */
  varint(): number {
    const b = this.buf;
    let p = this.pos, lo = 0, hi = 0;
    if (p < b.length && b[p] < 0x80) { // one byte: most tags, lengths and small values
      this.pos = p + 1;
      this.hi = 0;
      return (this.lo = b[p]);
    }
    for (let i = 0; ; i++) {
      if (p >= b.length) bad('truncated varint', p);
      if (i === 10) bad('varint longer than 10 bytes', p);
      const x = b[p++] & 0x7f;
      if (i < 4) lo |= x << (7 * i);
      else if (i === 4) { lo |= x << 28; hi = x >> 4; }
      else hi |= x << (7 * i - 32);
      if (b[p - 1] < 0x80) break;
    }
    this.pos = p;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    return this.lo;
  }

  /** int32/enum: the low 32 bits, signed (negative values arrive sign-extended to 10 bytes). */
  int32(): number {
    return this.varint() | 0;
  }

  /** int64 as a number: exact up to 2^53, rounded beyond (callers check the ranges they need). */
  int64(): number {
    this.varint();
    return (this.hi | 0) * 4294967296 + this.lo;
  }

  /** int64/uint64 exactly. */
  bigint(unsigned: boolean): bigint {
    this.varint();
    const v = (BigInt(this.hi) << 32n) | BigInt(this.lo);
    return unsigned ? v : BigInt.asIntN(64, v);
  }

  float(): number {
    const p = this.need(4);
    return this.view.getFloat32(p, true);
  }

  double(): number {
    const p = this.need(8);
    return this.view.getFloat64(p, true);
  }

  /** The end offset of a length-delimited field whose length is read now. */
  lengthEnd(): number {
    const len = this.varint();
    if (this.hi !== 0 || len > this.buf.length - this.pos) bad('length past the end of the data', this.pos);
    return this.pos + len;
  }

  /** A packed run of float (width 4) or double (width 8) values up to `end`, appended to out. */
  fixedRun(out: number[], end: number, width: 4 | 8): void {
    if ((end - this.pos) % width !== 0) bad(`packed ${width === 4 ? 'float' : 'double'} field of ${end - this.pos} bytes`, this.pos);
    const v = this.view;
    for (let p = this.pos; p < end; p += width) out.push(width === 4 ? v.getFloat32(p, true) : v.getFloat64(p, true));
    this.pos = end;
  }

  /** A length-delimited field as a view into the input (no copy). */
  bytes(): Uint8Array {
    const end = this.lengthEnd();
    const out = this.buf.subarray(this.pos, end);
    this.pos = end;
    return out;
  }

  /** A field tag: [field number, wire type]. */
  tag(): [number, number] {
    const at = this.pos;
    const t = this.varint();
    if (this.hi !== 0 || t >>> 3 === 0) bad('invalid field tag', at);
    return [t >>> 3, t & 7];
  }

  /** Skips the value of an unknown field. Groups (deprecated wire types 3/4) are refused. */
  skip(wire: number): void {
    switch (wire) {
      case VARINT: this.varint(); return;
      case FIXED64: this.need(8); return;
      case LEN: this.pos = this.lengthEnd(); return;
      case FIXED32: this.need(4); return;
      case 3: case 4: return bad('protobuf groups are not supported', this.pos);
      default: return bad(`invalid wire type ${wire}`, this.pos);
    }
  }

  /** Fails when the last value ran past `end`, the end of its enclosing message or packed field. */
  within(end: number): void {
    if (this.pos > end) bad('a field runs past the end of its message', end);
  }

  /** Advances past n bytes and returns where they start. */
  private need(n: number): number {
    const p = this.pos;
    if (n > this.buf.length - p) bad('truncated value', p);
    this.pos = p + n;
    return p;
  }
}
