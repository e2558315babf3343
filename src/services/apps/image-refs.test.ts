import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findImageRefs, parseReference } from './image-refs.ts';

describe('images referenced by values.yaml', () => {
  test('the usual shapes, nested under any key', () => {
    const values = [
      'image:',
      '  registry: wharf.example.com',
      '  repository: acme/web',
      '  tag: "1.2.0"',
      'worker:',
      '  image:',
      '    repository: wharf.example.com/acme/worker',
      '    tag: 2.0.0',
      'sidecars:',
      '  - name: proxy',
      '    image: docker.io/library/nginx:1.27',
      'migrations:',
      '  jobImage: wharf.example.com/acme/migrate@sha256:' + 'a'.repeat(64),
      'ui:',
      '  image: { repository: acme/ui }',
      'notAnImage:',
      '  image: "{{ .Values.global.image }}"',
      'replicas: 2',
    ].join('\n');
    assert.deepEqual(findImageRefs(values), [
      { path: 'image', registry: 'wharf.example.com', repository: 'acme/web', tag: '1.2.0', digest: null },
      { path: 'worker.image', registry: 'wharf.example.com', repository: 'acme/worker', tag: '2.0.0', digest: null },
      { path: 'sidecars[0].image', registry: 'docker.io', repository: 'library/nginx', tag: '1.27', digest: null },
      { path: 'migrations.jobImage', registry: 'wharf.example.com', repository: 'acme/migrate', tag: null, digest: `sha256:${'a'.repeat(64)}` },
      { path: 'ui.image', registry: null, repository: 'acme/ui', tag: null, digest: null },
    ]);
  });

  test('a port is a registry, a bare name is not; nonsense is no reference', () => {
    assert.deepEqual(parseReference('localhost:5000/acme/web:1'), { registry: 'localhost:5000', repository: 'acme/web', tag: '1', digest: null });
    assert.deepEqual(parseReference('redis'), { registry: null, repository: 'redis', tag: null, digest: null });
    assert.equal(parseReference('Not An Image'), null);
    assert.equal(parseReference(''), null);
  });

  test('values that do not parse refer to nothing', () => {
    assert.deepEqual(findImageRefs('image: [unclosed'), []);
    assert.deepEqual(findImageRefs(''), []);
  });
});
