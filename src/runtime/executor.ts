// Binds a Plan to a machine (absolute addresses) and runs it: one kernel call per step, no
// operator-specific code.

import { fail, LowbitError } from '../errors.js';
import type { IOSlot, Plan, Ref } from '../plan/types.js';
import { alignUp, type KernelFn, type Machine } from '../kernels/machine.js';

/** What a kernel's non-zero return means, where it is not an index out of range. */
export const REJECTS: Record<string, string> = {
  fake_quant_q8: 'a NaN among the activations an integer layer quantises: it has no integer value, where the float graph would give NaN',
  pack_rows_i8: 'an integer activation minus its zero point is outside int8',
};

export class BoundPlan {
  readonly planBase: number;
  readonly end: number;
  private readonly fns: KernelFn[];
  private readonly args: number[][];

  constructor(readonly plan: Plan, private readonly machine: Machine, weightsEnd: number) {
    this.planBase = alignUp(machine.heapBase + weightsEnd);
    const arenaBase = alignUp(this.planBase + plan.params.byteLength);
    this.end = arenaBase + plan.arenaBytes;
    machine.ensure(this.end);
    machine.u8().set(plan.params, this.planBase);
    const abs = (r: Ref): number => (r.r === 'W' ? machine.heapBase : r.r === 'P' ? this.planBase : arenaBase) + r.o;
    this.fns = plan.steps.map((s) => machine.kernel(s.kernel));
    this.args = plan.steps.map((s) => s.args.map((a) => (typeof a === 'number' ? a : abs(a))));
    this.abs = abs;
  }

  readonly abs: (r: Ref) => number;

  writeInput(slot: IOSlot, bytes: Uint8Array): void {
    if (bytes.byteLength !== slot.bytes) fail('LOWBIT_RUNTIME', `internal: input '${slot.name}' byte size mismatch`);
    this.machine.u8().set(bytes, this.abs(slot.ref));
  }

  readOutput(slot: IOSlot): Uint8Array {
    return this.machine.read(this.abs(slot.ref), slot.bytes);
  }

  /** Copies the output into `dst` (exactly slot.bytes long): no allocation. */
  readOutputInto(slot: IOSlot, dst: Uint8Array): void {
    const at = this.abs(slot.ref);
    dst.set(this.machine.u8().subarray(at, at + slot.bytes));
  }

  /** Runs every step; past `timeLimitMs` (checked between steps) it stops with LOWBIT_LIMIT. */
  execute(timeLimitMs = Infinity): void {
    const { fns, args, plan } = this;
    const t0 = timeLimitMs < Infinity ? performance.now() : 0;
    for (let i = 0; i < fns.length; i++) {
      if (t0 && i > 0) {
        const ms = performance.now() - t0;
        if (ms > timeLimitMs) {
          fail('LOWBIT_LIMIT', `run stopped after ${ms.toFixed(0)} ms, over the limit of ${timeLimitMs} ms (option runTimeLimitMs), ` +
            `before node '${plan.steps[i].node}' (kernel step ${i + 1} of ${fns.length})`);
        }
      }
      let ret: number | undefined;
      try {
        ret = fns[i](...args[i]);
      } catch (e) {
        if (e instanceof LowbitError) throw e;
        const s = plan.steps[i];
        fail('LOWBIT_RUNTIME', `node '${s.node}': kernel ${s.kernel} trapped: ${(e as Error).message}`, e);
      }
      if (ret) {
        const s = plan.steps[i];
        fail('LOWBIT_BAD_INPUT', `node '${s.node}': kernel ${s.kernel} rejected its input data (${REJECTS[s.kernel] ?? 'an index is out of range'})`);
      }
    }
  }
}
