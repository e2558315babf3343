/**
 * Check-then-write races: the same thing created, changed or deleted by concurrent requests must
 * answer a clear 4xx (409 CONFLICT when it already exists, 404 when it is already gone) in the
 * surface's own error format, never a 500, and leave no half-done state (a member of a deleted
 * team, an organization without an owner). Runs on SQLite and, through
 * test/scale/integration-profile.test.ts, on PostgreSQL, where the requests really overlap.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { chartTgz } from '../helpers/charts.ts';

const ADMIN = 'Basic ' + Buffer.from('admin:admin-password').toString('base64');
const N = 8;

interface Answer {
  status: number;
  body: string;
}

function basic(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

/** The API's JSON error body, checked for shape; returns the code. */
function apiError(a: Answer): string {
  const body = JSON.parse(a.body) as { errors?: { code: string; message: string }[] };
  const first = body.errors?.[0];
  assert.ok(first && typeof first.message === 'string' && first.message.length > 0, a.body);
  return first.code;
}

function tally(answers: Answer[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const a of answers) out[a.status] = (out[a.status] ?? 0) + 1;
  return out;
}

describe('concurrent requests racing on the same row', () => {
  let app: TestApp;
  const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown, auth = ADMIN): Promise<Answer> => {
    const res = await app.app.inject({
      method,
      url,
      headers: { authorization: auth, ...(payload !== undefined && !Buffer.isBuffer(payload) ? { 'content-type': 'application/json' } : {}) },
      ...(payload !== undefined ? { payload: Buffer.isBuffer(payload) ? payload : JSON.stringify(payload) } : {}),
    });
    assert.ok(res.statusCode < 500, `${method} ${url} answered ${res.statusCode}: ${res.body}`);
    return { status: res.statusCode, body: res.body };
  };
  const all = (n: number, f: (i: number) => Promise<Answer>) => Promise.all(Array.from({ length: n }, (_, i) => f(i)));

  before(async () => {
    app = await buildTestApp({ auth: { enabled: 'true', admin: { password: 'admin-password' } } });
    // The admin's password is then verified (scrypt) once, not by every concurrent request.
    await call('GET', '/api/v1/user');
  });
  after(async () => app.close());

  test('creating the same user concurrently: one 201, the others 409 CONFLICT', async () => {
    // Few: each request hashes the password (scrypt) before it inserts.
    const answers = await all(4, () => call('POST', '/api/v1/users', { username: 'racer', password: 'password-123' }));
    assert.deepEqual(tally(answers), { 201: 1, 409: 3 });
    for (const a of answers.filter((x) => x.status === 409)) assert.equal(apiError(a), 'CONFLICT');
  });

  test('creating the same organization concurrently: one 201, the others 409', async () => {
    const answers = await all(N, () => call('POST', '/api/v1/orgs', { name: 'raceorg' }));
    assert.deepEqual(tally(answers), { 201: 1, 409: N - 1 });
    for (const a of answers.filter((x) => x.status === 409)) assert.equal(apiError(a), 'CONFLICT');
    const org = JSON.parse((await call('GET', '/api/v1/orgs/raceorg')).body) as { members: { username: string; role: string }[] };
    assert.deepEqual(org.members, [{ username: 'admin', role: 'owner' }]);
  });

  test('creating the same team concurrently: one 201, the others 409', async () => {
    await call('POST', '/api/v1/orgs', { name: 'teamorg' });
    const answers = await all(N, () => call('POST', '/api/v1/orgs/teamorg/teams', { name: 'devs' }));
    assert.deepEqual(tally(answers), { 201: 1, 409: N - 1 });
    for (const a of answers.filter((x) => x.status === 409)) assert.equal(apiError(a), 'CONFLICT');
  });

  test('deleting a team while members and grants are added: nothing is left pointing at the deleted team', async () => {
    await call('POST', '/api/v1/orgs', { name: 'delorg' });
    for (let i = 0; i < N; i++) {
      await app.metadata.accounts.create({ name: `member${i}`, kind: 'user', now: Date.now() });
    }
    // A package of the organization to grant the team on.
    assert.equal((await call('POST', '/api/v1/orgs/delorg/teams', { name: 'doomed' })).status, 201);
    const repo = 'delorg/app';
    const layer = Buffer.from('a layer of delorg/app');
    const layerDigest = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
    assert.equal((await call('POST', `/v2/${repo}/blobs/uploads/?digest=${layerDigest}`, layer)).status, 201);
    const [deletes, adds, grants] = await Promise.all([
      all(2, () => call('DELETE', '/api/v1/orgs/delorg/teams/doomed')),
      all(N, (i) => call('PUT', `/api/v1/orgs/delorg/teams/doomed/members/member${i}`, { role: 'member' })),
      all(N, () => call('PUT', `/api/v1/packages/${repo}/grants`, { subjectKind: 'team', subject: 'delorg/doomed', role: 'read' })),
    ]);
    assert.deepEqual(tally(deletes), { 204: 1, 404: 1 }, 'a team is deleted once; the second delete finds it gone');
    for (const a of adds) assert.ok(a.status === 204 || a.status === 404, `${a.status} ${a.body}`);
    for (const a of grants) assert.ok(a.status === 204 || a.status === 400, `${a.status} ${a.body}`);
    const db = app.metadata.db;
    const members = await db.selectFrom('team_members').select('username').where('org', '=', 'delorg').where('team', '=', 'doomed').execute();
    const teamGrants = await db.selectFrom('grants').select('repo').where('subject_kind', '=', 'team').where('subject', '=', 'delorg/doomed').execute();
    assert.deepEqual(members, [], 'no member of a team that no longer exists');
    assert.deepEqual(teamGrants, [], 'no grant to a team that no longer exists');
  });

  test('two owners removing each other at once: the organization keeps an owner', async () => {
    for (const u of ['owner1', 'owner2']) await call('POST', '/api/v1/users', { username: u, password: 'password-123' });
    await call('POST', '/api/v1/orgs', { name: 'duel' }, basic('owner1', 'password-123'));
    assert.equal((await call('PUT', '/api/v1/orgs/duel/members/owner2', { role: 'owner' }, basic('owner1', 'password-123'))).status, 204);
    const answers = await Promise.all([
      call('DELETE', '/api/v1/orgs/duel/members/owner2', undefined, basic('owner1', 'password-123')),
      call('DELETE', '/api/v1/orgs/duel/members/owner1', undefined, basic('owner2', 'password-123')),
    ]);
    assert.equal(answers.filter((a) => a.status === 204).length, 1, JSON.stringify(answers));
    const loser = answers.find((a) => a.status !== 204);
    assert.ok(loser && (loser.status === 409 || loser.status === 403), JSON.stringify(loser));
    const owners = await app.metadata.db.selectFrom('org_members').select('username').where('org', '=', 'duel').where('role', '=', 'owner').execute();
    assert.equal(owners.length, 1, 'exactly one owner is left');
  });

  test('deleting the same CI trust concurrently: one 204, the others 404', async () => {
    const created = await call('POST', '/api/v1/owners/admin/trusts', {
      issuer: 'https://ci.example.com',
      audience: 'wharf',
      conditions: { repository: 'admin/app' },
      role: 'read',
    });
    assert.equal(created.status, 201, created.body);
    const { id } = JSON.parse(created.body) as { id: string };
    const answers = await all(N, () => call('DELETE', `/api/v1/trusts/${id}`));
    assert.deepEqual(tally(answers), { 204: 1, 404: N - 1 });
  });

  test('deleting the same tag concurrently: one 202, the others 404 MANIFEST_UNKNOWN', async () => {
    const repo = 'admin/tagrace';
    const config = Buffer.from('{}');
    const start = await app.app.inject({ method: 'POST', url: `/v2/${repo}/blobs/uploads/?digest=sha256:${sha256(config)}`, headers: { authorization: ADMIN }, payload: config });
    assert.equal(start.statusCode, 201, start.body);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(config)}`, size: 2 },
      layers: [],
    });
    const put = await app.app.inject({
      method: 'PUT',
      url: `/v2/${repo}/manifests/v1`,
      headers: { authorization: ADMIN, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      payload: manifest,
    });
    assert.equal(put.statusCode, 201, put.body);
    const answers = await all(N, () => call('DELETE', `/v2/${repo}/manifests/v1`));
    assert.deepEqual(tally(answers), { 202: 1, 404: N - 1 });
    for (const a of answers.filter((x) => x.status === 404)) assert.equal(apiError(a), 'MANIFEST_UNKNOWN');
  });

  test('the first pushes to a new package, concurrently: the package is created once, by the first write', async () => {
    // Starting an upload writes no package: one that is never completed leaves nothing behind.
    const started = await all(N, () => call('POST', '/v2/admin/fresh/blobs/uploads/'));
    assert.deepEqual(tally(started), { 202: N });
    assert.equal(await app.metadata.packages.get('admin/fresh'), null, 'no package before a write');
    const blob = Buffer.from('the first blob of admin/fresh');
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const answers = await all(N, () => call('POST', `/v2/admin/fresh/blobs/uploads/?digest=${digest}`, blob));
    assert.deepEqual(tally(answers), { 201: N });
    const created = await app.metadata.db.selectFrom('audit_log').select('id').where('action', '=', 'package.create').where('target', '=', 'admin/fresh').execute();
    assert.equal(created.length, 1);
  });

  test('uploading the same chart version concurrently (ChartMuseum API): one 201, the others 409', async () => {
    const tgz = chartTgz({ name: 'racy', version: '1.0.0' });
    const answers = await all(4, () => call('POST', '/api/admin/charts', tgz));
    assert.deepEqual(tally(answers), { 201: 1, 409: 3 });
  });
});

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
