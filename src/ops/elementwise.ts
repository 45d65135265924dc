// Elementwise operators: unary activations, broadcasting binary arithmetic/comparison/bitwise,
// variadic Sum/Mean/Max/Min, Where and Clip.

import { byteLength, dtypeCode, dtypeKind, type DType } from '../ir/dtype.js';
import { numel } from '../ir/tensor.js';
import { emitCastBuffer } from './cast.js';
import { attrFloat, attrString, type OpCtx, type OpDef } from './context.js';
import { broadcastOrFail, broadcastStrides, collapse, descriptor } from './shape-util.js';

/** dtypes the elementwise kernels compute in directly. */
const KERNEL_TYPES = new Set<DType>(['float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool']);
const FLOATS = new Set<DType>(['float32', 'float64']);
const INTS = new Set<DType>(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);
const NUMERIC = new Set<DType>([...FLOATS, ...INTS]);

export function requireType(ctx: OpCtx, i: number, allowed: ReadonlySet<DType>): DType {
  const dt = ctx.dtype(i);
  if (!allowed.has(dt)) ctx.fail('LOWBIT_UNSUPPORTED', `input ${i} has type ${dt}, which this op does not support here (supported: ${[...allowed].join(', ')})`);
  return dt;
}

// Binary op codes (assembly/elementwise.ts).
export const B = { ADD: 0, SUB: 1, MUL: 2, DIV: 3, POW: 4, MAX: 5, MIN: 6, MOD: 7, FMOD: 8, BITAND: 9, BITOR: 10, BITXOR: 11, SHL: 12, SHR: 13, PRELU: 14, EQ: 20, LT: 21, GT: 22, LE: 23, GE: 24 } as const;
// Unary op codes (assembly/unary.ts).
export const U = { NEG: 0, ABS: 1, SQRT: 2, EXP: 3, LOG: 4, ERF: 5, TANH: 6, SIGMOID: 7, RELU: 8, RECIP: 9, FLOOR: 10, CEIL: 11, ROUND: 12, SIGN: 13, GELU: 14, GELU_TANH: 15, LEAKYRELU: 16, ELU: 17, HARDSIGMOID: 18, SOFTPLUS: 19, CLIP: 20, NOT: 21, BITNOT: 22, SIN: 23, COS: 24, COPY: 25, HARDSWISH: 26, SELU: 27, SOFTSIGN: 28 } as const;

/** Emits y = a (op) b with a and b broadcast to y's dims (y may be an input buffer: in place). */
export function emitBinary(
  ctx: OpCtx, op: number, dt: DType, a: { addr: ReturnType<OpCtx['in']>; dims: readonly number[] },
  b: { addr: ReturnType<OpCtx['in']>; dims: readonly number[] }, y: ReturnType<OpCtx['out']>, outDims: readonly number[],
): void {
  const { dims, strides } = collapse(outDims, [broadcastStrides(a.dims, outDims), broadcastStrides(b.dims, outDims)]);
  ctx.step('binary', op, dtypeCode(dt), a.addr, b.addr, y, ctx.params(descriptor(dims, strides)));
}

function binary(op: number, allowed: ReadonlySet<DType>, outBool = false): OpDef {
  return {
    infer(ctx) {
      const dt = requireType(ctx, 0, allowed);
      if (ctx.dtype(1) !== dt) ctx.fail('LOWBIT_TYPE_MISMATCH', `inputs have different types ${dt} and ${ctx.dtype(1)}`);
      ctx.setOutput(0, outBool ? 'bool' : dt, broadcastOrFail(ctx, [ctx.dims(0), ctx.dims(1)]));
    },
    lower(ctx) {
      emitBinary(ctx, op, ctx.dtype(0), { addr: ctx.in(0), dims: ctx.dims(0) }, { addr: ctx.in(1), dims: ctx.dims(1) }, ctx.out(0), ctx.outDims(0));
    },
  };
}

function unary(op: number, allowed: ReadonlySet<DType>, p?: (ctx: OpCtx) => [number, number]): OpDef {
  return {
    infer(ctx) {
      ctx.setOutput(0, requireType(ctx, 0, allowed), ctx.dims(0));
    },
    lower(ctx) {
      const [p0, p1] = p ? p(ctx) : [0, 0];
      const n = ctx.outDims(0).reduce((x, y) => x * y, 1);
      ctx.step('unary', op, dtypeCode(ctx.dtype(0)), ctx.in(0), ctx.out(0), n, p0, p1);
    },
  };
}

