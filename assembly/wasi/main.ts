// lowbit.wasi.wasm: runs a compiled plan (.lbp) under any WASI preview1 runtime.
//   lowbit.wasi.wasm model.lbp IN... OUT...     one file per plan input, then per output
//   lowbit.wasi.wasm --info model.lbp           the plan's inputs and outputs
// Tensors are raw little-endian bytes, or .npy when the file name ends in .npy. Outputs are
// written only after every step succeeded. Exit codes: see files.ts (EXIT_*) and README.

import { dtypeName, npyDescr } from './dtypes';
import {
  alloc64, closeFile, commandLine, die, EXIT_BAD_INPUT, EXIT_RUNTIME, EXIT_USAGE, fileSize, openFile, readExact, say, writeAll,
} from './files';
import { dispatch } from './kernels.generated';
import { npyDataOffset, npyHeader, shapeText } from './npy';
import { decodePlan, LBP_VERSION, Plan, Slot } from './plan';

const USAGE = 'usage: lowbit.wasi.wasm model.lbp INPUT... OUTPUT...   (one file per input, then per output;\n' +
  '       raw little-endian bytes, or .npy by extension)\n       lowbit.wasi.wasm --info model.lbp\n';

const isNpy = (path: string): bool => path.endsWith('.npy') || path.endsWith('.NPY');

function readFile(path: string): usize {
  const fd = openFile(path, false);
  const size = fileSize(fd, path);
  if (size > 0x7000_0000) die(EXIT_BAD_INPUT, "'" + path + "' is too large");
  const buf = alloc64(size, "'" + path + "'");
  readExact(fd, buf, <usize>size, path);
  closeFile(fd);
  lastSize = <u32>size;
  return buf;
}

let lastSize: u32 = 0;

function readInput(path: string, slot: Slot): void {
  const fd = openFile(path, false);
  const size = fileSize(fd, path);
  if (!isNpy(path)) {
    if (size != <u64>slot.bytes) {
      die(EXIT_BAD_INPUT, "'" + path + "' has " + (<u32>size).toString() + " bytes; input '" + slot.name + "' (" + dtypeName(slot.dtype) + ' ' +
        shapeText(slot.dims) + ') needs ' + slot.bytes.toString());
    }
    readExact(fd, slot.addr, slot.bytes, path);
  } else {
    if (size > <u64>slot.bytes + 65536 + 12) die(EXIT_BAD_INPUT, "'" + path + "' is too large for input '" + slot.name + "'");
    const buf = alloc64(size, "'" + path + "'");
    readExact(fd, buf, <usize>size, path);
    const data = npyDataOffset(buf, <u32>size, slot, path);
    memory.copy(slot.addr, buf + data, slot.bytes);
  }
  closeFile(fd);
}

function writeOutput(path: string, slot: Slot): void {
  const fd = openFile(path, true);
  if (isNpy(path)) {
    const h = npyHeader(slot);
    writeAll(fd, changetype<usize>(h), h.byteLength, path);
  }
  writeAll(fd, slot.addr, slot.bytes, path);
  closeFile(fd);
}

function describe(kind: string, s: Slot): string {
  return kind + ' ' + s.name + ' ' + dtypeName(s.dtype) + ' ' + shapeText(s.dims) + ' (' + s.bytes.toString() + ' bytes)\n';
}

function info(plan: Plan, path: string): void {
  let t = path + ': lowbit plan v' + LBP_VERSION.toString() + ', ' + plan.stepKernel.length.toString() + ' steps over ' +
    plan.kernels.length.toString() + ' kernels (' + plan.kernels.join(', ') + '); weights ' + plan.wBytes.toString() +
    ' B, params ' + plan.pBytes.toString() + ' B, arena ' + plan.arenaBytes.toString() + ' B; compiled with the ' +
    (plan.flavour ? 'simd' : 'scalar') + ' kernels\n';
  for (let i = 0; i < plan.inputs.length; i++) t += describe('input', plan.inputs[i]);
  for (let i = 0; i < plan.outputs.length; i++) t += describe('output', plan.outputs[i]);
  say(1, t);
}

function main(): void {
  const argv = commandLine();
  const files = new Array<string>();
  let wantInfo = false;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a == '--info') wantInfo = true;
    else if (a == '--help' || a == '-h') {
      say(1, USAGE);
      return;
    } else if (a.startsWith('--')) die(EXIT_USAGE, "unknown option '" + a + "'\n" + USAGE);
    else files.push(a);
  }
  if (files.length == 0 || (wantInfo && files.length != 1)) die(EXIT_USAGE, 'give one plan file' + (wantInfo ? ' with --info' : '') + '\n' + USAGE);
  const buf = readFile(files[0]);
  const plan = decodePlan(buf, lastSize, files[0]);
  if (wantInfo) {
    info(plan, files[0]);
    return;
  }
  const nIn = plan.inputs.length;
  const nOut = plan.outputs.length;
  if (files.length != 1 + nIn + nOut) {
    let names = '';
    for (let i = 0; i < nIn; i++) names += ' ' + plan.inputs[i].name;
    names += ' →';
    for (let i = 0; i < nOut; i++) names += ' ' + plan.outputs[i].name;
    die(EXIT_USAGE, 'this plan has ' + nIn.toString() + ' input(s) and ' + nOut.toString() + ' output(s) (' + names.trim() +
      '): give ' + (nIn + nOut).toString() + ' files after the plan, got ' + (files.length - 1).toString());
  }
  for (let i = 0; i < nOut; i++) {
    if (isNpy(files[1 + nIn + i]) && npyDescr(plan.outputs[i].dtype).length == 0) {
      die(EXIT_USAGE, "output '" + plan.outputs[i].name + "' is " + dtypeName(plan.outputs[i].dtype) + ', which .npy cannot hold: give a raw file');
    }
  }
  for (let i = 0; i < nIn; i++) readInput(files[1 + i], plan.inputs[i]);
  for (let s = 0; s < plan.stepKernel.length; s++) {
    const k = plan.stepKernel[s];
    if (dispatch(plan.kernelIds[k], plan.stepArgs[s]) != 0) {
      const why = plan.rejects[k];
      die(EXIT_RUNTIME, "node '" + plan.stepNode[s] + "': kernel " + plan.kernels[k] + ' rejected its input data (' +
        (why.length ? why : 'an index is out of range') + '); no output written');
    }
  }
  for (let i = 0; i < nOut; i++) writeOutput(files[1 + nIn + i], plan.outputs[i]);
}

main();
