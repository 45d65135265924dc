// Bad models, bad feeds and unsafe external data: each must be a LowbitError with a stable code
// and a message naming the problem — never a crash, a hang or a wrong answer.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Long from 'long';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../src/index.js';
import { onnx, type ModelProto, type TensorProto } from '../scripts/lib/onnx-proto.js';
import { OnnxBuilder } from '../scripts/lib/onnx-builder.js';
import { seededRandom } from '../scripts/lib/random-models.js';
import { expectLowbit } from './support/errors.js';

const create = (bytes: Uint8Array, opts = {}) => InferenceSession.create(bytes, opts);

/** x float32 [n, 3] → Relu → y: the smallest valid model, to mutate. */
function reluModel(): ModelProto {
  const b = new OnnxBuilder({ opset: 21 });
  const x = b.input('x', 'float32', ['n', 3]);
  b.output(b.op('Relu', [x], {}, { name: 'relu', outputs: ['y'] }), 'float32', ['n', 3]);
  return onnx.ModelProto.decode(b.toBytes());
}
const encode = (m: ModelProto) => onnx.ModelProto.encode(m).finish();

describe('undecodable bytes', () => {
  const good = encode(reluModel());

  it('a truncated protobuf is LOWBIT_BAD_MODEL at every cut point', async () => {
    expect((await create(good)).inputNames).toEqual(['x']);
    for (let cut = 0; cut < good.byteLength; cut++) {
      const e = await expectLowbit(create(good.slice(0, cut)), 'LOWBIT_BAD_MODEL');
      expect(e.message).toMatch(/not a valid ONNX model|has no graph|no opset_import; it may be truncated/);
    }
    const e = await expectLowbit(create(good.slice(0, good.byteLength - 3)), 'LOWBIT_BAD_MODEL', 'not a valid ONNX model');
    expect(e.message).toMatch(/(truncated|past the end).* at byte \d+$/);
  });

  it('random bytes are LOWBIT_BAD_MODEL', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const r = seededRandom(seed);
      const bytes = Uint8Array.from({ length: 64 + seed * 97 }, () => Math.floor(r() * 256));
      await expectLowbit(create(bytes), 'LOWBIT_BAD_MODEL');
    }
  });

  it('a model with no graph, or (IR ≥ 3) no opset_import, is LOWBIT_BAD_MODEL', async () => {
    await expectLowbit(create(new Uint8Array(0)), 'LOWBIT_BAD_MODEL', 'no graph');
    const m = reluModel();
    m.opsetImport = [];
    await expectLowbit(create(encode(m)), 'LOWBIT_BAD_MODEL', 'no opset_import');
  });
});

describe('operators, domains and opsets', () => {
  it('an unknown op names the node, op, domain and opset', async () => {
    const m = reluModel();
    m.graph!.node![0].opType = 'FrobnicateV2';
    await expectLowbit(create(encode(m)), 'LOWBIT_UNSUPPORTED_OP', "'relu'", 'FrobnicateV2', 'ai.onnx', 'opset 21');
  });

  it('an op in an unknown domain names the domain, imported or not', async () => {
    const m = reluModel();
    m.graph!.node![0].domain = 'com.example.custom';
    await expectLowbit(create(encode(m)), 'LOWBIT_UNSUPPORTED_OP', "'relu'", 'com.example.custom', 'not imported');
    m.opsetImport!.push({ domain: 'com.example.custom', version: 3 });
    await expectLowbit(create(encode(m)), 'LOWBIT_UNSUPPORTED_OP', "'relu'", 'com.example.custom', 'opset 3', 'not supported');
  });

  it('an unsupported ai.onnx opset is LOWBIT_UNSUPPORTED_OP naming the opset', async () => {
    const m = reluModel();
    m.opsetImport![0].version = 99;
    await expectLowbit(create(encode(m)), 'LOWBIT_UNSUPPORTED_OP', "'relu'", 'opset 99');
  });
});

