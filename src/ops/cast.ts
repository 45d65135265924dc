// Cast and CastLike: elementwise conversion between numeric dtypes (assembly/cast.ts).

import { dtypeCode, dtypeFromCode, type DType } from '../ir/dtype.js';
import { numel } from '../ir/tensor.js';
import { attrInt, attrString, type Addr, type OpCtx, type OpDef } from './context.js';

const ROUND_MODES: Record<string, number> = { up: 0, down: 1, nearest: 2 };

function castable(ctx: OpCtx, dt: DType, what: string): DType {
  if (dt === 'string') ctx.fail('LOWBIT_UNSUPPORTED', `${what} type string is not supported`);
  return dt;
}

/** The `mode` argument of the cast kernel: bit 0 saturate, bits 1–2 the float8e8m0 round mode. */
function castMode(ctx: OpCtx): number {
  const saturate = attrInt(ctx, 'saturate', 1);
  if (saturate !== 0 && saturate !== 1) ctx.fail('LOWBIT_BAD_MODEL', `saturate must be 0 or 1, got ${saturate}`);
  const rm = attrString(ctx, 'round_mode', 'up');
  const round = ROUND_MODES[rm];
  if (round === undefined) ctx.fail('LOWBIT_BAD_MODEL', `round_mode must be up, down or nearest, got '${rm}'`);
  return saturate | (round << 1);
}

/** Emits dst[i] = cast(src[i]) for n elements (saturating float8, as Cast does by default). */
export function emitCastBuffer(ctx: OpCtx, from: DType, to: DType, src: Addr, dst: Addr, n: number, mode = 1): void {
  ctx.step('cast', dtypeCode(from), dtypeCode(to), src, dst, n, mode);
}

/** Output 0 = input 0 cast to the output's dtype: an alias when the types already agree. */
function emitCast(ctx: OpCtx, mode: number): void {
  const from = ctx.dtype(0);
  const to = ctx.outDtype(0);
  if (from === to) ctx.alias(0, 0);
  else emitCastBuffer(ctx, from, to, ctx.in(0), ctx.out(0), numel(ctx.dims(0)), mode);
}

// Cast-1 names the target type with a string (TensorProto.DataType names).
const TYPE_NAMES: Record<string, DType> = {
  FLOAT: 'float32', UINT8: 'uint8', INT8: 'int8', UINT16: 'uint16', INT16: 'int16', INT32: 'int32', INT64: 'int64',
  STRING: 'string', BOOL: 'bool', FLOAT16: 'float16', DOUBLE: 'float64', UINT32: 'uint32', UINT64: 'uint64',
  BFLOAT16: 'bfloat16',
};

function targetType(ctx: OpCtx): DType {
  const a = ctx.node.attrs.get('to');
  if (a?.type === 'string') {
    const dt = TYPE_NAMES[a.value.toUpperCase()];
    if (!dt) ctx.fail('LOWBIT_BAD_MODEL', `'to' = '${a.value}' is not a known data type`);
    return dt;
  }
  const code = attrInt(ctx, 'to');
  if (code === undefined) ctx.fail('LOWBIT_BAD_MODEL', "attribute 'to' is required");
  const dt = dtypeFromCode(code);
  if (!dt) ctx.fail('LOWBIT_BAD_MODEL', `'to' = ${code} is not a known data type`);
  return dt;
}

const cast: OpDef = {
  infer(ctx) {
    const to = targetType(ctx);
    castable(ctx, ctx.dtype(0), 'input');
    ctx.setOutput(0, castable(ctx, to, 'target'), ctx.dims(0));
  },
  lower(ctx) {
    emitCast(ctx, castMode(ctx));
  },
};

const castLike: OpDef = {
  infer(ctx) {
    castable(ctx, ctx.dtype(0), 'input');
    ctx.setOutput(0, castable(ctx, ctx.dtype(1), 'target'), ctx.dims(0));
  },
  lower(ctx) {
    emitCast(ctx, castMode(ctx));
  },
};

export const castOps: Record<string, OpDef> = { Cast: cast, CastLike: castLike };
