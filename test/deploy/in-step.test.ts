/**
 * What must not drift apart: the Containerfile's entrypoint and the image's (both the Node flags of
 * bin/wharf, the one place they are set), the versions in package.json, the Containerfile and the
 * chart, the user both images and the chart run as, and the systemd unit's syntax.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { chartDir } from '../../scripts/chart.ts';
import { IMAGE_UID, imageEntrypoint } from '../../scripts/image.ts';
import { findBinary, run } from '../helpers/clients.ts';
import { repoRoot } from '../helpers/server.ts';

const read = (path: string) => readFile(join(repoRoot, path), 'utf8');

test('the Containerfile runs what npm run image runs: entrypoint, cmd, user, port, volume, env', async () => {
  const file = await read('Containerfile');
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(file)?.[1];
  assert.deepEqual(JSON.parse(entrypoint ?? 'null'), imageEntrypoint());
  assert.match(file, /^CMD \["serve"\]$/m);
  assert.match(file, new RegExp(`^USER ${IMAGE_UID}:${IMAGE_UID}$`, 'm'));
  assert.match(file, /^EXPOSE 5000$/m);
  assert.match(file, /^VOLUME \["\/data"\]$/m);
  assert.match(file, /WHARF_DATA_DIR=\/data/);
  for (const label of ['source', 'version', 'revision', 'licenses', 'created']) assert.match(file, new RegExp(`org\\.opencontainers\\.image\\.${label}=`));
});

test('one version: package.json, the Containerfile default and the chart appVersion', async () => {
  const pkg = JSON.parse(await read('package.json')) as { version: string; license: string };
  assert.match(await read('Containerfile'), new RegExp(`^ARG VERSION=${pkg.version.replace(/\./g, '\\.')}$`, 'm'));
  assert.match(await read('Containerfile'), new RegExp(`licenses="${pkg.license}"`));
  const chart = parse(await readFile(join(chartDir, 'Chart.yaml'), 'utf8')) as { appVersion: string };
  assert.equal(chart.appVersion, pkg.version);
  const values = parse(await readFile(join(chartDir, 'values.yaml'), 'utf8')) as { podSecurityContext: { runAsUser: number; runAsGroup: number; fsGroup: number } };
  assert.equal(values.podSecurityContext.runAsUser, IMAGE_UID);
  assert.equal(values.podSecurityContext.fsGroup, IMAGE_UID);
});

test('systemd-analyze: the unit verifies cleanly and its hardening rates as OK', { skip: findBinary('systemd-analyze') ? false : 'missing systemd-analyze: apt-get install -y systemd' }, async () => {
  // verify checks that ExecStart exists: point /opt/wharf (where the guide installs Wharf) here.
  const dir = await mkdtemp(join(tmpdir(), 'wharf-unit-'));
  try {
    const unit = join(dir, 'wharf.service');
    await writeFile(unit, (await read('deploy/systemd/wharf.service')).replaceAll('/opt/wharf', repoRoot));
    const verify = await run('systemd-analyze', ['verify', '--man=no', unit]);
    assert.equal(verify.code, 0);
    assert.equal(`${verify.stdout}${verify.stderr}`.trim(), '', 'no warnings (unknown keys, bad values)');
    const security = await run('systemd-analyze', ['security', '--offline=yes', unit]);
    const exposure = Number(/Overall exposure level for wharf\.service: ([\d.]+)/.exec(security.stdout + security.stderr)?.[1]);
    assert.ok(exposure <= 2, `exposure ${exposure} (systemd rates ≤ 2 as OK)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
