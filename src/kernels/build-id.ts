// The id of the bundled kernel build (Node only): the first 4 bytes of the SHA-256 of
// build/lowbit.scalar.wasm, which the WASI command's build embeds too (scripts/gen-wasi-kernels.ts).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fail } from '../errors.js';
import { wasmFileUrl } from './wasm.js';

export function kernelBuildId(): number {
  let bytes: Buffer;
  try {
    bytes = readFileSync(wasmFileUrl('scalar'));
  } catch (e) {
    fail('LOWBIT_WASM', `cannot read the scalar kernel module to identify this build: ${(e as Error).message}`, e);
  }
  return createHash('sha256').update(bytes).digest().readUInt32LE(0);
}