/** Sum/Mean/Max/Min over any number of inputs, accumulated in place in the output. */
function variadic(op: number, mean: boolean): OpDef {
  return {
    infer(ctx) {
      const dt = requireType(ctx, 0, mean ? FLOATS : NUMERIC);
      const shapes: (readonly number[])[] = [];
      for (let i = 0; i < ctx.numInputs; i++) {
        if (ctx.dtype(i) !== dt) ctx.fail('LOWBIT_TYPE_MISMATCH', `input ${i} is ${ctx.dtype(i)}, input 0 is ${dt}`);
        shapes.push(ctx.dims(i));
      }
      ctx.setOutput(0, dt, broadcastOrFail(ctx, shapes));
    },
    lower(ctx) {
      const dt = ctx.dtype(0);
      const out = ctx.out(0);
      const od = ctx.outDims(0);
      if (ctx.numInputs === 1) {
        emitBinary(ctx, B.ADD, dt, { addr: ctx.in(0), dims: ctx.dims(0) }, { addr: zeroOf(ctx, dt), dims: [] }, out, od);
      } else {
        emitBinary(ctx, op, dt, { addr: ctx.in(0), dims: ctx.dims(0) }, { addr: ctx.in(1), dims: ctx.dims(1) }, out, od);
        for (let i = 2; i < ctx.numInputs; i++) {
          emitBinary(ctx, op, dt, { addr: out, dims: od }, { addr: ctx.in(i), dims: ctx.dims(i) }, out, od);
        }
      }
      if (mean) {
        const k = dt === 'float32' ? new Float32Array([ctx.numInputs]) : new Float64Array([ctx.numInputs]);
        emitBinary(ctx, B.DIV, dt, { addr: out, dims: od }, { addr: ctx.params(new Uint8Array(k.buffer)), dims: [] }, out, od);
      }
    },
  };
}

function zeroOf(ctx: OpCtx, dt: DType) {
  return ctx.params(new Uint8Array(dt === 'float64' || dt.endsWith('64') ? 8 : 4));
}

const where: OpDef = {
  infer(ctx) {
    if (ctx.dtype(0) !== 'bool') ctx.fail('LOWBIT_TYPE_MISMATCH', `condition must be bool, got ${ctx.dtype(0)}`);
    if (ctx.dtype(1) !== ctx.dtype(2)) ctx.fail('LOWBIT_TYPE_MISMATCH', `branches have different types ${ctx.dtype(1)} and ${ctx.dtype(2)}`);
    requireType(ctx, 1, KERNEL_TYPES);
    ctx.setOutput(0, ctx.dtype(1), broadcastOrFail(ctx, [ctx.dims(0), ctx.dims(1), ctx.dims(2)]));
  },
  lower(ctx) {
    const od = ctx.outDims(0);
    const st = [0, 1, 2].map((i) => broadcastStrides(ctx.dims(i), od));
    const { dims, strides } = collapse(od, st);
    const esize = { float64: 8, int64: 8, uint64: 8, float32: 4, int32: 4, uint32: 4, int16: 2, uint16: 2 }[ctx.dtype(1) as string] ?? 1;
    ctx.step('where', esize, ctx.in(0), ctx.in(1), ctx.in(2), ctx.out(0), ctx.params(descriptor(dims, strides)));
  },
};

