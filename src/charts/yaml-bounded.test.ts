import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseYamlBounded, YamlError } from './yaml-bounded.ts';

describe('parseYamlBounded', () => {
  test('reads Chart.yaml-like documents with the failsafe schema', () => {
    assert.deepEqual(parseYamlBounded('name: web\nversion: 1.10\nkeywords: [a, b]\nmaintainers:\n  - name: x\n'), {
      name: 'web',
      version: '1.10',
      keywords: ['a', 'b'],
      maintainers: [{ name: 'x' }],
    });
  });

  test('refuses what costs the library super-linear time or memory', () => {
    const refused = (text: string, why: RegExp) => assert.throws(() => parseYamlBounded(text), (e: unknown) => e instanceof YamlError && why.test(e.message), text.slice(0, 40));
    // 480 bytes that took the library over a second to convert (collection keys are stringified recursively).
    refused('[{'.repeat(120) + '}]'.repeat(120), /deeper than 64/);
    refused('name: ' + '['.repeat(100_000), /deeper than 64/);
    refused('- '.repeat(1000) + 'x', /deeper than 64/);
    refused('? [a, b]\n: c\n', /keys must be plain values/);
    refused('{[a]: b}', /keys must be plain values/);
    refused(Array.from({ length: 70 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' v', /deeper than 64/);
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) laughs.push(`${'abcdefgh'[i]}: &${'abcdefgh'[i]} [${Array(10).fill(`*${'abcdefgh'[i - 1]}`).join(', ')}]`);
    refused(laughs.join('\n'), /alias/i);
    refused('a: [', /.+/);
  });
});