describe('graph structure', () => {
  it('an input that no node, graph input or initializer produces', async () => {
    const m = reluModel();
    m.graph!.node![0].input = ['ghost_weight'];
    await expectLowbit(create(encode(m)), 'LOWBIT_BAD_MODEL', "'relu'", "'ghost_weight'", 'not produced');
  });

  it('a graph output that nothing produces', async () => {
    const m = reluModel();
    m.graph!.output![0].name = 'phantom';
    await expectLowbit(create(encode(m)), 'LOWBIT_BAD_MODEL', "'phantom'", 'not produced');
  });

  it('a cycle', async () => {
    const b = new OnnxBuilder();
    const x = b.input('x', 'float32', [2]);
    b.op('Add', [x, 'b_out'], {}, { name: 'A', outputs: ['a_out'] });
    b.op('Relu', ['a_out'], {}, { name: 'B', outputs: ['b_out'] });
    b.output('b_out', 'float32', [2]);
    await expectLowbit(create(b.toBytes()), 'LOWBIT_BAD_MODEL', 'cycle', "'A'", "'B'");
  });

  it('a value produced twice (two nodes, one node twice, or a node overwriting a graph input)', async () => {
    const two = new OnnxBuilder();
    const x = two.input('x', 'float32', [2]);
    two.op('Relu', [x], {}, { name: 'first', outputs: ['y'] });
    two.op('Neg', [x], {}, { name: 'second', outputs: ['y'] });
    two.output('y', 'float32', [2]);
    await expectLowbit(create(two.toBytes()), 'LOWBIT_BAD_MODEL', "'second'", "'y'", 'more than once');

    const split = new OnnxBuilder();
    const s = split.input('s', 'float32', [4]);
    split.op('Split', [s], { axis: 0, num_outputs: 2 }, { name: 'split', outputs: ['half', 'half'] });
    split.output('half', 'float32', [2]);
    await expectLowbit(create(split.toBytes()), 'LOWBIT_BAD_MODEL', "'split'", "'half'", 'more than once');

    const m = reluModel();
    m.graph!.node![0].output = ['x'];
    m.graph!.output![0].name = 'x';
    await expectLowbit(create(encode(m)), 'LOWBIT_BAD_MODEL', "'relu'", "'x'", 'more than once');
  });

  it('a graph input declared twice', async () => {
    const m = reluModel();
    m.graph!.input!.push(m.graph!.input![0]);
    await expectLowbit(create(encode(m)), 'LOWBIT_BAD_MODEL', "graph input 'x'", 'twice');
  });

  it('a non-tensor graph input or an unknown element type', async () => {
    const seq = reluModel();
    seq.graph!.input![0].type = { sequenceType: { elemType: { tensorType: { elemType: 1 } } } };
    await expectLowbit(create(encode(seq)), 'LOWBIT_UNSUPPORTED', "'x'", 'not a tensor');
    const dt = reluModel();
    dt.graph!.input![0].type!.tensorType!.elemType = 99;
    await expectLowbit(create(encode(dt)), 'LOWBIT_BAD_MODEL', "'x'", 'element type 99');
  });
});

/**
 * A QONNX layer the qonnx-quant rule would lower (Quant'd activation × Quant'd constant weights →
 * integer layer), with one thing broken: every problem must still be a load-time LowbitError
 * naming the quantizer, never folded away or run.
 */
function qonnxLayer(o: { w?: number[]; wOp?: 'Quant' | 'BipolarQuant'; bits?: string | { dims: number[]; v: number } ; mode?: string } = {}): Uint8Array {
  const Q = 'qonnx.custom_op.general';
  const b = new OnnxBuilder({ opset: 17, domains: { [Q]: 1 } });
  const c = (v: number) => b.const('float32', [], [v]);
  const xq = b.op('Quant', [b.input('x', 'float32', [2, 4]), c(0.5), c(0), c(8)], { rounding_mode: o.mode ?? 'ROUND' }, { domain: Q, name: 'act_q' });
  const w = b.init('w', 'float32', [4, 3], o.w ?? [1, -2, 3, 0.5, 1, -1, 2, 2, 1, 0, 1, -3]);
  const bits = typeof o.bits === 'string' ? b.input(o.bits, 'float32', []) : b.const('float32', o.bits?.dims ?? [], [o.bits?.v ?? 4]);
  const wq = o.wOp === 'BipolarQuant' ? b.op('BipolarQuant', [w, c(0.5)], {}, { domain: Q, name: 'w_q' }) : b.op('Quant', [w, c(0.5), c(0), bits], {}, { domain: Q, name: 'w_q' });
  b.output(b.op('MatMul', [xq, wq], {}, { name: 'mm', outputs: ['y'] }), 'float32', null);
  return b.toBytes();
}

