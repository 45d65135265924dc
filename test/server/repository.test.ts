// The Triton-layout repository scan: versions, config.pbtxt / config.json fields lowbit honours,
// and models that cannot be served listed with the reason.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LowbitError } from '../../src/index.js';
import { pbtxtStrings, scanRepository } from '../../src/server/repository.js';
import { makeRepo } from '../support/server-repo.js';

const bytes = new Uint8Array([1]);
const repo = makeRepo({ 'a/1': bytes, 'a/10': bytes, 'a/2': bytes, 'b/3': bytes, 'renamed/1': bytes, 'tf/1': bytes });
mkdirSync(join(repo, 'empty'));
mkdirSync(join(repo, 'a', 'notes'));
mkdirSync(join(repo, 'a', '01'));
mkdirSync(join(repo, 'custom', '7'), { recursive: true });
writeFileSync(join(repo, 'a', 'config.pbtxt'), 'name: "a"\nplatform: "onnxruntime_onnx"\ninput [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]\n');
writeFileSync(join(repo, 'renamed', 'config.pbtxt'), '# comment name: "x"\nname: "other"\n');
writeFileSync(join(repo, 'tf', 'config.json'), JSON.stringify({ name: 'tf', platform: 'tensorflow_savedmodel' }));
writeFileSync(join(repo, 'custom', 'config.json'), JSON.stringify({ default_model_filename: 'net.onnx', backend: 'onnxruntime' }));
afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe('scanRepository', () => {
  it('lists numeric version directories in order and honours the config', () => {
    const models = scanRepository(repo);
    expect(models.map((m) => m.name)).toEqual(['a', 'b', 'custom', 'empty', 'renamed', 'tf']);
    const byName = Object.fromEntries(models.map((m) => [m.name, m]));
    expect(byName.a).toEqual({ name: 'a', versions: ['1', '2', '10'].map((v) => ({ version: v, file: join(repo, 'a', v, 'model.onnx') })) });
    expect(byName.b.versions.map((v) => v.version)).toEqual(['3']);
    expect(byName.custom.versions).toEqual([{ version: '7', file: join(repo, 'custom', '7', 'net.onnx') }]);
    expect(byName.empty.error).toBe('no version directory (empty/<integer>/model.onnx)');
    expect(byName.renamed.error).toBe("its config names it 'other', not 'renamed' (the directory's name)");
    expect(byName.tf.error).toBe("platform 'tensorflow_savedmodel' is not ONNX");
  });

  it('refuses a missing or empty repository', () => {
    expect(() => scanRepository(join(repo, 'nope'))).toThrow(LowbitError);
    expect(() => scanRepository(join(repo, 'nope'))).toThrow(/no such directory/);
    expect(() => scanRepository(join(repo, 'empty'))).toThrow(/has no model directories/);
  });
});

describe('pbtxtStrings', () => {
  it('reads top-level string fields only', () => {
    const text = `
      name: "resnet" # the model
      platform: 'onnxruntime_onnx'
      max_batch_size: 8
      input [ { name: "data" dims: [ 3, 224, 224 ] } ]
      instance_group { kind: KIND_CPU name: "g" }
      default_model_filename: "with \\"quotes\\".onnx"
      backend : "onnxruntime"`;
    expect(pbtxtStrings(text)).toEqual({ name: 'resnet', platform: 'onnxruntime_onnx', default_model_filename: 'with "quotes".onnx', backend: 'onnxruntime' });
  });
});
