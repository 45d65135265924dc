// `lowbit compile MODEL -o model.lbp [--shape name=DIMS]`: the model's plan as a .lbp file for
// the WASI command (build/lowbit.wasi.wasm, docs/lbp-format.md).

import { writeFile } from 'node:fs/promises';
import { InferenceSession, type Precision } from '../index.js';
import { compileLbp } from '../session/compile.js';
import type { CliIO } from './main.js';

export interface CompileFlags {
  output: string;
  backend: 'scalar' | 'simd';
  precision: Precision;
  shapes: Map<string, number[]>;
}

export async function compileCommand(io: CliIO, model: string, o: CompileFlags): Promise<void> {
  const session = await InferenceSession.create(model, { backend: o.backend, precision: o.precision });
  let bytes: Uint8Array;
  try {
    bytes = compileLbp(session._engine, o.shapes);
  } finally {
    await session.release();
  }
  await writeFile(o.output, bytes);
  io.out(`${o.output}\t${bytes.byteLength} bytes\t${o.backend} kernels\n`);
}
