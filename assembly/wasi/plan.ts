// Reads and validates a .lbp plan (docs/lbp-format.md) in place: W and P stay where the file
// was read, step arguments are resolved to absolute addresses. Every count, offset and size is
// checked against the file and its regions before use, so a bad file ends in a message.

import { dtypeBits } from './dtypes';
import { alloc64, die, EXIT_BAD_PLAN } from './files';
import { KERNEL_BUILD_ID } from './build-id.generated';
import { KERNEL_TABLE, KERNEL_TABLE_BYTES } from './kernels.generated';

export const LBP_VERSION: u32 = 1;
const HEADER: u32 = 64;
const MAGIC_LO: u32 = 0x50424c89; // 89 'L' 'B' 'P'
const MAGIC_HI: u32 = 0x0a1a0a0d; // \r \n 1A \n

const TAG_I32: u32 = 0;
const TAG_F32: u32 = 1;
const TAG_W: u32 = 2;
const TAG_P: u32 = 3;
const TAG_A: u32 = 4;

export class Slot {
  name: string = '';
  dtype: u32 = 0;
  dims: Array<u32> = [];
  addr: usize = 0;
  bytes: u32 = 0;
}

export class Plan {
  flavour: u32 = 0;
  kernels: Array<string> = [];
  wBytes: u32 = 0;
  pBytes: u32 = 0;
  arenaBytes: u32 = 0;
  /** Per plan kernel: its dispatch id and what a non-zero return means. */
  kernelIds: Array<i32> = [];
  rejects: Array<string> = [];
  /** Per step: plan kernel index, node name, argument records' address. */
  stepKernel: Array<i32> = [];
  stepNode: Array<string> = [];
  stepArgs: Array<usize> = [];
  inputs: Array<Slot> = [];
  outputs: Array<Slot> = [];
}

const crcTable = memory.data(1024);
let crcReady = false;

/** CRC-32 (IEEE 802.3, as zlib.crc32) of [p, p + n). */
export function crc32(p: usize, n: usize): u32 {
  if (!crcReady) {
    for (let i: u32 = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      store<u32>(crcTable + (i << 2), c);
    }
    crcReady = true;
  }
  let c: u32 = 0xffffffff;
  for (let i: usize = 0; i < n; i++) c = load<u32>(crcTable + ((((c ^ load<u8>(p + i)) & 0xff)) << 2)) ^ (c >>> 8);
  return ~c;
}

