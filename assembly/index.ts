// The only export surface of the kernel modules: raw pointers and i32/f32 scalars in, nothing
// managed crosses the boundary (see DESIGN.md §2).
export { heap_base, isa_tier } from './common';
export { binary, where } from './elementwise';
export { unary } from './unary';
export { pack_b_f32, pack_a_f32, gemm_f32, gemm_f32_pp } from './gemm_f32';
export { copy_strided, gather, gather_elements, gather_nd, fill, copy_bytes } from './layout';
export { reduce } from './reduce';
export { softmax_f32 } from './softmax';
export { layernorm_f32 } from './norm_layer';
export { maxpool, avgpool_f32, maxpool_indices, global_avgpool_f32, global_maxpool_f32 } from './pool';
export { bn_fold_f32, channel_affine_f32, bn_stats_f32, bn_running_f32 } from './norm_batch';
export { pack_b_i8, pack_b_i8_bytes, qgemm_i8_scratch_bytes } from './gemm_i8_pack';
export { qgemm_i8 } from './gemm_i8';
export { gemm_i8_epilogue_desc } from './gemm_i8_epilogue';
export { conv_f32, conv_transpose_f32, pack_at_f32 } from './conv_f32';
export { conv_dw_f32 } from './conv_dw_f32';
export { conv_winograd_f32, winograd_filter_f32 } from './conv_winograd';
export { cast } from './cast';
export { qw_pack, qw_pack_bytes } from './qw_pack';
export { qwgemm_f32, qwgemm_f32_scratch_bytes } from './gemm_q4';
export { pack_rows_i8, quantize_rows_i8, qwgemm_i8 } from './gemm_q4_i8';
export { qw_zp_fraction } from './qw_zp_fraction';
export { conv_i8, conv_i8_scratch_bytes } from './conv_i8';
export { conv_w_i8_bytes, pack_w_conv_i8 } from './conv_i8_pack';
export { conv_w_wino_i8_bytes, conv_wino_i8, conv_wino_i8_scratch_bytes, pack_w_wino_i8 } from './conv_i8_wino';
export { conv_dw_i8, conv_dw_i8_scratch_bytes, conv_w_dw_i8_bytes, pack_w_dw_i8 } from './conv_dw_i8';
export { qlinear_requant_desc } from './qlinear_params';
export { quantize_linear, dequantize_linear } from './quant';
export { dynamic_quantize_linear_f32 } from './quant_dynamic';
export {
  bit_row_bytes, pack_signs_f32, pack_signs_i8, pack_signs_nchw_f32, unpack_signs_f32,
  unpack_signs_nhwc_f32,
} from './bitpack';
export { bpanel_bytes, pack_bconv_weights_f32, pack_weights_b1_f32 } from './bitpanel';
export { binary_epilogue_desc, binary_sign_desc, bsign_thresholds } from './bgemm_epilogue';
export { flatten_b1_nhwc, maxpool_b1 } from './bitmove';
export { bgemm_b1b1 } from './bgemm_b1b1';
export { bconv_b1b1, bconv_b1b1_scratch_bytes } from './bconv_b1b1';
export { bgemm_b1i8, bgemm_b1f32 } from './bgemm_b1x';
export { fake_quant_f32, fake_quant_q8, multithreshold_f32 } from './fakequant';
export { pack_ternary_conv_i8, pack_ternary_f32, pack_ternary_i8, ternary_weights_bytes } from './ternary_pack';
export { tgemm_t2i8, tgemm_t2i8_scratch_bytes, ternary_row_sums, ternary_rowc } from './tgemm_t2i8';
export { tconv_t2i8, tconv_t2i8_scratch_bytes } from './tconv_t2i8';
export { lmul_conv_f32, lmul_dot_f32, lmul_gemm_f32, lmul_mul_f32 } from './lmul';
