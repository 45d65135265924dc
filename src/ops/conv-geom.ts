// Convolution geometry shared by the f32 and integer convolutions: attribute checks (groups,
// strides, dilations, pads, auto_pad, output_padding, output_shape), output sizes, and the
// descriptor of assembly/conv_geom.ts. Element types are the callers' business.

import { attrInt, attrInts, attrString, type OpCtx } from './context.js';
import { fmtDims } from './shape-util.js';

/** Spatial geometry of one convolution (lists of length = spatial rank). */
export interface ConvGeom {
  group: number;
  /** Input and output channels per group. */
  C: number;
  M: number;
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Begin pads (end pads only shape the output). */
  pads: number[];
  inSpatial: number[];
  outSpatial: number[];
}

const span = (k: number, d: number) => (k - 1) * d + 1;

function positiveInts(ctx: OpCtx, name: string, rank: number, def: number): number[] {
  const v = attrInts(ctx, name) ?? new Array<number>(rank).fill(def);
  if (v.length !== rank) ctx.fail('LOWBIT_BAD_MODEL', `attribute '${name}' has ${v.length} values, expected ${rank} (one per spatial axis)`);
  if (v.some((x) => !Number.isInteger(x) || x < 1)) ctx.fail('LOWBIT_BAD_MODEL', `attribute '${name}' must be positive integers, got [${v.join(', ')}]`);
  return v;
}