describe('QONNX quantizers', () => {
  const withAt = (i: number, v: number) => Object.assign([1, -2, 3, 0.5, 1, -1, 2, 2, 1, 0, 1, -3], { [i]: v });

  it('a well-formed layer loads and runs (the baseline the cases below break)', async () => {
    const s = await create(qonnxLayer(), { backend: 'scalar' });
    expect(s.inspect().passes['qonnx-quant']).toBe(1);
    expect((await s.run({ x: new Tensor('float32', new Float32Array(8).fill(1), [2, 4]) })).y.dims).toEqual([2, 3]);
  });

  it('NaN or ±Inf in constant weights under BipolarQuant or Quant is LOWBIT_BAD_MODEL naming the node', async () => {
    for (const [i, v] of [[0, NaN], [5, Infinity], [11, -Infinity]] as const) {
      await expectLowbit(create(qonnxLayer({ wOp: 'BipolarQuant', w: withAt(i, v) })), 'LOWBIT_BAD_MODEL', "'w_q'", 'BipolarQuant', String(v), `element ${i}`);
      await expectLowbit(create(qonnxLayer({ w: withAt(i, v) })), 'LOWBIT_BAD_MODEL', "'w_q'", 'Quant', String(v));
    }
  });

  it('a bit width that is not a constant scalar integer in 1…32 names the node', async () => {
    await expectLowbit(create(qonnxLayer({ bits: { dims: [1], v: 4 } })), 'LOWBIT_BAD_MODEL', "'w_q'", 'bitwidth must be a scalar');
    await expectLowbit(create(qonnxLayer({ bits: 'bits' })), 'LOWBIT_UNSUPPORTED', "'w_q'", 'must be a constant');
    for (const v of [0, 33, 2.5, -1]) await expectLowbit(create(qonnxLayer({ bits: { dims: [], v } })), 'LOWBIT_UNSUPPORTED', "'w_q'", `bitwidth ${v} is not an integer`);
  });

  it('an unknown rounding_mode names the node and the mode', async () => {
    for (const mode of ['STOCHASTIC', 'constructor', '__proto__']) {
      await expectLowbit(create(qonnxLayer({ mode })), 'LOWBIT_UNSUPPORTED', "'act_q'", `rounding_mode '${mode}'`);
    }
    expect((await create(qonnxLayer({ mode: 'half_even' }))).inspect().passes['qonnx-quant']).toBe(1);
  });

  it('a NaN reaching the integer layer is LOWBIT_BAD_INPUT naming the quantizer (the float graph would give NaN)', async () => {
    const s = await create(qonnxLayer(), { backend: 'simd' });
    const x = new Float32Array(8).fill(0.5);
    x[7] = NaN;
    await expectLowbit(s.run({ x: new Tensor('float32', x, [2, 4]) }), 'LOWBIT_BAD_INPUT', "'act_q__int'", 'fake_quant_q8', 'NaN');
    const ok = await s.run({ x: new Tensor('float32', new Float32Array(8).fill(Infinity), [2, 4]) }); // ±Inf clamp: fine
    expect(Array.from(ok.y.data as Float32Array).every(Number.isFinite)).toBe(true);
  });
});

