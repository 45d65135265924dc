// End-to-end benchmark rows: whole models, not layers.
//
// - e2e_binary_resnet18_224, e2e_ternary_transformer_d1024: the generated benchmark-size models
//   (binary-resnet.ts, ternary-transformer.ts; written to build/models/ on first use). lowbit and
//   onnxruntime run the same file — onnxruntime-web as fp32 (the ±s / {−s,0,+s} weights are float
//   initializers). The int8 twins hold the same weights as DequantizeLinear(int8 codes): the
//   transformer's computes the same function; the ResNet's also puts every conv output through
//   an int8 quantizer (what onnxruntime needs to run its convs as QLinearConv), so it is the same
//   work, not the same numbers.
// - e2e_fmnist_cnn_<precision>[_<format>]: every Fashion-MNIST CNN of models/models.json on one
//   bundled test image. lowbit runs the file; onnxruntime runs it too, except QONNX files, which it
//   cannot run: those it runs in their standard float form (qonnx_to_float.py, converted once
//   into build/models/). The int8 twin (of every row but the int8 one itself) is
//   models/fmnist-cnn-int8-qdq.onnx, the same network as onnxruntime's quantizer writes it.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tolerance } from '../../scripts/lib/differential.js';
import { loadSubset, toInput } from '../../scripts/lib/fmnist.js';
import type { BenchRow } from '../rows.js';
import { resnetMacs, RESNET18_224 } from './binary-resnet.js';
import { E2E_DIR, loadE2ECase } from './e2e-files.js';
import type { BenchCase } from './models.js';
import { transformerMacs, TRANSFORMER_D1024 } from './ternary-transformer.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// Generated models: the binary and ternary layers agree with onnxruntime's float evaluation up to
// the final rounding of each layer (see the generators); the fp32 layers between them (stem,
// shortcuts, LayerNorm, attention) by summation order. Measured on the small versions
// (test/models/bench-models.test.ts): ≤ 3e-6 absolute on outputs of magnitude ≤ 12.
const E2E: Tolerance = { rtol: 1e-3, atol: 1e-4 };

// The d=1024 transformer at full size is chaotic under one-ulp differences: its static int8
// activation quantizers turn a float difference at a rounding boundary into a whole quantum, which
// the residual stream carries into the next block's LayerNorm and quantizers. One block agrees to
// 1.1e-3 (43 of 131,072 values above 1e-3); four blocks to 8.6e-2 max, 1.3e-2 relative RMS — and
// onnxruntime-web against onnxruntime-node on the same file differs as much (8.7e-2, 1.3e-2; even
// at d=256, where lowbit agrees with onnxruntime-node to 1.2e-6, ort-web is 4.6e-2 off). Outputs
// are LayerNorm-normalised (|y| ≲ 5): a wrong layer would be O(1) off everywhere. The small
// versions are checked to 1e-5 in test/models/bench-models.test.ts.
const E2E_TRANSFORMER: Tolerance = { rtol: 0, atol: 0.2 };

// Fashion-MNIST CNNs: lowbit's integer layers round each requantisation once, onnxruntime's float
// emulation of the fake-quant graph rounds every product; an intermediate activation that lies on
// a .5 tie can land one quantum apart, which moves a logit (magnitude ≈ 15–25) by up to 2.2e-2
// (measured over 64 bundled images; 0 for the fp32, int8, w2a2 and w1a1 files).
const FMNIST: Tolerance = { rtol: 0, atol: 0.05 };

/** MACs of the Fashion-MNIST CNN: convs 1→16, 16→32, 32→32 (3×3 at 28², 14², 7²), FC 1568→128→10. */
const FMNIST_CNN_MACS = 16 * 9 * 28 * 28 + 32 * 16 * 9 * 14 * 14 + 32 * 32 * 9 * 7 * 7 + 1568 * 128 + 128 * 10;

const resnet = resnetMacs(RESNET18_224);
const transformer = transformerMacs(TRANSFORMER_D1024);

interface FmnistEntry {
  file: string;
  arch: string;
  precision: string;
  format: string;
}

const read = (rel: string): Uint8Array => new Uint8Array(readFileSync(join(ROOT, rel)));

/** The float form of a QONNX file for onnxruntime, converted once by the Python peer. */
function ortForm(file: string): Uint8Array {
  const out = join(E2E_DIR, file.replace(/^models\//, '').replace(/\.onnx$/, '.float.onnx'));
  if (!existsSync(out)) {
    process.stderr.write(`converting ${file} to standard float ONNX for onnxruntime → ${out}\n`);
    mkdirSync(E2E_DIR, { recursive: true });
    // Converted under a temporary name: an interrupted conversion leaves no truncated model behind.
    const partial = `${out}.${process.pid}.partial.onnx`;
    execFileSync(join(ROOT, '.venv/bin/python'), [join(ROOT, 'bench/lib/qonnx_to_float.py'), join(ROOT, file), partial], { stdio: 'inherit' });
    renameSync(partial, out);
  }
  return new Uint8Array(readFileSync(out));
}

function fmnistCase(file: string, qonnx: boolean): BenchCase {
  const x = toInput(loadSubset(), 0, 1);
  return { model: read(file), ortModel: qonnx ? ortForm(file) : undefined, feeds: { input: { type: 'float32', data: x, dims: [1, 1, 28, 28] } } };
}

const INT8_TWIN = 'models/fmnist-cnn-int8-qdq.onnx';

function fmnistRows(): BenchRow[] {
  const { models } = JSON.parse(readFileSync(join(ROOT, 'models/models.json'), 'utf8')) as { models: FmnistEntry[] };
  return models.filter((m) => m.arch === 'cnn').map((m) => {
    const format = m.format === 'onnx' ? '' : `_${m.format}`;
    return {
      id: `e2e_fmnist_cnn_${m.precision}${format}`,
      macs: FMNIST_CNN_MACS,
      tolerance: FMNIST,
      build: () => fmnistCase(m.file, m.format === 'qonnx'),
      ...(m.file === INT8_TWIN ? {} : { int8Twin: () => fmnistCase(INT8_TWIN, false), int8TwinTolerance: FMNIST }),
    };
  });
}

export const E2E_ROWS: readonly BenchRow[] = [
  {
    id: 'e2e_binary_resnet18_224',
    macs: resnet.binary + resnet.float,
    tolerance: E2E,
    build: () => loadE2ECase('binary_resnet18_224'),
    int8Twin: () => loadE2ECase('binary_resnet18_224_int8'),
    int8TwinTolerance: E2E,
  },
  {
    id: 'e2e_ternary_transformer_d1024',
    macs: transformer.ternary + transformer.float,
    tolerance: E2E_TRANSFORMER,
    build: () => loadE2ECase('ternary_transformer_d1024'),
    int8Twin: () => loadE2ECase('ternary_transformer_d1024_int8'),
    int8TwinTolerance: E2E_TRANSFORMER,
  },
  ...fmnistRows(),
];
