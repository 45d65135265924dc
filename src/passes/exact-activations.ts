// Precision 'exact' (SessionOptions.precision): com.microsoft MatMulNBits with accuracy_level 4
// — which lets a runtime quantize A to int8 per row, and lowbit then does (qwgemm_i8) — gets
// accuracy_level 0, so it runs on the exact f32-activation kernel (qwgemm_f32). accuracy_level
// is a floor on accuracy the model allows, so computing exactly always honours it. This rule is
// not in PASSES: the engine runs it first when the caller asks for exact arithmetic.

import type { Graph } from '../ir/graph.js';
import type { Pass } from './index.js';

const ACCURACY_INT8 = 4;

export const exactActivationsPass: Pass = {
  name: 'exact-activations',
  run(g: Graph): number {
    let fired = 0;
    g.nodes.forEach((n, i) => {
      const level = n.attrs.get('accuracy_level');
      if (n.domain !== 'com.microsoft' || n.opType !== 'MatMulNBits' || level?.type !== 'int' || level.value !== ACCURACY_INT8) return;
      const attrs = new Map(n.attrs);
      attrs.set('accuracy_level', { type: 'int', value: 0 });
      g.nodes[i] = { ...n, attrs };
      fired++;
    });
    return fired;
  },
};
