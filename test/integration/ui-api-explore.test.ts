/**
 * The explore API: public packages for everyone, internal ones for signed-in users, never a
 * private one (not even its name) to someone who may not read it; search by name, description,
 * image labels and chart keywords. Runs on both profiles (WHARF_TEST_PROFILE=scale).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ExploreResult } from '../../src/services/explore.ts';
import { injectHttp, pushChart } from '../helpers/charts.ts';
import { createUser, expect, json, packageUrl, pushImage, type UiApp, startUiApp } from './ui-api-support.ts';

describe('explore', () => {
  let app: UiApp;
  let alice: string;
  let bob: string;

  const explore = async (query: string, auth?: string) => {
    const res = await app.req({ url: `/api/v1/explore${query}`, auth });
    expect(res, 200, `explore${query}`);
    return { body: res.body, names: json<ExploreResult>(res).packages.map((p) => p.name) };
  };

  before(async () => {
    app = await startUiApp();
    alice = (await createUser(app, 'alice')).auth;
    bob = (await createUser(app, 'bob')).auth;
    // As `helm push` does: the config is Chart.yaml as JSON, keywords included.
    const spec = { name: 'ledger', version: '1.0.0', extraChartYaml: 'keywords:\n  - payments\n  - accounting\n' };
    const config = JSON.stringify({ apiVersion: 'v2', name: 'ledger', version: '1.0.0', description: 'Double-entry books', keywords: ['payments', 'accounting'] });
    await pushChart(injectHttp(app.wharf.app, alice), 'alice/charts/ledger', spec, { config });
    await app.wharf.events.settled();
    await pushImage(app, alice, 'alice/ledger-api', '1.0.0', { labels: { 'org.opencontainers.image.vendor': 'Moneybags Inc' } });
    await pushImage(app, alice, 'alice/payments-secret', '1.0.0', { labels: { team: 'payments' } });
    const visibility = { 'alice/charts/ledger': 'public', 'alice/ledger-api': 'internal' } as const;
    for (const [pkg, v] of Object.entries(visibility)) {
      expect(await app.req({ method: 'PATCH', url: packageUrl(pkg), auth: alice, payload: { visibility: v } }), 200, `${pkg} ${v}`);
    }
  });
  after(() => app.close());

  test('anonymous visitors find public packages, by chart keyword too', async () => {
    const all = await explore('');
    assert.deepEqual(all.names, ['alice/charts/ledger']);
    assert.deepEqual((await explore('?q=payments')).names, ['alice/charts/ledger']);
    assert.deepEqual((await explore('?q=nothing-matches')).names, []);
    for (const r of [all, await explore('?q=payments')]) assert.doesNotMatch(r.body, /payments-secret|ledger-api/);
  });

  test('signed-in users also find internal packages (by image label); private ones stay hidden', async () => {
    assert.deepEqual((await explore('', bob)).names.sort(), ['alice/charts/ledger', 'alice/ledger-api']);
    assert.deepEqual((await explore('?q=moneybags', bob)).names, ['alice/ledger-api']);
    const payments = await explore('?q=payments', bob);
    assert.deepEqual(payments.names, ['alice/charts/ledger']);
    assert.doesNotMatch(payments.body, /payments-secret/);
    assert.deepEqual((await explore('?kind=image', bob)).names, ['alice/ledger-api']);
  });

  test('even its owner finds a private package on their dashboard, not on explore', async () => {
    assert.doesNotMatch((await explore('?q=payments', alice)).body, /payments-secret/);
  });
});