/** Checks X and W ranks and the kernel shape; returns the parts both ops share. */
function commonShape(ctx: OpCtx, xi: number, wi: number, xd: readonly number[] = ctx.dims(xi)) {
  const wd = ctx.dims(wi);
  const rank = xd.length - 2;
  if (rank < 1) ctx.fail('LOWBIT_SHAPE_MISMATCH', `X must be [N, C, spatial…], got ${fmtDims(xd)}`);
  if (rank > 3) ctx.fail('LOWBIT_UNSUPPORTED', `${rank}-D convolution is not supported (1-D, 2-D and 3-D are)`);
  if (wd.length !== xd.length) ctx.fail('LOWBIT_SHAPE_MISMATCH', `W ${fmtDims(wd)} must have the rank of X ${fmtDims(xd)}`);
  const kernel = wd.slice(2);
  const ks = attrInts(ctx, 'kernel_shape');
  if (ks && (ks.length !== rank || ks.some((k, i) => k !== kernel[i]))) {
    ctx.fail('LOWBIT_SHAPE_MISMATCH', `kernel_shape [${ks.join(', ')}] does not match W ${fmtDims(wd)}`);
  }
  if (kernel.some((k) => k < 1)) ctx.fail('LOWBIT_SHAPE_MISMATCH', `W ${fmtDims(wd)} has an empty kernel`);
  const group = attrInt(ctx, 'group', 1);
  if (!Number.isInteger(group) || group < 1) ctx.fail('LOWBIT_BAD_MODEL', `group must be a positive integer, got ${group}`);
  if (xd[1] % group !== 0) ctx.fail('LOWBIT_SHAPE_MISMATCH', `X has ${xd[1]} channels, not a multiple of group ${group}`);
  const autoPad = attrString(ctx, 'auto_pad', 'NOTSET');
  if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(autoPad)) ctx.fail('LOWBIT_BAD_MODEL', `auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
  const pads = attrInts(ctx, 'pads') ?? new Array<number>(2 * rank).fill(0);
  if (pads.length !== 2 * rank) ctx.fail('LOWBIT_BAD_MODEL', `pads has ${pads.length} values, expected ${2 * rank}`);
  return {
    xd, wd, rank, kernel, group, autoPad, pads,
    strides: positiveInts(ctx, 'strides', rank, 1),
    dilations: positiveInts(ctx, 'dilations', rank, 1),
  };
}

function outputOrFail(ctx: OpCtx, out: number[], what: string): void {
  if (out.some((o) => !(o >= 1))) ctx.fail('LOWBIT_SHAPE_MISMATCH', `${what} gives output spatial dims [${out.join(', ')}]; every dim must be ≥ 1`);
}

/**
 * Conv geometry of X (input xi) and W (input wi, [M, C/group, kernel…]); `xDims` stands in for
 * X's dims when X is stored in another layout (the binary ops' packed sign bits).
 */
export function convGeom(ctx: OpCtx, xi = 0, wi = 1, xDims?: readonly number[]): ConvGeom {
  const { xd, wd, rank, kernel, group, autoPad, pads, strides, dilations } = commonShape(ctx, xi, wi, xDims);
  if (wd[0] % group !== 0) ctx.fail('LOWBIT_SHAPE_MISMATCH', `W has ${wd[0]} output channels, not a multiple of group ${group}`);
  if (wd[1] * group !== xd[1]) ctx.fail('LOWBIT_SHAPE_MISMATCH', `W ${fmtDims(wd)} expects ${wd[1] * group} input channels (group ${group}), X ${fmtDims(xd)} has ${xd[1]}`);
  const inSpatial = xd.slice(2);
  const begin: number[] = [];
  const outSpatial: number[] = [];
  for (let i = 0; i < rank; i++) {
    const sp = span(kernel[i], dilations[i]);
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      // Output ceil(in / stride); the odd unit of padding goes at the end (UPPER) or start (LOWER).
      const out = Math.ceil(inSpatial[i] / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + sp - inSpatial[i]);
      begin.push(autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2));
      outSpatial.push(out);
    } else {
      const [pb, pe] = autoPad === 'VALID' ? [0, 0] : [pads[i], pads[i + rank]];
      if (pb < 0 || pe < 0) ctx.fail('LOWBIT_BAD_MODEL', `pads must be ≥ 0, got [${pads.join(', ')}]`);
      begin.push(pb);
      outSpatial.push(Math.floor((inSpatial[i] + pb + pe - sp) / strides[i]) + 1);
    }
  }
  outputOrFail(ctx, outSpatial, `X ${fmtDims(xd)} with kernel [${kernel.join(', ')}]`);
  return { group, C: wd[1], M: wd[0] / group, kernel, strides, dilations, pads: begin, inSpatial, outSpatial };
}

export function convTransposeGeom(ctx: OpCtx): ConvGeom {
  const { xd, wd, rank, kernel, group, autoPad, pads, strides, dilations } = commonShape(ctx, 0, 1);
  if (wd[0] !== xd[1]) ctx.fail('LOWBIT_SHAPE_MISMATCH', `W ${fmtDims(wd)} expects ${wd[0]} input channels, X ${fmtDims(xd)} has ${xd[1]}`);
  const outPadding = attrInts(ctx, 'output_padding') ?? new Array<number>(rank).fill(0);
  if (outPadding.length !== rank) ctx.fail('LOWBIT_BAD_MODEL', `output_padding has ${outPadding.length} values, expected ${rank}`);
  if (outPadding.some((p) => p < 0)) ctx.fail('LOWBIT_BAD_MODEL', `output_padding [${outPadding.join(', ')}] must be ≥ 0`);
  let wanted = attrInts(ctx, 'output_shape');
  if (wanted && wanted.length === rank + 2) wanted = wanted.slice(2);
  if (wanted && wanted.length !== rank) ctx.fail('LOWBIT_BAD_MODEL', `output_shape has ${wanted.length} values, expected ${rank}`);
  const inSpatial = xd.slice(2);
  const begin: number[] = [];
  const outSpatial: number[] = [];
  for (let i = 0; i < rank; i++) {
    // Full (uncropped) extent: (in − 1)·stride + output_padding + span.
    const full = strides[i] * (inSpatial[i] - 1) + outPadding[i] + span(kernel[i], dilations[i]);
    const same = autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER';
    const out = wanted ? wanted[i] : same ? inSpatial[i] * strides[i] : undefined;
    if (out !== undefined) {
      // Pads implied by the output size (ONNX spec: floor division; the odd unit goes at the end
      // for SAME_UPPER, at the start otherwise). Negative total padding grows the output.
      const total = full - out;
      const half = Math.floor(total / 2);
      begin.push(autoPad === 'SAME_UPPER' ? half : total - half);
      outSpatial.push(out);
    } else {
      const [pb, pe] = autoPad === 'VALID' ? [0, 0] : [pads[i], pads[i + rank]];
      if (pb < 0 || pe < 0) ctx.fail('LOWBIT_BAD_MODEL', `pads must be ≥ 0, got [${pads.join(', ')}]`);
      begin.push(pb);
      outSpatial.push(full - pb - pe);
    }
  }
  outputOrFail(ctx, outSpatial, `X ${fmtDims(xd)} with kernel [${kernel.join(', ')}]`);
  return { group, C: xd[1] / group, M: wd[1], kernel, strides, dilations, pads: begin, inSpatial, outSpatial };
}

/** Descriptor of assembly/conv_geom.ts: the geometry lifted to 3-D by leading unit axes. */
export function geomDescriptor(batch: number, g: ConvGeom, chunk: number): Int32Array {
  const lift = (v: number[], fill: number) => [...new Array<number>(3 - v.length).fill(fill), ...v];
  return new Int32Array([
    batch, g.group, g.C, g.M,
    ...lift(g.inSpatial, 1), ...lift(g.kernel, 1), ...lift(g.strides, 1), ...lift(g.dilations, 1),
    ...lift(g.pads, 0), ...lift(g.outSpatial, 1), chunk,
  ]);
}
