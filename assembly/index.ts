// The only export surface of the kernel modules: raw pointers and i32/f32 scalars in, nothing
// managed crosses the boundary (see DESIGN.md §2).
export { heap_base, isa_tier } from './common';
export { binary, where } from './elementwise';
export { unary } from './unary';
export { pack_b_f32, pack_a_f32, gemm_f32, gemm_f32_pp, gemm_f32__ref } from './gemm_f32';
export { copy_strided, gather, gather_elements, gather_nd, fill, copy_bytes } from './layout';
export { cast, cast__ref } from './cast';