/** Clip: constant f32 bounds run as one fused unary pass; otherwise Max then Min. */
const clip: OpDef = {
  infer(ctx) {
    const dt = requireType(ctx, 0, NUMERIC);
    for (const i of [1, 2]) {
      if (ctx.has(i) && ctx.dtype(i) !== dt) ctx.fail('LOWBIT_TYPE_MISMATCH', `bound ${i} is ${ctx.dtype(i)}, input is ${dt}`);
    }
    ctx.setOutput(0, dt, ctx.dims(0));
  },
  lower(ctx) {
    const dt = ctx.dtype(0);
    const od = ctx.outDims(0);
    const n = od.reduce((x, y) => x * y, 1);
    if (ctx.opset < 11) {
      const lo = attrFloat(ctx, 'min', -3.4028234663852886e38);
      const hi = attrFloat(ctx, 'max', 3.4028234663852886e38);
      ctx.step('unary', U.CLIP, dtypeCode(dt), ctx.in(0), ctx.out(0), n, lo, hi);
      return;
    }
    const lo = ctx.has(1) ? ctx.value(1) : undefined;
    const hi = ctx.has(2) ? ctx.value(2) : undefined;
    if (dt === 'float32' && (!ctx.has(1) || lo) && (!ctx.has(2) || hi)) {
      const l = lo ? new Float32Array(lo.bytes.slice().buffer)[0] : -Infinity;
      const h = hi ? new Float32Array(hi.bytes.slice().buffer)[0] : Infinity;
      ctx.step('unary', U.CLIP, dtypeCode(dt), ctx.in(0), ctx.out(0), n, l, h);
      return;
    }
    let src = { addr: ctx.in(0), dims: ctx.dims(0) };
    const out = ctx.out(0);
    if (ctx.has(1)) {
      emitBinary(ctx, B.MAX, dt, src, { addr: ctx.in(1), dims: ctx.dims(1) }, out, od);
      src = { addr: out, dims: od };
    }
    if (ctx.has(2)) {
      emitBinary(ctx, B.MIN, dt, src, { addr: ctx.in(2), dims: ctx.dims(2) }, out, od);
      src = { addr: out, dims: od };
    }
    if (!ctx.has(1) && !ctx.has(2)) ctx.step('unary', U.COPY, dtypeCode(dt), ctx.in(0), out, n, 0, 0);
  },
};

const bitShift: OpDef = {
  infer(ctx) {
    const dt = requireType(ctx, 0, INTS);
    if (dtypeKind(dt) !== 'uint') ctx.fail('LOWBIT_UNSUPPORTED', `BitShift needs an unsigned type, got ${dt}`);
    ctx.setOutput(0, dt, broadcastOrFail(ctx, [ctx.dims(0), ctx.dims(1)]));
  },
  lower(ctx) {
    const dir = attrString(ctx, 'direction', '');
    if (dir !== 'LEFT' && dir !== 'RIGHT') ctx.fail('LOWBIT_BAD_MODEL', `direction must be LEFT or RIGHT, got '${dir}'`);
    emitBinary(ctx, dir === 'LEFT' ? B.SHL : B.SHR, ctx.dtype(0), { addr: ctx.in(0), dims: ctx.dims(0) }, { addr: ctx.in(1), dims: ctx.dims(1) }, ctx.out(0), ctx.outDims(0));
  },
};

const mod: OpDef = {
  infer: binary(B.MOD, NUMERIC).infer,
  lower(ctx) {
    const fmod = ctx.node.attrs.get('fmod');
    const isF = FLOATS.has(ctx.dtype(0));
    const useF = fmod?.type === 'int' && fmod.value === 1;
    if (isF && !useF) ctx.fail('LOWBIT_BAD_MODEL', 'Mod on floats requires fmod=1');
    emitBinary(ctx, useF ? B.FMOD : B.MOD, ctx.dtype(0), { addr: ctx.in(0), dims: ctx.dims(0) }, { addr: ctx.in(1), dims: ctx.dims(1) }, ctx.out(0), ctx.outDims(0));
  },
};

/**
 * Pow: the output has the base's type; the exponent may have another numeric type. Float bases
 * and int bases with int exponents compute in the base's type (exponent cast to it); an int
 * base with a float exponent computes in float64 and truncates the result, as onnxruntime does.
 */
const pow: OpDef = {
  infer(ctx) {
    const dt = requireType(ctx, 0, NUMERIC);
    requireType(ctx, 1, NUMERIC);
    ctx.setOutput(0, dt, broadcastOrFail(ctx, [ctx.dims(0), ctx.dims(1)]));
  },
  lower(ctx) {
    const base = ctx.dtype(0);
    const compute: DType = FLOATS.has(base) || INTS.has(ctx.dtype(1)) ? base : 'float64';
    const operand = (i: number) => {
      const n = numel(ctx.dims(i));
      if (ctx.dtype(i) === compute) return { addr: ctx.in(i), dims: ctx.dims(i) };
      const addr = ctx.scratch(byteLength(compute, n));
      emitCastBuffer(ctx, ctx.dtype(i), compute, ctx.in(i), addr, n);
      return { addr, dims: ctx.dims(i) };
    };
    const a = operand(0);
    const b = operand(1);
    const od = ctx.outDims(0);
    if (compute === base) {
      emitBinary(ctx, B.POW, compute, a, b, ctx.out(0), od);
      return;
    }
    const n = numel(od);
    const tmp = ctx.scratch(byteLength(compute, n));
    emitBinary(ctx, B.POW, compute, a, b, tmp, od);
    emitCastBuffer(ctx, compute, base, tmp, ctx.out(0), n);
  },
};

