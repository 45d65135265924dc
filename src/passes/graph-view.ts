// Who produces and who consumes each value of a graph: what local rewrite rules match against.

import type { Graph, Node } from '../ir/graph.js';
import type { TensorData } from '../ir/tensor.js';

/** The internal operator domain passes rewrite into. */
export const LOWBIT_DOMAIN = 'ai.lowbit';

export class GraphView {
  private readonly producers = new Map<string, Node>();
  private readonly consumers = new Map<string, Node[]>();
  private readonly outputs: Set<string>;

  constructor(readonly graph: Graph) {
    for (const n of graph.nodes) {
      for (const o of n.outputs) if (o !== '') this.producers.set(o, n);
      for (const i of n.inputs) if (i !== '') this.consumers.set(i, [...(this.consumers.get(i) ?? []), n]);
    }
    this.outputs = new Set(graph.outputs.map((o) => o.name));
  }

  producer(value: string): Node | undefined {
    return this.producers.get(value);
  }

  consumersOf(value: string): readonly Node[] {
    return this.consumers.get(value) ?? [];
  }

  /** The value is read by exactly one node and is not a graph output: a rewrite may absorb it. */
  singleUse(value: string): boolean {
    return this.consumersOf(value).length === 1 && !this.outputs.has(value);
  }

  constant(value: string): TensorData | undefined {
    return value === '' ? undefined : this.graph.initializers.get(value);
  }
}

/** Removes nodes whose outputs nobody reads (graph outputs count as read), until none is left. */
export function removeDeadNodes(g: Graph): number {
  let removed = 0;
  for (;;) {
    const read = new Set<string>(g.outputs.map((o) => o.name));
    for (const n of g.nodes) for (const i of n.inputs) read.add(i);
    const keep = g.nodes.filter((n) => n.outputs.some((o) => o !== '' && read.has(o)));
    if (keep.length === g.nodes.length) return removed;
    removed += g.nodes.length - keep.length;
    g.nodes.splice(0, g.nodes.length, ...keep);
  }
}

/** A value name not used in the graph yet: `base`, or `base_1`, `base_2`… */
export function freshName(g: Graph, base: string): string {
  const used = (s: string) => g.initializers.has(s) || g.inputs.some((i) => i.name === s) || g.nodes.some((n) => n.outputs.includes(s));
  let name = base;
  for (let i = 1; used(name); i++) name = `${base}_${i}`;
  return name;
}
