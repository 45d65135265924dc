// Graph + bound input shapes → Plan. Nodes whose inputs are all known are folded at once; the
// rest are lowered into kernel steps whose runtime buffers are placed in one arena by liveness.

import { fail } from '../errors.js';
import { byteLength, type DType } from '../ir/dtype.js';
import { nodeLabel, type Graph, type Node } from '../ir/graph.js';
import { numel, type TensorData } from '../ir/tensor.js';
import type { Addr, Backend, OpDef } from '../ops/context.js';
import { alignUp, type Machine } from '../kernels/machine.js';
import { placeBuffers, type Lifetime } from './arena.js';
import { addr, EagerCtx, PlanCtx, type AddrImpl, type PlanSink, type PValue, type Scratch } from './context-impl.js';
import type { Arg, IOSlot, Plan, Ref, Step } from './types.js';
import type { WeightStore } from './weights.js';

export interface BoundInput {
  dtype: DType;
  dims: readonly number[];
  /** Present when the plan is specialised on this input's value. */
  value?: TensorData;
}

export interface ResolvedNode {
  node: Node;
  def: OpDef;
  opset: number;
}

export interface PlannerEnv {
  machine: Machine;
  weights: WeightStore;
  scratch: Scratch;
  backend: Backend;
}

/** Runs one node at once on known inputs (constant folding). */
export function foldNode(env: PlannerEnv, r: ResolvedNode, ins: (PValue | undefined)[]): (TensorData | undefined)[] {
  const ctx = new EagerCtx(r.node, r.opset, env.backend, ins, env.machine, env.scratch, env.weights);
  try {
    r.def.infer(ctx);
    r.def.lower(ctx);
    return ctx.results();
  } finally {
    env.scratch.reset();
  }
}

class PBlob {
  private chunks: Uint8Array[] = [];
  size = 0;
  add(bytes: Uint8Array): number {
    const o = this.size;
    this.chunks.push(bytes);
    this.size = alignUp(o + bytes.byteLength, 64);
    if (this.size > o + bytes.byteLength) this.chunks.push(new Uint8Array(this.size - o - bytes.byteLength));
    return o;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.byteLength;
    }
    return out;
  }
}

