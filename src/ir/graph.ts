// The IR graph: no protobuf types past src/onnx/.

import type { DType } from './dtype.js';
import type { TensorData } from './tensor.js';
import type { QuantParams } from './quant.js';

/** A dimension: a number, a symbolic name, or unknown (null). */
export type Dim = number | string | null;

export interface ValueInfo {
  name: string;
  dtype: DType;
  /** null when the rank is unknown. */
  shape: Dim[] | null;
}

export type AttrValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: TensorData }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'unsupported'; value: string };

export interface Node {
  name: string;
  opType: string;
  /** '' for the default ONNX domain (ai.onnx is normalised to ''). */
  domain: string;
  /** '' marks an omitted optional input/output. */
  inputs: string[];
  outputs: string[];
  attrs: Map<string, AttrValue>;
}

export interface Graph {
  name: string;
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, TensorData>;
  /** Declared types of intermediate values (value_info), when the model has them. */
  valueInfo: Map<string, ValueInfo>;
  /** Quantization metadata attached to values by passes. */
  quant: Map<string, QuantParams>;
  opsets: Map<string, number>;
}

export function nodeLabel(n: Node): string {
  const dom = n.domain === '' ? 'ai.onnx' : n.domain;
  return `node '${n.name || n.outputs[0] || '?'}' (${dom}::${n.opType})`;
}
