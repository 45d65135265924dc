// Differential testing: run one ONNX model through lowbit and onnxruntime-node on the same feeds
// and compare every output element by element.
//
// An element agrees when |lowbit − ref| ≤ atol + rtol·|ref| (numpy.allclose, reference on the
// right). NaN agrees only with NaN and ±Inf only with the same infinity. Integer and bool outputs
// must match exactly unless the tolerance's integerSteps allows a difference. maxRelError is max |lowbit − ref| / |ref| over the
// elements with ref ≠ 0 (elements with ref = 0 count in maxAbsError only).

import * as ort from 'onnxruntime-node';
import { InferenceSession, Tensor, type Backend, type TensorType } from '../../src/index.js';
import { decodeFloatBits } from './floats.js';
import { seededRandom } from './random-models.js';

type TypedData = Tensor['data'];

/** A feed in a form both runtimes accept. */
export interface FeedValue {
  type: TensorType;
  data: TypedData;
  dims: readonly number[];
}

export type Feeds = Record<string, FeedValue>;

export interface Tolerance {
  rtol: number;
  atol: number;
  /** Largest |difference| accepted on integer outputs (default 0: exact). */
  integerSteps?: number;
}

/** What one runtime returned for an output (undefined when it returned nothing of that name). */
interface Returned {
  type: string;
  dims: readonly number[];
  data: ArrayLike<number | bigint>;
}

export interface Mismatch {
  /** Multi-dimensional index into the reference output. */
  index: number[];
  lowbit: number;
  reference: number;
}

export interface OutputReport {
  name: string;
  lowbitType?: string;
  referenceType?: string;
  lowbitDims?: readonly number[];
  referenceDims?: readonly number[];
  typeMatch: boolean;
  shapeMatch: boolean;
  /** Elements compared (0 when the element counts differ). */
  compared: number;
  maxAbsError: number;
  maxRelError: number;
  mismatches: number;
  firstMismatches: Mismatch[];
  ok: boolean;
}

export interface DifferentialReport {
  backend: Backend;
  tolerance: Tolerance;
  outputs: OutputReport[];
  ok: boolean;
}

