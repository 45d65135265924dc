"""Rewrites a cleaned QONNX model (Brevitas export + qonnx cleanup) into standard ONNX
QuantizeLinear/DequantizeLinear form with sub-byte weight types (INT4, INT2), the form
onnxruntime and other standard runtimes read. Needs only onnx and numpy.

    python scripts/train/qonnx_to_qdq.py models/fmnist-cnn-int4-qonnx.onnx models/fmnist-cnn-int4-qdq.onnx

Quant(X, scale, zeropt, bitwidth; signed, narrow) with zeropt = 0 becomes
  - X a constant (weights, biases): the integers q = clamp(round_half_even(X / scale)) stored as
    INT2/INT4/INT8/INT32 (UINT* when unsigned), then DequantizeLinear(q, scale) — per-tensor for a scalar scale,
    per-axis along the one non-1 dimension of the scale otherwise. q·scale is the same float32
    product QONNX computes, so the weights are identical.
  - X computed (activations): QuantizeLinear(X, scale, 0) → DequantizeLinear. QONNX clamps then
    rounds, QuantizeLinear rounds then saturates; with integer bounds the two agree. Only ranges
    the type holds exactly are accepted (no narrow signed activations: those need a Clip).
BipolarQuant (binary) has no standard equivalent; a model with one is refused.
The ai.onnx opset becomes 21 (INT4) or 25 (INT2 and UINT2 need it).
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QONNX_DOMAINS = ('qonnx.custom_op.general', 'onnx.brevitas', 'finn.custom_op.general')


def quant_type(bits, signed):
    """The smallest standard integer type holding a `bits`-wide signed/unsigned range."""
    for width, s_type, u_type in ((2, TensorProto.INT2, TensorProto.UINT2), (4, TensorProto.INT4, TensorProto.UINT4),
                                  (8, TensorProto.INT8, TensorProto.UINT8), (32, TensorProto.INT32, None)):
        if bits <= width and (signed or u_type is not None):
            return width, (s_type if signed else u_type)
    raise ValueError(f'{bits}-bit quantization has no QuantizeLinear type')


def int_range(bits, signed, narrow):
    if signed:
        return -(1 << (bits - 1)) + (1 if narrow else 0), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1 - (1 if narrow else 0)


def per_axis(scale, node):
    """(1-D scale, axis) or (scalar scale, None)."""
    if scale.size == 1:
        return scale.reshape(()), None
    axes = [i for i, d in enumerate(scale.shape) if d != 1]
    if len(axes) != 1:
        raise ValueError(f'{node.name}: scale of shape {scale.shape} is neither per-tensor nor per-axis')
    return scale.reshape(-1), axes[0]


def convert(model):
    g = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers[i] = consumers.get(i, 0) + 1
    new_inits, nodes, max_opset = [], [], 21
    for node in g.node:
        if node.domain not in QONNX_DOMAINS:
            nodes.append(node)
            continue
        if node.op_type != 'Quant':
            raise ValueError(f'{node.name}: {node.op_type} has no standard ONNX form (binary models stay QONNX)')
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        rounding = attrs.get('rounding_mode', b'ROUND')
        if (rounding.decode() if isinstance(rounding, bytes) else rounding).upper() != 'ROUND':
            raise ValueError(f'{node.name}: rounding_mode {attrs["rounding_mode"]} is not round-half-even')
        x, s, zp, bw = node.input
        scale, zeropt, bits = inits[s], inits[zp], inits[bw]
        if np.any(zeropt != 0):
            raise ValueError(f'{node.name}: non-zero zero point')
        bits, signed, narrow = int(bits), bool(attrs.get('signed', 1)), bool(attrs.get('narrow', 0))
        width, qtype = quant_type(bits, signed)
        if width == 2:
            max_opset = 25
        lo, hi = int_range(bits, signed, narrow)
        scale_1d, axis = per_axis(scale.astype(np.float32), node)
        axis_attr = {} if axis is None else {'axis': axis}
        s_name = node.name + '_scale'
        new_inits.append(numpy_helper.from_array(scale_1d, s_name))
        if x in inits:
            q = np.clip(np.round(inits[x] / scale), lo, hi).astype(np.int64)
            q_name = node.name + '_int'
            new_inits.append(helper.make_tensor(q_name, qtype, q.shape, q.ravel().tolist()))
            nodes.append(helper.make_node('DequantizeLinear', [q_name, s_name], [node.output[0]],
                                          name=node.name + '_DequantizeLinear', **axis_attr))
        else:
            if (lo, hi) != int_range(width, signed, False):
                raise ValueError(f'{node.name}: activation range [{lo},{hi}] is not the whole {width}-bit type')
            z_name = node.name + '_zero_point'
            zshape = [] if axis is None else [scale_1d.size]
            new_inits.append(helper.make_tensor(z_name, qtype, zshape, [0] * int(np.prod(zshape, dtype=int))))
            q_out = node.output[0] + '_q'
            nodes.append(helper.make_node('QuantizeLinear', [x, s_name, z_name], [q_out],
                                          name=node.name + '_QuantizeLinear', **axis_attr))
            nodes.append(helper.make_node('DequantizeLinear', [q_out, s_name, z_name], [node.output[0]],
                                          name=node.name + '_DequantizeLinear', **axis_attr))
    used = {i for n in nodes for i in n.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(keep + new_inits)
    del g.value_info[:]
    imports = [o for o in model.opset_import if o.domain not in ('', 'ai.onnx') + QONNX_DOMAINS]
    del model.opset_import[:]
    model.opset_import.extend([helper.make_opsetid('', max_opset)] + imports)
    model.ir_version = max(model.ir_version, helper.find_min_ir_version_for(model.opset_import))
    onnx.checker.check_model(model, full_check=True)
    return model


def main():
    src, dst = sys.argv[1:3]
    onnx.save(convert(onnx.load(src)), dst)
    print(f'wrote {dst}')


if __name__ == '__main__':
    main()
