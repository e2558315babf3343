import assert from 'node:assert/strict';
import { test } from 'node:test';
import { artifactKind } from './kind.ts';
import { MediaType } from './mediatypes.ts';

test('artifactKind: one classification by media types', () => {
  const m = (mediaType: string, configMediaType: string | null, artifactType: string | null) => artifactKind({ mediaType, configMediaType, artifactType });
  assert.equal(m(MediaType.OciManifest, MediaType.OciConfig, MediaType.OciConfig), 'image');
  assert.equal(m(MediaType.DockerManifest, MediaType.DockerConfig, null), 'image');
  assert.equal(m(MediaType.OciManifest, MediaType.HelmConfig, MediaType.HelmConfig), 'chart');
  assert.equal(m(MediaType.OciIndex, null, null), 'index');
  assert.equal(m(MediaType.DockerManifestList, null, null), 'index');
  // A signature or SBOM: explicit artifactType, on an image config or the empty config.
  assert.equal(m(MediaType.OciManifest, MediaType.OciConfig, 'application/vnd.dev.cosign.artifact.sig.v1+json'), 'artifact');
  assert.equal(m(MediaType.OciManifest, MediaType.OciEmpty, 'application/spdx+json'), 'artifact');
  assert.equal(m(MediaType.OciIndex, null, 'application/vnd.example.bundle'), 'artifact');
  assert.equal(m(MediaType.OciManifest, 'application/vnd.wasm.config.v0+json', 'application/vnd.wasm.config.v0+json'), 'artifact');
});
