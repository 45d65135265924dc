// The .npy header (NumPy format 1.0–3.0): parse one to check a file against a plan input, and
// write one for an output. Data is C order, little-endian.

import { npyDescr } from './dtypes';
import { die, EXIT_BAD_INPUT } from './files';
import { Slot } from './plan';

function dimsText(dims: Array<u32>, sep: string): string {
  let s = '';
  for (let i = 0; i < dims.length; i++) s += (i ? sep : '') + dims[i].toString();
  return s;
}

export function shapeText(dims: Array<u32>): string {
  return '[' + dimsText(dims, ',') + ']';
}

/** Value text after `'key':` in the header dict, up to the next top-level ',' or '}'. */
function field(h: string, key: string, path: string): string {
  const at = h.indexOf("'" + key + "'");
  if (at < 0) die(EXIT_BAD_INPUT, "'" + path + "': .npy header has no '" + key + "'");
  let i = h.indexOf(':', at) + 1;
  let depth = 0;
  let j = i;
  for (; j < h.length; j++) {
    const c = h.charAt(j);
    if (c == '(') depth++;
    else if (c == ')') depth--;
    else if ((c == ',' || c == '}') && depth == 0) break;
  }
  return h.slice(i, j).trim();
}

/**
 * Checks the .npy file read at `p` (n bytes) against `slot` and returns the offset of its data.
 * The element type and shape must be the slot's exactly.
 */
export function npyDataOffset(p: usize, n: u32, slot: Slot, path: string): u32 {
  if (n < 10 || load<u32>(p) != 0x4d554e93 || load<u16>(p, 4) != 0x5950) die(EXIT_BAD_INPUT, "'" + path + "' is not a .npy file (bad magic)");
  const major = load<u8>(p, 6);
  const wide = major >= 2;
  const hlen: u32 = wide ? (n >= 12 ? load<u32>(p, 8) : 0xffffffff) : load<u16>(p, 8);
  const start: u32 = wide ? 12 : 10;
  if (major < 1 || major > 3 || hlen > n - start) die(EXIT_BAD_INPUT, "'" + path + "' has a truncated or unknown .npy header");
  const h = String.UTF8.decodeUnsafe(p + start, hlen);
  const want = npyDescr(slot.dtype);
  let descr = field(h, 'descr', path);
  if (descr.length >= 2) descr = descr.slice(1, descr.length - 1);
  const sameType = descr.length == 3 && want.length == 3 && descr.slice(1) == want.slice(1) &&
    (descr.charAt(0) == '<' || (want.charAt(0) == '|' && (descr.charAt(0) == '|' || descr.charAt(0) == '=')));
  const shape = field(h, 'shape', path);
  const wantShape = slot.dims.length == 1 ? '(' + slot.dims[0].toString() + ',)' : '(' + dimsText(slot.dims, ', ') + ')';
  const gotShape = shape.replaceAll(' ', '').replace(',)', ')');
  const fortran = field(h, 'fortran_order', path);
  if (!sameType) die(EXIT_BAD_INPUT, "'" + path + "' holds " + descr + "; input '" + slot.name + "' needs " + (want.length ? want : 'a raw file'));
  if (gotShape != wantShape.replaceAll(' ', '').replace(',)', ')')) {
    die(EXIT_BAD_INPUT, "'" + path + "' has shape " + shape + "; input '" + slot.name + "' needs " + wantShape);
  }
  if (fortran != 'False' && slot.dims.length > 1) die(EXIT_BAD_INPUT, "'" + path + "' is in Fortran order; give a C-order array");
  const data = start + hlen;
  if (n - data != slot.bytes) die(EXIT_BAD_INPUT, "'" + path + "' has " + (n - data).toString() + ' data bytes; ' + slot.bytes.toString() + ' expected');
  return data;
}

/** The header of a .npy file (version 1.0) holding `slot`, padded to 64 bytes. */
export function npyHeader(slot: Slot): ArrayBuffer {
  const shape = slot.dims.length == 1 ? '(' + slot.dims[0].toString() + ',)' : '(' + dimsText(slot.dims, ', ') + ')';
  let h = "{'descr': '" + npyDescr(slot.dtype) + "', 'fortran_order': False, 'shape': " + shape + ', }';
  while ((10 + h.length + 1) % 64) h += ' ';
  h += '\n';
  const out = new ArrayBuffer(10 + h.length);
  const p = changetype<usize>(out);
  store<u32>(p, 0x4d554e93);
  store<u16>(p, 0x5950, 4);
  store<u16>(p, 0x0001, 6);
  store<u16>(p, <u16>h.length, 8);
  String.UTF8.encodeUnsafe(changetype<usize>(h), h.length, p + 10);
  return out;
}