const INT_TYPES = new Set(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool']);

function unravel(flat: number, dims: readonly number[]): number[] {
  const idx = new Array<number>(dims.length);
  for (let i = dims.length - 1; i >= 0; i--) {
    idx[i] = dims[i] === 0 ? 0 : flat % dims[i];
    flat = dims[i] === 0 ? 0 : Math.floor(flat / dims[i]);
  }
  return idx;
}

/** Element values as numbers; float16/bfloat16 arrive as bit patterns and are decoded. */
function floatsOf(r: Returned): ArrayLike<number> {
  if (r.type === 'float32' || r.type === 'float64') return r.data as ArrayLike<number>;
  const view = r.data as unknown as ArrayBufferView;
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  const n = r.dims.reduce((p, d) => p * d, 1);
  const dec = decodeFloatBits(r.type, bytes, n);
  if (!dec) throw new Error(`differential: cannot compare outputs of type ${r.type}`);
  return dec;
}

/** Compares one output of lowbit against the reference. */
export function compareOutput(name: string, lowbit: Returned | undefined, ref: Returned | undefined, tol: Tolerance, maxListed = 8): OutputReport {
  const rep: OutputReport = {
    name,
    lowbitType: lowbit?.type,
    referenceType: ref?.type,
    lowbitDims: lowbit ? [...lowbit.dims] : undefined,
    referenceDims: ref ? [...ref.dims] : undefined,
    typeMatch: !!lowbit && !!ref && lowbit.type === ref.type,
    shapeMatch: !!lowbit && !!ref && lowbit.dims.length === ref.dims.length && lowbit.dims.every((d, i) => d === ref.dims[i]),
    compared: 0,
    maxAbsError: 0,
    maxRelError: 0,
    mismatches: 0,
    firstMismatches: [],
    ok: false,
  };
  if (!lowbit || !ref || !rep.typeMatch || lowbit.data.length !== ref.data.length) return rep;
  const n = ref.data.length;
  rep.compared = n;
  const note = (i: number, a: number, b: number) => {
    rep.mismatches++;
    if (rep.firstMismatches.length < maxListed) rep.firstMismatches.push({ index: unravel(i, ref.dims), lowbit: a, reference: b });
  };
  if (INT_TYPES.has(ref.type)) {
    for (let i = 0; i < n; i++) {
      const a = lowbit.data[i];
      const b = ref.data[i];
      if (a === b) continue;
      const diff = Math.abs(Number(BigInt(a) - BigInt(b)));
      rep.maxAbsError = Math.max(rep.maxAbsError, diff);
      if (b !== 0 && b !== 0n) rep.maxRelError = Math.max(rep.maxRelError, diff / Math.abs(Number(b)));
      if (diff > (tol.integerSteps ?? 0)) note(i, Number(a), Number(b));
    }
  } else {
    const la = floatsOf(lowbit);
    const ra = floatsOf(ref);
    for (let i = 0; i < n; i++) {
      const a = la[i];
      const b = ra[i];
      if (!Number.isFinite(a) || !Number.isFinite(b)) {
        if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
        rep.maxAbsError = Infinity;
        rep.maxRelError = Infinity;
        note(i, a, b);
        continue;
      }
      const diff = Math.abs(a - b);
      rep.maxAbsError = Math.max(rep.maxAbsError, diff);
      if (b !== 0) rep.maxRelError = Math.max(rep.maxRelError, diff / Math.abs(b));
      if (diff > tol.atol + tol.rtol * Math.abs(b)) note(i, a, b);
    }
  }
  rep.ok = rep.shapeMatch && rep.mismatches === 0;
  return rep;
}

export interface DifferentialSessions {
  lowbit: InferenceSession;
  reference: ort.InferenceSession;
}

/** onnxruntime-node on one thread (the machine is shared), warnings silenced. */
export function createReferenceSession(model: Uint8Array, options: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3, ...options });
}

/** A lowbit session on the chosen backend and the reference session. */
export async function createSessions(model: Uint8Array, backend: Backend | 'auto' = 'auto'): Promise<DifferentialSessions> {
  const [lowbit, reference] = await Promise.all([InferenceSession.create(model, { backend }), createReferenceSession(model)]);
  return { lowbit, reference };
}

export async function releaseSessions(s: DifferentialSessions): Promise<void> {
  await Promise.all([s.lowbit.release(), s.reference.release()]);
}

/** Runs both sessions on `feeds` and compares every output either of them declares. */
export async function runDifferential(s: DifferentialSessions, feeds: Feeds, tol: Tolerance): Promise<DifferentialReport> {
  const lbFeeds: Record<string, Tensor> = {};
  const refFeeds: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(feeds)) {
    lbFeeds[name] = new Tensor(f.type, f.data, f.dims);
    refFeeds[name] = new ort.Tensor(f.type as ort.Tensor.Type, f.data as ort.Tensor.DataType, f.dims);
  }
  const [lb, ref] = [await s.lowbit.run(lbFeeds), await s.reference.run(refFeeds)];
  const names = [...new Set([...s.reference.outputNames, ...s.lowbit.outputNames])];
  const outputs = names.map((n) => compareOutput(n, lb[n], ref[n] as Returned | undefined, tol));
  return { backend: s.lowbit.backend, tolerance: tol, outputs, ok: outputs.every((o) => o.ok) };
}

/** One-shot: create both sessions, run, release. */
export async function differential(model: Uint8Array, feeds: Feeds, tol: Tolerance, backend: Backend | 'auto' = 'auto'): Promise<DifferentialReport> {
  const s = await createSessions(model, backend);
  try {
    return await runDifferential(s, feeds, tol);
  } finally {
    await releaseSessions(s);
  }
}

// ---- random feeds ------------------------------------------------------------------------------

export interface InputSpec {
  name: string;
  type: string;
  /** Numbers are static; strings (or anything else) are symbolic and looked up in `dims`. */
  shape: readonly unknown[];
}