describe('sizes and overflow', () => {
  const withInit = (t: TensorProto) => {
    const m = reluModel();
    m.graph!.initializer!.push(t);
    return encode(m);
  };

  it('an initializer of 2^40 elements is refused before anything is allocated', async () => {
    await expectLowbit(create(withInit({ name: 'huge', dataType: 1, dims: [2 ** 20, 2 ** 20] })), 'LOWBIT_LIMIT', "'huge'", '[1048576,1048576]');
    // A 2^62-element shape whose product would overflow doubles' integer range.
    await expectLowbit(create(withInit({ name: 'huge2', dataType: 1, dims: [2 ** 31, 2 ** 31] })), 'LOWBIT_LIMIT', "'huge2'");
  });

  it('invalid initializer dims and data sizes are LOWBIT_BAD_MODEL', async () => {
    await expectLowbit(create(withInit({ name: 'neg', dataType: 1, dims: [-3] })), 'LOWBIT_BAD_MODEL', "'neg'", 'invalid dimension -3');
    await expectLowbit(create(withInit({ name: 'big', dataType: 1, dims: [Long.fromString('1152921504606846976')] })), 'LOWBIT_BAD_MODEL', "'big'", 'invalid dimension');
    await expectLowbit(create(withInit({ name: 'raw', dataType: 1, dims: [3], rawData: new Uint8Array(8) })), 'LOWBIT_BAD_MODEL', "'raw'", 'raw_data has 8 bytes', 'needs 12');
    await expectLowbit(create(withInit({ name: 'fd', dataType: 1, dims: [3], floatData: [1, 2] })), 'LOWBIT_BAD_MODEL', "'fd'", 'float_data has 2 values');
    await expectLowbit(create(withInit({ name: 'dt', dataType: 77, dims: [1] })), 'LOWBIT_BAD_MODEL', "'dt'", 'data_type 77');
  });

  const constantOfShape = (shape: number[]) => {
    const b = new OnnxBuilder();
    const x = b.input('x', 'float32', [1]);
    const s = b.const('int64', [shape.length], shape);
    b.output(b.op('Add', [x, b.op('ConstantOfShape', [s], {}, { name: 'fill' })], {}, { outputs: ['y'] }), 'float32', null);
    return b.toBytes();
  };

  it('ConstantOfShape of 2^40 elements is LOWBIT_LIMIT at load time', async () => {
    await expectLowbit(create(constantOfShape([2 ** 20, 2 ** 20])), 'LOWBIT_LIMIT', "'fill'", '[1048576,1048576]');
  });

  it('ConstantOfShape over the memory ceiling is LOWBIT_LIMIT, not a trap', async () => {
    // 2^30 float32 = 4 GiB, over the default 3 GiB ceiling (and the 4 GiB wasm32 maximum).
    await expectLowbit(create(constantOfShape([2 ** 15, 2 ** 15])), 'LOWBIT_LIMIT', 'limit');
    await expectLowbit(create(constantOfShape([1024, 1024]), { memoryLimit: 2 ** 20 }), 'LOWBIT_LIMIT', 'limit of 1.0 MiB');
  });

  it('a shape fed at run time is checked the same way', async () => {
    const b = new OnnxBuilder();
    const s = b.input('shape', 'int64', [2]);
    b.output(b.op('ConstantOfShape', [s], {}, { name: 'fill', outputs: ['y'] }), 'float32', null);
    const session = await create(b.toBytes());
    const out = await session.run({ shape: new Tensor('int64', [2, 3], [2]) });
    expect(out.y.dims).toEqual([2, 3]);
    await expectLowbit(session.run({ shape: new Tensor('int64', [2 ** 20, 2 ** 20], [2]) }), 'LOWBIT_LIMIT', "'fill'");
    await expectLowbit(session.run({ shape: new Tensor('int64', [-1, 3], [2]) }), 'LOWBIT_SHAPE_MISMATCH', "'fill'", '-1');
    await expectLowbit(session.run({ shape: new Tensor('int64', [2 ** 15, 2 ** 15], [2]) }), 'LOWBIT_LIMIT');
    // The session still works after refusing.
    expect((await session.run({ shape: new Tensor('int64', [1, 4], [2]) })).y.dims).toEqual([1, 4]);
  });
});

