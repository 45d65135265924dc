// A loaded model ready to run: validated graph, kernel instance, session constants and a cache
// of plans specialised to input shapes.

import { fail, LowbitError } from '../errors.js';
import { byteLength, type DType } from '../ir/dtype.js';
import { nodeLabel, type Graph, type Node } from '../ir/graph.js';
import { numel, type TensorData } from '../ir/tensor.js';
import { resolveOp } from '../ops/registry.js';
import { exactActivationsPass } from '../passes/exact-activations.js';
import { lmulPass, type LmulOptions } from '../passes/lmul.js';
import { PASSES, runPasses, type Declines, type Pass, type PassReport } from '../passes/index.js';
import { Scratch, type PValue } from '../plan/context-impl.js';
import { NeedValue } from '../plan/context-impl.js';
import { buildPlan, foldNode, type BoundInput, type PlannerEnv, type ResolvedNode } from '../plan/planner.js';
import type { Plan } from '../plan/types.js';
import { WeightStore } from '../plan/weights.js';
import { BoundPlan } from '../runtime/executor.js';
import { Machine } from '../kernels/machine.js';
import type { Backend } from '../kernels/wasm.js';

export interface Feed {
  dtype: DType;
  dims: readonly number[];
  bytes: Uint8Array;
}

/**
 * 'model' runs what the model allows (MatMulNBits accuracy_level 4: int8 activations); 'exact'
 * replaces every path that approximates by design with the exact one.
 */
export type Precision = 'model' | 'exact';

export interface EngineOptions {
  memoryLimit?: number;
  /** Largest element count of one tensor (default MAX_ELEMENTS). */
  maxTensorElements?: number;
  /** Time budget of one run in ms, checked between kernel steps (default: none). */
  runTimeLimitMs?: number;
  precision?: Precision;
  /** Plans kept for distinct input shapes. */
  maxPlans?: number;
  /** Rewrite rules to run at load (default PASSES; tests and benchmarks compare against fewer). */
  passes?: readonly Pass[];
  /** L-Mul execution mode (src/passes/lmul.ts): runs after the other rules. */
  lmul?: LmulOptions;
}

export class Engine {
  readonly machine: Machine;
  readonly weights: WeightStore;
  private readonly nodes: ResolvedNode[];
  private readonly scratch: Scratch;
  private readonly plans = new Map<string, Plan>();
  private readonly keyed = new Set<string>();
  private bound?: BoundPlan;
  /** Type, dims and byte size of each input (graph order) at the last full check, and its plan. */
  private last?: { inputs: { dtype: string; dims: number[]; size: number }[]; plan: Plan };
  private readonly maxPlans: number;
  private readonly runTimeLimitMs: number;

  readonly passes: PassReport;
  /** Why rules left candidate nodes as they were (for inspect). */
  readonly declines: Declines = new Map();

  constructor(readonly graph: Graph, module: WebAssembly.Module, readonly backend: Backend, opts: EngineOptions = {}) {
    orderNodes(graph); // validates (cycles, dangling inputs) before any rule looks at the graph
    const base = opts.passes ?? (opts.precision === 'exact' ? [exactActivationsPass, ...PASSES] : PASSES);
    const passes = opts.lmul ? [...base, lmulPass(opts.lmul)] : base;
    this.passes = runPasses(graph, passes, this.declines);
    this.nodes = orderNodes(graph).map((node) => ({ node, ...resolveOp(node, graph) }));
    this.machine = new Machine(module, backend, opts.memoryLimit, opts.maxTensorElements);
    this.runTimeLimitMs = opts.runTimeLimitMs ?? Infinity;
    this.weights = new WeightStore(this.machine);
    this.scratch = new Scratch(this.machine, () => Math.max(this.machine.heapBase + this.weights.size, this.bound?.end ?? 0));
    this.maxPlans = opts.maxPlans ?? 8;
    this.foldConstants();
  }

  private get env(): PlannerEnv {
    return { machine: this.machine, weights: this.weights, scratch: this.scratch, backend: this.backend };
  }

  /** Folds every node whose inputs are all initializers into a new initializer, once. */
  private foldConstants(): void {
    const g = this.graph;
    const keep: ResolvedNode[] = [];
    for (const r of this.nodes) {
      const ins = r.node.inputs.map((n) => (n === '' ? undefined : g.initializers.get(n)));
      const allConst = r.node.inputs.every((n, i) => n === '' || ins[i] !== undefined);
      if (!allConst) {
        keep.push(r);
        continue;
      }
      const pv = ins.map((t): PValue | undefined => (t ? { dtype: t.dtype, dims: t.dims, known: t } : undefined));
      const res = foldNode(this.env, r, pv);
      r.node.outputs.forEach((name, i) => {
        if (name !== '' && res[i]) g.initializers.set(name, res[i]!);
      });
    }
    this.nodes.splice(0, this.nodes.length, ...keep);
  }

