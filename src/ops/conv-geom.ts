// The geometry every f32 Conv/ConvTranspose lowering shares, and its kernel descriptor.

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

/** Descriptor of assembly/conv_geom.ts: the geometry lifted to 3-D by leading unit axes. */
export function descriptor(batch: number, g: ConvGeom, chunk: number): Int32Array {
  const lift = (v: number[], fill: number) => [...new Array<number>(3 - v.length).fill(fill), ...v];
  return new Int32Array([
    batch, g.group, g.C, g.M,
    ...lift(g.inSpatial, 1), ...lift(g.kernel, 1), ...lift(g.strides, 1), ...lift(g.dilations, 1),
    ...lift(g.pads, 0), ...lift(g.outSpatial, 1), chunk,
  ]);
}
