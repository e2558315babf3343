import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jsonShapeProblem } from './json-shape.ts';

const b = (s: string) => Buffer.from(s);
const limits = { maxDepth: 3, maxContainers: 5, maxValues: 4 };

describe('jsonShapeProblem', () => {
  test('within the limits: null, brackets and commas inside strings (escaped quotes too) do not count', () => {
    assert.equal(jsonShapeProblem(b('{"a":[1,{"b":2}]}'), limits), null);
    assert.equal(jsonShapeProblem(b('{"a":"[[[[[,,,,,,{{{{\\"]]]]"}'), limits), null);
    assert.equal(jsonShapeProblem(b('"\\\\"'), limits), null);
    assert.equal(jsonShapeProblem(b('{"ü€":"[[[[["}'), limits), null);
  });

  test('too deep, too many containers, too many values', () => {
    assert.match(jsonShapeProblem(b('[[[[]]]]'), limits) ?? '', /deeper than 3/);
    assert.match(jsonShapeProblem(b('[[],[],[],[],[]]'), limits) ?? '', /more than 5 arrays and objects/);
    assert.match(jsonShapeProblem(b('[1,2,3,4,5,6]'), limits) ?? '', /more than 4 values/);
  });

  test('the default limits refuse a 4 MiB nesting bomb quickly and accept a large real index', () => {
    const bomb = b('['.repeat(2 << 20) + ']'.repeat(2 << 20));
    assert.match(jsonShapeProblem(bomb) ?? '', /deeper than 64/);
    const index = JSON.stringify({
      schemaVersion: 2,
      manifests: Array.from({ length: 5000 }, (_, i) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${String(i).padStart(64, '0')}`, size: 1, platform: { os: 'linux', architecture: 'amd64' }, annotations: { a: 'b' } })),
    });
    assert.equal(jsonShapeProblem(b(index)), null);
  });
});