  /** Checks feeds against the declared inputs and returns the plan for their shapes. */
  planFor(feeds: ReadonlyMap<string, Feed>): Plan;
  /** With `probe`, returns undefined instead of specialising on input values it does not have. */
  planFor(feeds: ReadonlyMap<string, Feed>, probe: true): Plan | undefined;
  planFor(feeds: ReadonlyMap<string, Feed>, probe = false): Plan | undefined {
    if (this.sameAsLast(feeds)) return this.last!.plan;
    const symbols = new Map<string, number>();
    for (const gi of this.graph.inputs) {
      const f = feeds.get(gi.name);
      if (!f) fail('LOWBIT_BAD_INPUT', `input '${gi.name}' is missing (inputs: ${this.graph.inputs.map((i) => i.name).join(', ')})`);
      if (f.dtype !== gi.dtype) fail('LOWBIT_TYPE_MISMATCH', `input '${gi.name}' must be ${gi.dtype}, got ${f.dtype}`);
      if (gi.shape) {
        if (f.dims.length !== gi.shape.length) {
          fail('LOWBIT_SHAPE_MISMATCH', `input '${gi.name}' must have rank ${gi.shape.length} [${gi.shape.map((d) => d ?? '?').join(',')}], got [${f.dims.join(',')}]`);
        }
        gi.shape.forEach((d, k) => {
          const got = f.dims[k];
          if (typeof d === 'number' && d !== got) {
            fail('LOWBIT_SHAPE_MISMATCH', `input '${gi.name}' dimension ${k} must be ${d}, got ${got} (shape [${f.dims.join(',')}])`);
          }
          if (typeof d === 'string') {
            const prev = symbols.get(d);
            if (prev !== undefined && prev !== got) {
              fail('LOWBIT_SHAPE_MISMATCH', `input '${gi.name}' dimension ${k} ('${d}') is ${got}, but '${d}' is ${prev} in another input`);
            }
            symbols.set(d, got);
          }
        });
      }
      if (numel(f.dims) > this.machine.maxElements) {
        fail('LOWBIT_LIMIT', `input '${gi.name}' shape [${f.dims.join(',')}] has more than ${this.machine.maxElements} elements (option maxTensorElements)`);
      }
      if (f.bytes.byteLength !== byteLength(f.dtype, numel(f.dims))) {
        fail('LOWBIT_BAD_INPUT', `input '${gi.name}' has ${f.bytes.byteLength} bytes of data for shape [${f.dims.join(',')}]`);
      }
    }
    for (const name of feeds.keys()) {
      if (!this.graph.inputs.some((i) => i.name === name)) {
        fail('LOWBIT_BAD_INPUT', `'${name}' is not an input of this model (inputs: ${this.graph.inputs.map((i) => i.name).join(', ')})`);
      }
    }
    for (;;) {
      const key = this.planKey(feeds);
      const have = this.plans.get(key);
      if (have) return this.remember(feeds, have);
      const bound = new Map<string, BoundInput>();
      for (const gi of this.graph.inputs) {
        const f = feeds.get(gi.name)!;
        const value: TensorData | undefined = this.keyed.has(gi.name) ? { dtype: f.dtype, dims: f.dims, bytes: f.bytes.slice() } : undefined;
        bound.set(gi.name, { dtype: f.dtype, dims: f.dims, value });
      }
      try {
        const plan = buildPlan(this.graph, this.nodes, bound, this.env);
        if (this.plans.size >= this.maxPlans) this.plans.delete(this.plans.keys().next().value!);
        this.plans.set(key, plan);
        return this.remember(feeds, plan);
      } catch (e) {
        if (e instanceof NeedValue && probe) return undefined;
        if (e instanceof NeedValue && !this.keyed.has(e.input)) {
          this.keyed.add(e.input);
          continue;
        }
        throw e;
      }
    }
  }

  /**
   * Whether the feeds have the types, shapes and byte sizes of the last fully checked ones, so
   * the same checks pass and the same plan applies (runs of one shape skip the checks and the
   * key; not when a plan depends on input values).
   */
  private sameAsLast(feeds: ReadonlyMap<string, Feed>): boolean {
    const last = this.last;
    if (!last || this.keyed.size > 0 || feeds.size !== last.inputs.length) return false;
    const inputs = this.graph.inputs;
    for (let i = 0; i < inputs.length; i++) {
      const f = feeds.get(inputs[i].name);
      const l = last.inputs[i];
      if (!f || f.dtype !== l.dtype || f.bytes.byteLength !== l.size || f.dims.length !== l.dims.length) return false;
      for (let k = 0; k < l.dims.length; k++) if (f.dims[k] !== l.dims[k]) return false;
    }
    return true;
  }

