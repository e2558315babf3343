/**
 * Webhooks on the scale-out profile: two replicas on PostgreSQL + S3 behind nginx. Pushes through
 * the load balancer are each delivered exactly once, including retries that both replicas race
 * to claim (every replica polls the same outbox; a row is claimed by one of them at a time).
 *
 * Skipped when the services' variables (S3_ENDPOINT, DATABASE_URL, REGISTRY_LB_URL) are unset.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifySignature } from '../../src/services/webhooks/signature.ts';
import { type Receiver, startReceiver } from '../helpers/webhook-receiver.ts';
import { type Cluster, clusterMissing, startCluster } from './cluster.ts';

const skip = clusterMissing;
const SECRET = `scale-${randomBytes(12).toString('hex')}`;
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('webhooks across replicas', { skip, timeout: 5 * 60_000 }, () => {
  let cluster: Cluster;
  let rx: Receiver;
  let auth = '';

  const http = async (method: string, path: string, body: Buffer | string, type: string) => {
    const res = await fetch(`${cluster.lb.url}${path}`, { method, headers: { authorization: auth, 'content-type': type }, body });
    const text = await res.text();
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${text}`);
    return text;
  };

  const pushImage = async (repo: string, tag: string) => {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, tag }));
    const layer = randomBytes(512);
    for (const b of [config, layer]) await http('POST', `/v2/${repo}/blobs/uploads/?digest=${sha(b)}`, b, 'application/octet-stream');
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length }],
      }),
    );
    await http('PUT', `/v2/${repo}/manifests/${tag}`, manifest, 'application/vnd.oci.image.manifest.v1+json');
    return sha(manifest);
  };

  before(async () => {
    rx = await startReceiver();
    cluster = await startCluster({
      env: { WHARF_WEBHOOKS__ALLOW_PRIVATE_TARGETS: 'true', WHARF_WEBHOOKS__POLL_INTERVAL_SECONDS: '0.1', WHARF_WEBHOOKS__RETRY_BASE_SECONDS: '0.3' },
    });
    auth = `Basic ${Buffer.from(`${cluster.admin.username}:${cluster.admin.password}`).toString('base64')}`;
    await http('POST', '/api/v1/owners/hooks/webhooks', JSON.stringify({ url: rx.url, secret: SECRET, events: ['package.published'] }), 'application/json');
  });

  after(async () => {
    await cluster?.stop();
    await rx?.close();
  });

  test('each push through the load balancer is delivered once, retries included', async () => {
    const N = 6;
    // Every first attempt fails: the retries are due ~0.3 s later, when both replicas poll for them.
    rx.failNext(...Array.from({ length: N }, () => 503));
    const digests: string[] = [];
    for (let i = 0; i < N; i++) digests.push(await pushImage('hooks/app', `v${i}`));
    const ok = await rx.waitFor(N, (r) => r.status === 200, 20_000);
    // Several more poll rounds of both replicas: nothing is sent twice.
    await sleep(1500);
    const succeeded = rx.received.filter((r) => r.status === 200);
    assert.equal(succeeded.length, N, `exactly ${N} successful deliveries (got ${succeeded.length})`);
    assert.equal(new Set(succeeded.map((r) => r.headers['x-wharf-delivery'])).size, N, 'one per delivery');
    assert.deepEqual(new Set(ok.map((r) => (JSON.parse(r.body) as { digest: string }).digest)), new Set(digests));
    assert.equal(rx.received.length, 2 * N, 'one failed attempt and one retry per push');
    for (const r of succeeded) assert.ok(verifySignature(SECRET, r.body, String(r.headers['x-wharf-signature-256'])));
    // The base URL every replica shares is the registry host in pull commands.
    const first = JSON.parse(succeeded[0]?.body ?? '{}') as { pull: { reference: string } };
    assert.ok(first.pull.reference.startsWith(`${new URL(cluster.lb.url).host}/hooks/app:`));
  });
});