/** Resolves an input's shape: static dims as they are, symbolic ones from `sizes` (default 1). */
export function concreteDims(spec: InputSpec, sizes: Record<string, number>, defaulted?: Set<string>): number[] {
  return spec.shape.map((d, i) => {
    if (typeof d === 'number' && Number.isInteger(d) && d >= 0) return d;
    const key = typeof d === 'string' && d !== '' ? d : `${spec.name}[${i}]`;
    if (sizes[key] !== undefined) return sizes[key];
    defaulted?.add(key);
    return 1;
  });
}

/**
 * Random feeds from input metadata: floats uniform in [−1, 1), integers uniform in [0, 4),
 * bool 0/1, all from `seed`.
 */
export function randomFeeds(inputs: readonly InputSpec[], sizes: Record<string, number>, seed: number, defaulted?: Set<string>): Feeds {
  const r = seededRandom(seed);
  const feeds: Feeds = {};
  for (const spec of inputs) {
    const dims = concreteDims(spec, sizes, defaulted);
    const n = dims.reduce((p, d) => p * d, 1);
    const type = spec.type as TensorType;
    let data: TypedData;
    switch (type) {
      case 'float32': data = Float32Array.from({ length: n }, () => r() * 2 - 1); break;
      case 'float64': data = Float64Array.from({ length: n }, () => r() * 2 - 1); break;
      case 'int8': data = Int8Array.from({ length: n }, () => Math.floor(r() * 4)); break;
      case 'uint8': data = Uint8Array.from({ length: n }, () => Math.floor(r() * 4)); break;
      case 'bool': data = Uint8Array.from({ length: n }, () => (r() < 0.5 ? 0 : 1)); break;
      case 'int16': data = Int16Array.from({ length: n }, () => Math.floor(r() * 4)); break;
      case 'uint16': data = Uint16Array.from({ length: n }, () => Math.floor(r() * 4)); break;
      case 'int32': data = Int32Array.from({ length: n }, () => Math.floor(r() * 4)); break;
      case 'uint32': data = Uint32Array.from({ length: n }, () => Math.floor(r() * 4)); break;
      case 'int64': data = BigInt64Array.from({ length: n }, () => BigInt(Math.floor(r() * 4))); break;
      case 'uint64': data = BigUint64Array.from({ length: n }, () => BigInt(Math.floor(r() * 4))); break;
      default: throw new Error(`differential: no random feed for input '${spec.name}' of type ${spec.type}`);
    }
    feeds[spec.name] = { type, data, dims };
  }
  return feeds;
}

// ---- report table -----------------------------------------------------------------------------

const fmtNum = (x: number) => (x === 0 ? '0' : Number.isFinite(x) ? x.toExponential(2) : String(x));
const fmtDims = (d?: readonly number[]) => (d ? `[${d.join(',')}]` : '—');

export function formatReport(rep: DifferentialReport): string {
  const head = ['output', 'dtype', 'shape', 'max abs', 'max rel', 'mismatch', 'first mismatches (index: lowbit vs ref)', 'verdict'];
  const rows = rep.outputs.map((o) => [
    o.name,
    o.typeMatch ? o.referenceType! : `${o.lowbitType ?? '—'} vs ${o.referenceType ?? '—'}`,
    o.shapeMatch ? fmtDims(o.referenceDims) : `${fmtDims(o.lowbitDims)} vs ${fmtDims(o.referenceDims)}`,
    fmtNum(o.maxAbsError),
    fmtNum(o.maxRelError),
    `${o.mismatches}/${o.compared}`,
    o.firstMismatches.slice(0, 3).map((m) => `[${m.index.join(',')}]: ${m.lowbit} vs ${m.reference}`).join('; '),
    o.ok ? 'ok' : 'FAIL',
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i])).join('  ').trimEnd();
  return [
    `backend ${rep.backend}, rtol ${rep.tolerance.rtol}, atol ${rep.tolerance.atol}: ${rep.ok ? 'all outputs agree' : 'DIFFERENCES'}`,
    line(head),
    line(width.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
}
