// Conv lowered onto Winograd F(2×2, 3×3) (assembly/conv_winograd.ts): 2-D, 3×3 kernel, stride 1,
// dilation 1, any pads, groups and batch. It trades 36 MACs per 2×2 output tile and channel
// pair for 16, plus input/output transforms that cost O(C + M) per tile.

import type { Addr, FusedActivation, OpCtx } from './context.js';
import { geomDescriptor, type ConvGeom } from './conv-geom.js';

/**
 * When Winograd beats im2col (kernels timed one against the other on the simd and relaxed
 * builds, 3×3 pad 1, 28²–112²): the input transform costs O(C) per tile against 20·C·M MACs
 * saved, so C decides — from 12 input channels per group it wins for every M tried (1…128,
 * 1.07–2.8×), at 8 it loses once M ≥ 64. Below 5×5 outputs the clipped edge tiles eat the gain
 * (4²: even, 3²: 0.85×).
 */
const MIN_CHANNELS = 12;
const MIN_OUT = 5;
/**
 * Tiles go through transform → 16 GEMMs → transform a block at a time; the block's Vξ and Yξ
 * (16·(C + M)·4 bytes per tile) are kept within about L2 (512 KiB). Measured flat (±3%) from
 * 128 KiB to 1 MiB on 64², 128² and 256² channels; 8-tile blocks are ~5% slower.
 */
const BLOCK_BYTES = 512 * 1024;

export function winogradApplies(g: ConvGeom): boolean {
  return g.kernel.length === 2 && g.kernel.every((k) => k === 3)
    && g.strides.every((s) => s === 1) && g.dilations.every((d) => d === 1)
    && g.C >= MIN_CHANNELS && g.outSpatial.every((o) => o >= MIN_OUT);
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

export function lowerWinograd(ctx: OpCtx, g: ConvGeom, bias: Addr | 0, e: FusedActivation): void {
  const [OH, OW] = g.outSpatial;
  const TW = Math.ceil(OW / 2);
  const tiles = Math.ceil(OH / 2) * TW;
  const perTile = 16 * (g.C + g.M) * 4;
  const chunk = Math.min(8 * Math.ceil(tiles / 8), Math.max(8, 8 * Math.floor(BLOCK_BYTES / perTile / 8)));
  // conv_winograd_f32's scratch: 16 Vξ and 16 Yξ (each + 64 bytes), 4 padded input rows.
  const rowFloats = 8 * Math.ceil(TW / 4) + 4;
  const scratch = 16 * (Math.ceil(chunk / 8) * g.C * 32 + g.M * chunk * 4 + 128) + 16 * rowFloats;
  const u = filters(ctx, g);
  ctx.step('conv_winograd_f32', ctx.params(geomDescriptor(ctx.dims(0)[0], g, chunk)), ctx.in(0), u, bias, ctx.out(0),
    ctx.scratch(scratch), e.act, e.lo, e.hi);
}