describe('feeds', () => {
  let s: InferenceSession;
  beforeAll(async () => {
    const b = new OnnxBuilder();
    const x = b.input('x', 'float32', ['n', 3]);
    const z = b.input('z', 'float32', ['n', 3]);
    b.output(b.op('Add', [x, z], {}, { outputs: ['y'] }), 'float32', ['n', 3]);
    s = await create(b.toBytes());
  });
  const f32 = (dims: number[]) => new Tensor('float32', new Float32Array(dims.reduce((a, d) => a * d, 1)), dims);

  it('a well-formed feed runs', async () => {
    expect((await s.run({ x: f32([2, 3]), z: f32([2, 3]) })).y.dims).toEqual([2, 3]);
  });

  it('an unknown name or a missing input is LOWBIT_BAD_INPUT', async () => {
    await expectLowbit(s.run({ x: f32([2, 3]), z: f32([2, 3]), w: f32([2, 3]) }), 'LOWBIT_BAD_INPUT', "'w'", 'not an input', 'x, z');
    await expectLowbit(s.run({ x: f32([2, 3]) }), 'LOWBIT_BAD_INPUT', "'z'", 'missing');
    await expectLowbit(s.run({ x: { type: 'float32', data: new Float32Array(6), dims: [2, 3] } as never, z: f32([2, 3]) }), 'LOWBIT_BAD_INPUT', "'x'", 'not a lowbit Tensor');
    await expectLowbit(s.run(null as never), 'LOWBIT_BAD_INPUT', 'feeds');
  });

  it('a wrong dtype is LOWBIT_TYPE_MISMATCH', async () => {
    await expectLowbit(s.run({ x: new Tensor('int32', new Int32Array(6), [2, 3]), z: f32([2, 3]) }), 'LOWBIT_TYPE_MISMATCH', "'x'", 'float32', 'int32');
  });

  it('a wrong rank, static dim or inconsistent symbolic dim is LOWBIT_SHAPE_MISMATCH', async () => {
    await expectLowbit(s.run({ x: f32([6]), z: f32([2, 3]) }), 'LOWBIT_SHAPE_MISMATCH', "'x'", 'rank 2', '[6]');
    await expectLowbit(s.run({ x: f32([2, 4]), z: f32([2, 4]) }), 'LOWBIT_SHAPE_MISMATCH', "'x'", 'dimension 1 must be 3', 'got 4');
    await expectLowbit(s.run({ x: f32([2, 3]), z: f32([5, 3]) }), 'LOWBIT_SHAPE_MISMATCH', "'z'", "'n'", 'is 5', 'is 2');
  });

  it('a wrong data length is LOWBIT_BAD_INPUT, from the Tensor or from the session', async () => {
    await expectLowbit(() => new Tensor('float32', new Float32Array(5), [2, 3]), 'LOWBIT_BAD_INPUT', '[2,3]', 'needs 6 elements, got 5');
    // A tensor whose data was swapped after construction is caught by the session itself.
    const t = f32([2, 3]);
    (t as { data: Float32Array }).data = new Float32Array(5);
    await expectLowbit(s.run({ x: t, z: f32([2, 3]) }), 'LOWBIT_BAD_INPUT', "'x'", '20 bytes', '[2,3]');
  });
});