  private remember(feeds: ReadonlyMap<string, Feed>, plan: Plan): Plan {
    this.last = {
      inputs: this.graph.inputs.map((gi) => {
        const f = feeds.get(gi.name)!;
        return { dtype: f.dtype, dims: [...f.dims], size: f.bytes.byteLength };
      }),
      plan,
    };
    return plan;
  }

  private planKey(feeds: ReadonlyMap<string, Feed>): string {
    return this.graph.inputs.map((gi) => {
      const f = feeds.get(gi.name)!;
      const v = this.keyed.has(gi.name) ? `=${Array.from(f.bytes).join('.')}` : '';
      return `${f.dims.join('x')}${v}`;
    }).join('|');
  }

  private bind(plan: Plan): BoundPlan {
    const b = this.bound;
    if (b && b.plan === plan && b.planBase >= this.machine.heapBase + this.weights.size) return b;
    this.bound = new BoundPlan(plan, this.machine, this.weights.size);
    return this.bound;
  }

  /**
   * Runs the plan for the feeds' shapes; returns the outputs in `fetch` (default all). An output
   * named in `into` is copied into that caller's buffer (a pre-allocated output: its dtype and
   * dims must be the output's, checked before anything runs) and returned as that buffer.
   */
  run(feeds: ReadonlyMap<string, Feed>, fetch?: readonly string[], into?: ReadonlyMap<string, Feed>): Map<string, Feed> {
    const plan = this.planFor(feeds);
    for (const [name, dst] of into ?? []) {
      const slot = plan.outputs.find((s) => s.name === name);
      if (!slot) fail('LOWBIT_BAD_INPUT', `'${name}' is not an output of this model (outputs: ${plan.outputs.map((s) => s.name).join(', ')})`);
      if (dst.dtype !== slot.dtype || dst.dims.length !== slot.dims.length || dst.dims.some((d, i) => d !== slot.dims[i])) {
        fail('LOWBIT_SHAPE_MISMATCH', `pre-allocated output '${name}' is ${dst.dtype} [${dst.dims.join(',')}], but for these inputs the output is ${slot.dtype} [${slot.dims.join(',')}]`);
      }
    }
    const bp = this.bind(plan);
    for (const slot of plan.inputs) bp.writeInput(slot, feeds.get(slot.name)!.bytes);
    try {
      bp.execute(this.runTimeLimitMs);
    } catch (e) {
      if (e instanceof LowbitError) throw e;
      fail('LOWBIT_RUNTIME', `run failed: ${(e as Error).message}`, e);
    }
    const out = new Map<string, Feed>();
    for (const slot of plan.outputs) {
      if (fetch && !fetch.includes(slot.name)) continue;
      const dst = into?.get(slot.name);
      if (dst) bp.readOutputInto(slot, dst.bytes);
      out.set(slot.name, dst ?? { dtype: slot.dtype, dims: slot.dims, bytes: bp.readOutput(slot) });
    }
    return out;
  }

  /** Plan for the given shapes without running (inspect, compile). */
  resolvedNodes(): readonly ResolvedNode[] {
    return this.nodes;
  }
}

/** Topological order (Kahn); fails on cycles and on inputs nothing produces. */
export function orderNodes(g: Graph): Node[] {
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      if (o === '') continue;
      if (producer.has(o) || g.initializers.has(o) || g.inputs.some((x) => x.name === o)) {
        fail('LOWBIT_BAD_MODEL', `${nodeLabel(n)}: value '${o}' is produced more than once`);
      }
      producer.set(o, i);
    }
  });
  const available = new Set<string>([...g.initializers.keys(), ...g.inputs.map((i) => i.name)]);
  const indeg = g.nodes.map(() => 0);
  const users = new Map<number, number[]>();
  g.nodes.forEach((n, i) => {
    for (const inp of n.inputs) {
      if (inp === '' || available.has(inp)) continue;
      const p = producer.get(inp);
      if (p === undefined) fail('LOWBIT_BAD_MODEL', `${nodeLabel(n)}: input '${inp}' is not produced by any node, input or initializer`);
      indeg[i]++;
      users.set(p, [...(users.get(p) ?? []), i]);
    }
  });
  const queue = indeg.flatMap((d, i) => (d === 0 ? [i] : []));
  const order: Node[] = [];
  for (let q = 0; q < queue.length; q++) {
    const i = queue[q];
    order.push(g.nodes[i]);
    for (const u of users.get(i) ?? []) if (--indeg[u] === 0) queue.push(u);
  }
  if (order.length !== g.nodes.length) {
    const stuck = g.nodes.filter((_, i) => indeg[i] > 0).slice(0, 3).map(nodeLabel).join(', ');
    fail('LOWBIT_BAD_MODEL', `the graph has a cycle (through ${stuck})`);
  }
  for (const o of g.outputs) {
    if (!producer.has(o.name) && !available.has(o.name)) fail('LOWBIT_BAD_MODEL', `graph output '${o.name}' is not produced by any node`);
  }
  return order;
}
