"""Rewrites a QONNX model into standard float ONNX that onnxruntime runs: the model a user of
onnxruntime would serve in place of a QONNX one (bench/server.ts). Needs only onnx and numpy.

    python bench/lib/qonnx_to_float.py IN.onnx OUT.onnx

Quant(X, scale, zeropt, bitwidth; signed, narrow, rounding_mode ROUND) and BipolarQuant(X, scale)
on constants are folded into float32 initializers, computed in float32 in qonnx's order
(x / scale + zeropt, clip, round half to even, (q - zeropt) · scale; sign with X ≥ 0 → +1).
On computed values they become the same arithmetic in standard operators:
Mul(Sub(Round(Clip(Add(Div(X, s), z), lo, hi)), z), s) and Mul(Where(X ≥ 0, 1, −1), s).
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

QONNX_DOMAINS = ('qonnx.custom_op.general', 'onnx.brevitas', 'finn.custom_op.general')


def int_range(bits, signed, narrow):
    if signed:
        return -(2.0 ** (bits - 1)) + (1 if narrow else 0), 2.0 ** (bits - 1) - 1
    return 0.0, 2.0 ** bits - 1 - (1 if narrow else 0)


def attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def convert(model):
    g = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    nodes, new_inits, fresh = [], [], iter(range(1 << 30))

    def const(value):
        name = f'qf_const_{next(fresh)}'
        new_inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def op(op_type, inputs, out=None):
        out = out or f'qf_{op_type}_{next(fresh)}'
        nodes.append(helper.make_node(op_type, inputs, [out]))
        return out

    for node in g.node:
        if node.domain not in QONNX_DOMAINS:
            nodes.append(node)
            continue
        a = attrs(node)
        y = node.output[0]
        if node.op_type in ('Quant', 'IntQuant'):
            mode = a.get('rounding_mode', b'ROUND')
            if (mode.decode() if isinstance(mode, bytes) else mode).upper() != 'ROUND':
                raise ValueError(f'{node.name}: rounding_mode {mode} is not supported')
            s, z, bits = (consts[i] for i in node.input[1:4])
            lo, hi = int_range(int(bits), a.get('signed', 1), a.get('narrow', 0))
            if node.input[0] in consts:
                x = consts[node.input[0]].astype(np.float32)
                q = np.round(np.clip(x / s + z, lo, hi)).astype(np.float32)
                consts[y] = ((q - z) * s).astype(np.float32)
                new_inits.append(numpy_helper.from_array(consts[y], y))
            else:
                sc, zc = const(s), const(z)
                t = op('Clip', [op('Add', [op('Div', [node.input[0], sc]), zc]), const(lo), const(hi)])
                op('Mul', [op('Sub', [op('Round', [t]), zc]), sc], y)
        elif node.op_type == 'BipolarQuant':
            s = consts[node.input[1]]
            if node.input[0] in consts:
                consts[y] = (np.where(consts[node.input[0]] >= 0, 1, -1) * s).astype(np.float32)
                new_inits.append(numpy_helper.from_array(consts[y], y))
            else:
                sign = op('Where', [op('GreaterOrEqual', [node.input[0], const(0.0)]), const(1.0), const(-1.0)])
                op('Mul', [sign, const(s)], y)
        else:
            raise ValueError(f'{node.name}: {node.domain}.{node.op_type} is not supported')
    used = {i for n in nodes for i in n.input} | {o.name for o in g.output}
    inits = [t for t in list(g.initializer) + new_inits if t.name in used]
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(inits)
    opsets = [o for o in model.opset_import if o.domain not in QONNX_DOMAINS]
    del model.opset_import[:]
    model.opset_import.extend(opsets)
    onnx.checker.check_model(model)
    return model


if __name__ == '__main__':
    onnx.save(convert(onnx.load(sys.argv[1])), sys.argv[2])