function sameBytes(a: usize, b: usize, n: u32): bool {
  for (let i: u32 = 0; i < n; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}

/**
 * Dispatch id of the kernel named by the `nameLen` bytes at `name` with signature `sig`;
 * -1 when this build has no such kernel, -2 when its signature differs.
 */
function kernelId(name: usize, nameLen: u32, sig: usize, sigLen: u32): i32 {
  const end = KERNEL_TABLE + KERNEL_TABLE_BYTES;
  let p = KERNEL_TABLE;
  for (let id = 0; p < end; id++) {
    let sp = p;
    while (load<u8>(sp) != 32) sp++;
    let e = sp + 1;
    while (load<u8>(e) != 10) e++;
    if (<u32>(sp - p) == nameLen && sameBytes(p, name, nameLen)) {
      return <u32>(e - sp - 1) == sigLen && sameBytes(sp + 1, sig, sigLen) ? id : -2;
    }
    p = e + 1;
  }
  return -1;
}

class Reader {
  constructor(public base: usize, public pos: u32, public end: u32, public path: string) {}

  u32(): u32 {
    if (this.pos > this.end - 4) bad(this.path, 'a section runs past the end of the file');
    const v = load<u32>(this.base + this.pos);
    this.pos += 4;
    return v;
  }

  /** Skips a string (u32 length, bytes, zero padding to 4) and returns the address of its bytes. */
  bytes(): usize {
    const n = this.u32();
    if (n > this.end - this.pos) bad(this.path, 'a string runs past the end of the file');
    this.last = n;
    const at = this.base + this.pos;
    this.pos += (n + 3) & ~3;
    return at;
  }

  last: u32 = 0;

  str(): string {
    const at = this.bytes();
    return String.UTF8.decodeUnsafe(at, this.last);
  }
}

function regionSize(tag: u32, p: Plan): u32 {
  return tag == TAG_W ? p.wBytes : tag == TAG_P ? p.pBytes : p.arenaBytes;
}

function regionBase(tag: u32, w: usize, p: usize, a: usize): usize {
  return tag == TAG_W ? w : tag == TAG_P ? p : a;
}

function bad(path: string, what: string): void {
  die(EXIT_BAD_PLAN, "'" + path + "' is not a valid lowbit plan: " + what);
}

/** Validates the header and checksum of the file read at `buf` (size bytes) and decodes it. */
export function decodePlan(buf: usize, size: u32, path: string): Plan {
  if (size < HEADER || load<u32>(buf) != MAGIC_LO || load<u32>(buf, 4) != MAGIC_HI) {
    bad(path, size < HEADER ? 'it has only ' + size.toString() + ' bytes' : 'wrong magic number');
  }
  const version = load<u32>(buf, 8);
  if (version != LBP_VERSION) {
    die(EXIT_BAD_PLAN, "'" + path + "' is plan format version " + version.toString() + '; this lowbit reads version ' +
      LBP_VERSION.toString() + ' (compile the model again with the matching lowbit)');
  }
  const length = load<u32>(buf, 12);
  if (length != size) {
    die(EXIT_BAD_PLAN, "'" + path + "' is " + (size < length ? 'truncated' : 'longer than its header says') + ': the header says ' +
      length.toString() + ' bytes, the file has ' + size.toString());
  }
  const want = load<u32>(buf, 16);
  const got = crc32(buf + 20, size - 20);
  if (want != got) die(EXIT_BAD_PLAN, "'" + path + "' is corrupted: checksum mismatch (stored 0x" + want.toString(16) + ', computed 0x' + got.toString(16) + ')');

  const build = load<u32>(buf, 60);
  if (build != KERNEL_BUILD_ID) {
    die(EXIT_BAD_PLAN, "'" + path + "' was compiled by another lowbit build (kernels 0x" + build.toString(16) + ', this runner has 0x' +
      KERNEL_BUILD_ID.toString(16) + '): compile it again with the lowbit this runner came with');
  }
  const plan = new Plan();
  const nKernels = load<u32>(buf, 20);
  const nSteps = load<u32>(buf, 24);
  const nIn = load<u32>(buf, 28);
  const nOut = load<u32>(buf, 32);
  const wOff = load<u32>(buf, 36);
  plan.wBytes = load<u32>(buf, 40);
  const pOff = load<u32>(buf, 44);
  plan.pBytes = load<u32>(buf, 48);
  plan.arenaBytes = load<u32>(buf, 52);
  plan.flavour = load<u32>(buf, 56);
  if ((wOff | pOff) & 63 || wOff < HEADER || pOff < HEADER || plan.wBytes > size - wOff || wOff > size ||
    plan.pBytes > size - pOff || pOff > size) bad(path, 'a region lies outside the file');
  const wBase = buf + wOff;
  const pBase = buf + pOff;
  const aBase = alloc64(plan.arenaBytes, 'the activation arena');

  const r = new Reader(buf, HEADER, min(wOff, pOff), path);
  const sigs = new Array<string>();
  for (let k: u32 = 0; k < nKernels; k++) {
    const name = r.str();
    const nameAt = r.pos - ((r.last + 3) & ~3);
    const nameLen = r.last;
    const sigAt = r.bytes();
    const sig = String.UTF8.decodeUnsafe(sigAt, r.last);
    const id = kernelId(buf + nameAt, nameLen, sigAt, r.last);
    if (id == -1) bad(path, "it calls kernel '" + name + "', which this build does not have (compile it with the matching lowbit)");
    if (id == -2) bad(path, "kernel '" + name + "' takes (" + sig + ') in the plan, not what it takes in this build');
    plan.kernels.push(name);
    plan.kernelIds.push(id);
    plan.rejects.push(r.str());
    sigs.push(sig);
  }
  for (let s: u32 = 0; s < nSteps; s++) {
    const k = r.u32();
    if (k >= nKernels) bad(path, 'step ' + s.toString() + ' names kernel #' + k.toString() + ' of ' + nKernels.toString());
    const node = r.str();
    const argc = r.u32();
    const params = sigs[k].slice(0, sigs[k].indexOf(':'));
    if (argc != <u32>params.length) bad(path, 'step ' + s.toString() + ' has ' + argc.toString() + ' arguments; ' + plan.kernels[k] + ' takes ' + params.length.toString());
    // Arguments are resolved in place: the value word of each (tag, value) record becomes the
    // absolute address (regions) or stays the immediate; the dispatch reads the value words.
    const args = buf + r.pos;
    for (let i: u32 = 0; i < argc; i++) {
      const tag = r.u32();
      const v = r.u32();
      const isF = params.charCodeAt(i) == 0x66;
      if (isF != (tag == TAG_F32) || tag > TAG_A) bad(path, 'step ' + s.toString() + ' argument ' + i.toString() + ' has the wrong kind');
      let x: usize = v;
      if (tag >= TAG_W) {
        if (v > regionSize(tag, plan)) bad(path, 'step ' + s.toString() + ' argument ' + i.toString() + ' points outside its region');
        x = regionBase(tag, wBase, pBase, aBase) + v;
      }
      store<u32>(args + (i << 3), <u32>x, 4);
    }
    plan.stepKernel.push(k);
    plan.stepNode.push(node);
    plan.stepArgs.push(args);
  }
  for (let i: u32 = 0; i < nIn + nOut; i++) {
    const slot = new Slot();
    slot.name = r.str();
    slot.dtype = r.u32();
    const rank = r.u32();
    if (rank > 64) bad(path, "tensor '" + slot.name + "' has rank " + rank.toString());
    let n: u64 = 1;
    for (let d: u32 = 0; d < rank; d++) {
      const dim = r.u32();
      slot.dims.push(dim);
      n *= dim;
      if (n > 0xffffffff) bad(path, "tensor '" + slot.name + "' is too large");
    }
    const tag = r.u32();
    const off = r.u32();
    slot.bytes = r.u32();
    const bits = dtypeBits(slot.dtype);
    if (bits == 0 || <u64>slot.bytes != (n * bits + 7) / 8) bad(path, "tensor '" + slot.name + "' has an unknown type or a size that does not match its shape");
    if (tag < TAG_W || tag > TAG_A || off > regionSize(tag, plan) || slot.bytes > regionSize(tag, plan) - off) {
      bad(path, "tensor '" + slot.name + "' lies outside its region");
    }
    slot.addr = regionBase(tag, wBase, pBase, aBase) + off;
    if (i < nIn) plan.inputs.push(slot);
    else plan.outputs.push(slot);
  }
  return plan;
}
