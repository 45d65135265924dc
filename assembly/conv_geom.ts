// Geometry descriptor shared by the f32 Conv and ConvTranspose kernels (i32 entries, written by
// src/ops/conv.ts). Every convolution is described in 3-D: 1-D and 2-D ones have leading
// spatial dims of size 1 (kernel 1, stride 1, dilation 1, pad 0).
//
// Channels are per group: input channel block g·C..g·C+C−1 feeds output block g·M..g·M+M−1.
// Conv:          x spatial = "in", y spatial = "out", in = out·stride − pad + k·dilation.
// ConvTranspose: x spatial = "in", y spatial = "out", out = in·stride − pad + k·dilation
//                (the scatter dual of Conv; pads may be negative when output_shape asks for it).

export const G_N: i32 = 0; // batch
export const G_G: i32 = 1; // groups
export const G_C: i32 = 2; // input channels per group
export const G_M: i32 = 3; // output channels per group
export const G_IN: i32 = 4; // ID, IH, IW
export const G_K: i32 = 7; // KD, KH, KW
export const G_S: i32 = 10; // SD, SH, SW
export const G_DIL: i32 = 13; // DD, DH, DW
export const G_PAD: i32 = 16; // PD, PH, PW (begin pads)
export const G_OUT: i32 = 19; // OD, OH, OW
export const G_CHUNK: i32 = 22; // per GEMM call: f32 Conv, panels of 8 output positions; ConvTranspose, of 8 input
//                                 positions; Winograd, 2×2 tiles per block (conv_i8: unused)
export const G_LEN: i32 = 23;
