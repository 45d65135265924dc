// Conv lowered onto Winograd F(2×2, 3×3) (assembly/conv_winograd.ts): 2-D, 3×3 kernel, stride 1,
// dilation 1, any pads, groups and batch. It trades 36 MACs per 2×2 output tile and channel
// pair for 16, plus input/output transforms that cost O(C + M) per tile — a win once both
// channel counts per group are large enough for the GEMMs to dominate.

import type { Addr, OpCtx } from './context.js';
import { descriptor, type ConvGeom } from './conv-geom.js';

/** Channels per group (input and output) from which Winograd beats im2col (scripts/bench-conv.ts). */
const MIN_CHANNELS = 16;
/** Tiles go through transform → 16 GEMMs → transform a block at a time; the block's Vξ and Yξ
 *  (16·(C + M)·4 bytes per tile) are kept within this many bytes so they stay in L2. */
const BLOCK_BYTES = 1024 * 1024;

export function winogradApplies(g: ConvGeom): boolean {
  return g.kernel.length === 2 && g.kernel.every((k) => k === 3)
    && g.strides.every((s) => s === 1) && g.dilations.every((d) => d === 1)
    && g.C >= MIN_CHANNELS && g.M >= MIN_CHANNELS;
}

/** Winograd filters U = G·w·Gᵀ of every group (16·⌈M/4⌉·C·16 bytes each): once per session when W is constant. */
function filters(ctx: OpCtx, g: ConvGeom): Addr {
  const groupBytes = 16 * Math.ceil(g.M / 4) * g.C * 16;
  const build = (src: Addr, dst: Addr) => {
    for (let i = 0; i < g.group; i++) {
      ctx.step('winograd_filter_f32', ctx.offset(src, i * g.M * g.C * 36), ctx.offset(dst, i * groupBytes), g.M, g.C);
    }
  };
  if (ctx.value(1)) return ctx.derived(1, `winograd_f32_g${g.group}`, g.group * groupBytes, build);
  const dst = ctx.scratch(g.group * groupBytes);
  build(ctx.in(1), dst);
  return dst;
}

export function lowerWinograd(ctx: OpCtx, g: ConvGeom, bias: Addr | 0): void {
  const [OH, OW] = g.outSpatial;
  const TW = Math.ceil(OW / 2);
  const tiles = Math.ceil(OH / 2) * TW;
  const perTile = 16 * (g.C + g.M) * 4;
  const chunk = Math.min(8 * Math.ceil(tiles / 8), Math.max(8, 8 * Math.floor(BLOCK_BYTES / perTile / 8)));
  // Layout of conv_winograd_f32's scratch: 16 Vξ, 16 Yξ + 16 bytes, 4 padded input rows.
  const rowFloats = 8 * Math.ceil(TW / 4) + 4;
  const scratch = 16 * (Math.ceil(chunk / 8) * g.C * 32 + g.M * chunk * 4) + 16 + 16 * rowFloats;
  const u = filters(ctx, g);
  ctx.step('conv_winograd_f32', ctx.params(descriptor(ctx.dims(0)[0], g, chunk)), ctx.in(0), u, bias, ctx.out(0),
    ctx.scratch(scratch), 0, 0, 0);
}