const gelu: OpDef = {
  infer: unary(U.GELU, FLOATS).infer,
  lower(ctx) {
    const approx = attrString(ctx, 'approximate', 'none');
    if (approx !== 'none' && approx !== 'tanh') ctx.fail('LOWBIT_BAD_MODEL', `unknown approximate='${approx}'`);
    unary(approx === 'tanh' ? U.GELU_TANH : U.GELU, FLOATS).lower(ctx);
  },
};

const BOOL = new Set<DType>(['bool']);
const SIGNED_OR_FLOAT = new Set<DType>(['float32', 'float64', 'int8', 'int16', 'int32', 'int64']);
const ALL = KERNEL_TYPES;

export const elementwiseOps: Record<string, OpDef> = {
  Add: binary(B.ADD, NUMERIC),
  Sub: binary(B.SUB, NUMERIC),
  Mul: binary(B.MUL, NUMERIC),
  Div: binary(B.DIV, NUMERIC),
  Pow: pow,
  Mod: mod,
  PRelu: binary(B.PRELU, SIGNED_OR_FLOAT),
  BitwiseAnd: binary(B.BITAND, INTS),
  BitwiseOr: binary(B.BITOR, INTS),
  BitwiseXor: binary(B.BITXOR, INTS),
  BitShift: bitShift,
  And: binary(B.BITAND, BOOL),
  Or: binary(B.BITOR, BOOL),
  Xor: binary(B.BITXOR, BOOL),
  Equal: binary(B.EQ, ALL, true),
  Less: binary(B.LT, NUMERIC, true),
  Greater: binary(B.GT, NUMERIC, true),
  LessOrEqual: binary(B.LE, NUMERIC, true),
  GreaterOrEqual: binary(B.GE, NUMERIC, true),
  Sum: variadic(B.ADD, false),
  Mean: variadic(B.ADD, true),
  Max: variadic(B.MAX, false),
  Min: variadic(B.MIN, false),
  Where: where,
  Clip: clip,
  Neg: unary(U.NEG, SIGNED_OR_FLOAT),
  Abs: unary(U.ABS, NUMERIC),
  Sign: unary(U.SIGN, NUMERIC),
  Relu: unary(U.RELU, SIGNED_OR_FLOAT),
  Not: unary(U.NOT, BOOL),
  BitwiseNot: unary(U.BITNOT, INTS),
  Sqrt: unary(U.SQRT, FLOATS),
  Exp: unary(U.EXP, FLOATS),
  Log: unary(U.LOG, FLOATS),
  Erf: unary(U.ERF, FLOATS),
  Tanh: unary(U.TANH, FLOATS),
  Sigmoid: unary(U.SIGMOID, FLOATS),
  Reciprocal: unary(U.RECIP, FLOATS),
  Floor: unary(U.FLOOR, FLOATS),
  Ceil: unary(U.CEIL, FLOATS),
  Round: unary(U.ROUND, FLOATS),
  Sin: unary(U.SIN, FLOATS),
  Cos: unary(U.COS, FLOATS),
  Softplus: unary(U.SOFTPLUS, FLOATS),
  Softsign: unary(U.SOFTSIGN, FLOATS),
  HardSwish: unary(U.HARDSWISH, FLOATS),
  Gelu: gelu,
  LeakyRelu: unary(U.LEAKYRELU, FLOATS, (c) => [attrFloat(c, 'alpha', 0.01), 0]),
  Elu: unary(U.ELU, FLOATS, (c) => [attrFloat(c, 'alpha', 1), 0]),
  Selu: unary(U.SELU, FLOATS, (c) => [attrFloat(c, 'alpha', 1.67326319217681884765625), attrFloat(c, 'gamma', 1.05070102214813232421875)]),
  HardSigmoid: unary(U.HARDSIGMOID, FLOATS, (c) => [attrFloat(c, 'alpha', 0.2), attrFloat(c, 'beta', 0.5)]),
};
