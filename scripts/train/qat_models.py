"""Brevitas versions of the Fashion-MNIST MLP and CNN (train_fmnist.py) for quantization-aware
training, and their initialisation from the trained float32 ONNX models.

Precisions (weights / activations between layers; the input image is always quantized to 8 bits):
  int4  4-bit signed narrow per-channel weights (scale = max|w| / 7), 8-bit unsigned ReLU outputs
  w2a8  ternary weights: 2-bit signed narrow per-channel, {-1, 0, 1} * s with s = mean|w| of the
        output channel, so |w| < s/2 rounds to 0; 8-bit unsigned ReLU outputs
  w2a2  ternary weights as w2a8; 2-bit unsigned ReLU outputs {0, 1, 2, 3} * s
  w1a1  binary weights {-1, +1} * 0.1 (per-tensor constant) and binary activations {-1, +1}
        (BatchNorm then sign), except the usual first/last layers: the first layer has 8-bit
        per-channel weights on the 8-bit input, the last layer 8-bit per-channel weights (its
        input is the binary activation of the layer before).
Biases are 32-bit integers on the accumulator's scale (input scale × weight scale), as in
standard QDQ models. Activation scales are learned (Brevitas' defaults: initialised from statistics, then trained by
the straight-through estimator). Max-pooling sits before the activation quantizer (max commutes
with ReLU, rounding and sign) and Flatten before it too, so every quantizer feeds its layer
directly; BatchNorm stays a separate node in the exported graph.
"""
import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

import brevitas.nn as qnn
from brevitas.quant import (Int8ActPerTensorFloat, Int8WeightPerChannelFloat, Int32Bias, SignedBinaryActPerTensorConst,
                            SignedBinaryWeightPerTensorConst, Uint8ActPerTensorFloat)

from train_fmnist import CNN_CHANNELS, CNN_HIDDEN, Normalize


class Int4WeightPerChannel(Int8WeightPerChannelFloat):
    bit_width = 4


class TernaryWeightPerChannel(Int8WeightPerChannelFloat):
    bit_width = 2
    scaling_stats_op = 'AVE'


PRECISIONS = {
    #        hidden weights            act bits  first/last layer weights
    'int4': (Int4WeightPerChannel, 8, Int4WeightPerChannel),
    'w2a8': (TernaryWeightPerChannel, 8, TernaryWeightPerChannel),
    'w2a2': (TernaryWeightPerChannel, 2, TernaryWeightPerChannel),
    'w1a1': (SignedBinaryWeightPerTensorConst, 1, Int8WeightPerChannelFloat),
}


def activation(bits):
    """Passes its scale on (a QuantTensor) so the next layer's bias can be quantized with it."""
    if bits == 1:
        return qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True)
    return qnn.QuantReLU(act_quant=Uint8ActPerTensorFloat, bit_width=bits, return_quant_tensor=True)


def input_quant():
    return qnn.QuantIdentity(act_quant=Int8ActPerTensorFloat, return_quant_tensor=True)


def linear(cin, cout, bias, weight_quant):
    return qnn.QuantLinear(cin, cout, bias=bias, weight_quant=weight_quant, bias_quant=Int32Bias if bias else None)


def qat_mlp(precision):
    """784-256-256-10 like train_fmnist.mlp(); w1a1 adds BatchNorm before each sign."""
    hidden_w, bits, edge_w = PRECISIONS[precision]
    binary = bits == 1

    def hidden(fc):
        return [fc, nn.BatchNorm1d(fc.out_features), activation(bits)] if binary else [fc, activation(bits)]
    return nn.Sequential(
        Normalize(), nn.Flatten(), input_quant(),
        *hidden(linear(784, 256, True, edge_w)),
        *hidden(linear(256, 256, not binary, hidden_w)),
        linear(256, 10, True, edge_w))


def qat_cnn(precision):
    """train_fmnist.cnn() with pooling and flattening moved before the activations."""
    hidden_w, bits, edge_w = PRECISIONS[precision]
    c1, c2, c3 = CNN_CHANNELS

    def conv(cin, cout, wq):
        return qnn.QuantConv2d(cin, cout, 3, padding=1, bias=False, weight_quant=wq)
    fc1 = [linear(c3 * 7 * 7, CNN_HIDDEN, bits != 1, hidden_w)]
    if bits == 1:
        fc1.append(nn.BatchNorm1d(CNN_HIDDEN))
    return nn.Sequential(
        Normalize(), input_quant(),
        conv(1, c1, edge_w), nn.BatchNorm2d(c1), nn.MaxPool2d(2), activation(bits),
        conv(c1, c2, hidden_w), nn.BatchNorm2d(c2), nn.MaxPool2d(2), activation(bits),
        conv(c2, c3, hidden_w), nn.BatchNorm2d(c3), nn.Flatten(), activation(bits),
        *fc1, activation(bits),
        linear(CNN_HIDDEN, 10, True, edge_w))


def float_layers(path):
    """(op_type, weight, bias) of each Conv and Gemm of a float32 ONNX model, in graph order."""
    model = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    layers = []
    for node in model.graph.node:
        if node.op_type in ('Conv', 'Gemm'):
            if node.op_type == 'Gemm':
                trans_b = next((a.i for a in node.attribute if a.name == 'transB'), 0)
                if not trans_b:
                    raise ValueError(f'{node.name}: expected Gemm with transB=1 (torch Linear)')
            bias = inits[node.input[2]] if len(node.input) > 2 and node.input[2] else None
            layers.append((node.op_type, inits[node.input[1]], bias))
    return layers


def init_from_float(model, path, calibration):
    """Copies the float model's weights into the QAT model. The float CNN's ONNX export folded
    each BatchNorm into its conv (w' = w*g/σ, b' = β - μg/σ); the QAT conv has no bias and its
    own BatchNorm, which is set so that in training mode it reproduces the folded conv: γ and
    β - b' are the per-channel std and mean of the conv output on the calibration images."""
    layers = float_layers(path)
    targets = [m for m in model if isinstance(m, (qnn.QuantConv2d, qnn.QuantLinear))]
    if len(layers) != len(targets):
        raise ValueError(f'{path}: {len(layers)} Conv/Gemm layers, the QAT model has {len(targets)}')
    modules = list(model)
    with torch.no_grad():
        for (op, w, b), layer in zip(layers, targets):
            if tuple(layer.weight.shape) != w.shape:
                raise ValueError(f'{path}: {op} weight {w.shape} != {tuple(layer.weight.shape)}')
            layer.weight.copy_(torch.tensor(w))
            i = modules.index(layer)
            after = modules[i + 1] if i + 1 < len(modules) else None
            bn = after if isinstance(after, (nn.BatchNorm1d, nn.BatchNorm2d)) else None
            if layer.bias is not None:
                layer.bias.copy_(torch.tensor(b))
            elif bn is not None:
                model.eval()
                y = nn.Sequential(*modules[:i + 1])(calibration)
                dims = [0, 2, 3] if y.dim() == 4 else [0]
                mean, var = y.mean(dims), y.var(dims)
                bn.running_mean.copy_(mean)
                bn.running_var.copy_(var)
                bn.weight.copy_(torch.sqrt(var + bn.eps))
                bn.bias.copy_(mean + torch.tensor(b if b is not None else np.zeros(len(mean), np.float32)))
    return model


def build(arch, precision):
    return qat_mlp(precision) if arch == 'mlp' else qat_cnn(precision)
