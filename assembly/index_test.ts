// The test builds' extra exports (asconfig.test.json compiles this entry together with index.ts
// into build/test/): the scalar references every kernel is compared against bit-exactly. The
// runtime builds leave them out.
export { gemm_f32__ref } from './gemm_f32';
export { reduce__ref } from './reduce';
export { softmax_f32__ref } from './softmax';
export { layernorm_f32__ref } from './norm_layer';
export { maxpool__ref, avgpool_f32__ref } from './pool';
export { qgemm_i8__ref } from './gemm_i8';
export { conv_f32__ref, conv_transpose_f32__ref } from './conv_f32_ref';
export { cast__ref } from './cast';
export { qwgemm_f32__ref } from './gemm_q4';
export { qwgemm_i8__ref } from './gemm_q4_i8';
export { conv_i8__ref } from './conv_i8';
export { quantize_linear__ref, dequantize_linear__ref } from './quant';
export { bgemm_b1b1__ref } from './bgemm_b1b1';
export { bconv_b1b1__ref } from './bconv_b1b1';
export { bgemm_b1i8__ref, bgemm_b1f32__ref } from './bgemm_b1x';
export { fake_quant_f32__ref, fake_quant_q8__ref } from './fakequant';
export { tgemm_t2i8__ref } from './tgemm_t2i8';
export { tconv_t2i8__ref } from './tconv_t2i8';
export { lmul_gemm_f32__ref } from './lmul';
