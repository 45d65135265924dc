// Quantization metadata, first-class on IR values.

export interface QuantParams {
  /** One scale per tensor, per channel along `axis`, or per block of `blockSize` along `axis`. */
  scale: Float32Array;
  /** Same length as scale; integer zero points. */
  zeroPoint: Int32Array;
  axis: number;
  blockSize: number;
  bits: number;
  signed: boolean;
  narrow: boolean;
}