describe('external data', () => {
  let dir: string;
  // x float32 [2] + w, where w float32 [2] lives in external data at `location`.
  const extModel = (location: string, offset = 0) => {
    const m = reluModel();
    const g = m.graph!;
    g.input = [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } } }];
    g.initializer = [{
      name: 'w', dataType: 1, dims: [2], dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [{ key: 'location', value: location }, { key: 'offset', value: String(offset) }, { key: 'length', value: '8' }],
    }];
    g.node = [{ name: 'add', opType: 'Add', input: ['x', 'w'], output: ['y'] }];
    g.output = [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } } }];
    return encode(m);
  };
  const save = (name: string, location: string, offset = 0) => {
    const path = join(dir, name);
    writeFileSync(path, extModel(location, offset));
    return path;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lowbit-ext-'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'w.bin'), new Uint8Array(new Float32Array([10, 20]).buffer));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('data inside the model directory loads', async () => {
    const s = await InferenceSession.create(save('ok.onnx', 'w.bin'));
    expect([...((await s.run({ x: new Tensor('float32', [1, 2], [2]) })).y.data as Float32Array)]).toEqual([11, 22]);
    writeFileSync(join(dir, 'sub', 'w2.bin'), new Uint8Array(new Float32Array([0, 0, 5, 6]).buffer));
    const s2 = await InferenceSession.create(save('ok2.onnx', 'sub/w2.bin', 8));
    expect([...((await s2.run({ x: new Tensor('float32', [1, 2], [2]) })).y.data as Float32Array)]).toEqual([6, 8]);
  });

  it('an absolute location is refused', async () => {
    await expectLowbit(InferenceSession.create(save('abs.onnx', join(dir, 'w.bin'))), 'LOWBIT_PATH', join(dir, 'w.bin'), 'absolute');
    for (const loc of ['C:\\w.bin', 'c:w.bin', '\\\\host\\share\\w.bin']) {
      await expectLowbit(InferenceSession.create(save('absw.onnx', loc)), 'LOWBIT_PATH', 'absolute');
    }
  });

  it("a location with '..' is refused", async () => {
    const path = join(dir, 'sub', 'up.onnx');
    writeFileSync(path, extModel('../w.bin'));
    await expectLowbit(InferenceSession.create(path), 'LOWBIT_PATH', "'../w.bin'", "'..'");
    await expectLowbit(InferenceSession.create(save('up2.onnx', 'sub/../../w.bin')), 'LOWBIT_PATH', "'..'");
    await expectLowbit(InferenceSession.create(save('up3.onnx', 'sub\\..\\..\\w.bin')), 'LOWBIT_PATH', "'..'");
  });

  it('a symlink leaving the model directory is refused', async () => {
    symlinkSync(join(dir, 'w.bin'), join(dir, 'sub', 'link.bin'));
    const path = join(dir, 'sub', 'link.onnx');
    writeFileSync(path, extModel('link.bin'));
    await expectLowbit(InferenceSession.create(path), 'LOWBIT_PATH', "'link.bin'", 'outside');
  });

  it('a device file (/dev/zero, directly or through a symlink) is refused', async () => {
    await expectLowbit(InferenceSession.create(save('zero.onnx', '/dev/zero')), 'LOWBIT_PATH', "'/dev/zero'", 'absolute');
    symlinkSync('/dev/zero', join(dir, 'zero.bin'));
    await expectLowbit(InferenceSession.create(save('zlink.onnx', 'zero.bin')), 'LOWBIT_PATH', "'zero.bin'", 'outside');
  });

  it('a FIFO or a directory inside the model directory is refused without blocking', async () => {
    execFileSync('mkfifo', [join(dir, 'pipe.bin')]);
    await expectLowbit(InferenceSession.create(save('fifo.onnx', 'pipe.bin')), 'LOWBIT_PATH', "'pipe.bin'", 'not a regular file');
    await expectLowbit(InferenceSession.create(save('dir.onnx', 'sub')), 'LOWBIT_PATH', "'sub'", 'not a regular file');
  }, 10_000);

  it('a missing file, data past its end, or no directory at all', async () => {
    await expectLowbit(InferenceSession.create(save('missing.onnx', 'nope.bin')), 'LOWBIT_PATH', "'nope.bin'", 'ENOENT');
    await expectLowbit(InferenceSession.create(save('short.onnx', 'w.bin', 4)), 'LOWBIT_BAD_MODEL', "'w.bin'", 'past its end');
    await expectLowbit(InferenceSession.create(extModel('w.bin')), 'LOWBIT_PATH', "'w'", 'file path');
  });
});