export function buildPlan(
  graph: Graph, nodes: readonly ResolvedNode[], bound: ReadonlyMap<string, BoundInput>, env: PlannerEnv,
): Plan {
  const vals = new Map<string, PValue>();
  const bufBytes: number[] = [];
  const steps: Step[] = [];
  const pblob = new PBlob();
  const constByName = new Map<string, Addr>();
  const inputNames = new Set(graph.inputs.map((i) => i.name));

  const sink: PlanSink = {
    isGraphInput: (name) => inputNames.has(name),
    newBuffer: (bytes) => bufBytes.push(bytes) - 1,
    constant: (bytes) => addr('P', pblob.add(bytes)),
    constantOf: (name, t) => {
      let a = constByName.get(name);
      if (!a) {
        a = addr('P', pblob.add(t.bytes));
        constByName.set(name, a);
      }
      return a;
    },
    emit: (s) => steps.push(s),
  };

  const inputSlots: { name: string; dtype: DType; dims: readonly number[]; buf: number }[] = [];
  for (const gi of graph.inputs) {
    const b = bound.get(gi.name);
    if (!b) fail('LOWBIT_BAD_INPUT', `input '${gi.name}' is missing`);
    const buf = sink.newBuffer(byteLength(b.dtype, numel(b.dims)));
    vals.set(gi.name, { dtype: b.dtype, dims: b.dims, buf, known: b.value });
    inputSlots.push({ name: gi.name, dtype: b.dtype, dims: b.dims, buf });
  }
  for (const [name, t] of graph.initializers) {
    if (!vals.has(name)) vals.set(name, { dtype: t.dtype, dims: t.dims, known: t, init: name });
  }

  for (const r of nodes) {
    const node = r.node;
    const ins = node.inputs.map((name) => {
      if (name === '') return undefined;
      const v = vals.get(name);
      if (!v) fail('LOWBIT_BAD_MODEL', `${nodeLabel(node)}: input '${name}' is not produced by any node, input or initializer`);
      return v;
    });
    const allKnown = ins.every((v) => v === undefined || v.known !== undefined);
    if (allKnown) {
      const res = foldNode(env, r, ins);
      node.outputs.forEach((name, i) => {
        const t = res[i];
        if (name !== '' && t) vals.set(name, { dtype: t.dtype, dims: t.dims, known: t });
      });
      continue;
    }
    const ctx = new PlanCtx(node, r.opset, env.backend, ins, env.machine, env.scratch, env.weights, sink);
    try {
      r.def.infer(ctx);
      r.def.lower(ctx);
    } finally {
      env.scratch.reset();
    }
    node.outputs.forEach((name, i) => {
      if (name === '') return;
      if (!ctx.produced[i]) ctx.out(i); // an output no step writes (e.g. empty): still gets storage
      const p = ctx.produced[i];
      if (!p) fail('LOWBIT_RUNTIME', `${nodeLabel(node)}: internal: output ${i} was not produced`);
      vals.set(name, p);
    });
  }

  // Liveness from the order of steps: graph inputs are live from the start, outputs to the end.
  const life: Lifetime[] = bufBytes.map((bytes) => ({ bytes, first: Infinity, last: -Infinity }));
  const touch = (b: number, i: number) => {
    life[b].first = Math.min(life[b].first, i);
    life[b].last = Math.max(life[b].last, i);
  };
  steps.forEach((s, i) => {
    for (const a of s.args) if (typeof a === 'object' && (a as AddrImpl).r === 'B') touch((a as AddrImpl).b, i);
  });
  for (const s of inputSlots) touch(s.buf, -1);

  const outputSlots: { name: string; dtype: DType; dims: readonly number[]; at: AddrImpl }[] = [];
  for (const go of graph.outputs) {
    const v = vals.get(go.name);
    if (!v) fail('LOWBIT_BAD_MODEL', `graph output '${go.name}' is not produced by any node`);
    let at: AddrImpl;
    if (v.buf !== undefined) {
      touch(v.buf, steps.length);
      at = addr('B', 0, v.buf);
    } else {
      at = sink.constantOf(go.name, v.known!) as AddrImpl;
    }
    outputSlots.push({ name: go.name, dtype: v.dtype, dims: v.dims, at });
  }
  for (const l of life) {
    if (l.first === Infinity) {
      l.first = -1;
      l.last = -1;
    }
  }

  const placement = placeBuffers(life);
  const resolve = (a: AddrImpl): Ref => {
    if (a.r === 'B') return { r: 'A', o: placement.offsets[a.b] + a.o };
    if (a.r === 'W' || a.r === 'P') return { r: a.r, o: a.o };
    return fail('LOWBIT_RUNTIME', 'internal: absolute address in a plan');
  };
  const planSteps: Step[] = steps.map((s) => ({
    kernel: s.kernel,
    node: s.node,
    args: s.args.map((a): Arg => (typeof a === 'number' ? a : resolve(a as unknown as AddrImpl))),
  }));
  const slot = (name: string, dtype: DType, dims: readonly number[], at: AddrImpl): IOSlot => ({
    name, dtype, dims: [...dims], ref: resolve(at), bytes: byteLength(dtype, numel(dims)),
  });
  return {
    steps: planSteps,
    params: pblob.bytes(),
    arenaBytes: placement.total,
    weightsBytes: env.weights.size,
    inputs: inputSlots.map((s) => slot(s.name, s.dtype, s.dims, addr('B', 0, s.buf))),
    outputs: outputSlots.map((s) => slot(s.name, s.dtype, s.dims, s.at)),
    buffers: life.map((l, i) => ({ offset: placement.offsets[i], bytes: l.bytes, first: l.first, last: l.last })),
  };
}
