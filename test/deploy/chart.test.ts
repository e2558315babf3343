/**
 * deploy/helm/wharf: `helm lint --strict` (Helm 3 and 4), `helm template` of both profiles
 * validated offline against the Kubernetes API schemas (test/helpers/k8s-validate.ts), what each
 * profile must contain, the rendered wharf.yaml accepted by Wharf's own config loader, and
 * values.schema.json refusing typos and a scale-out release without its secrets.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { chartDir } from '../../scripts/chart.ts';
import { findBinary, missingClients, runFails, runOk } from '../helpers/clients.ts';
import { type K8sObject, validateManifests } from '../helpers/k8s-validate.ts';

const helms = ['helm3', 'helm4'] as const;
const skip = missingClients('helm4');
const profiles = { embedded: join(chartDir, 'ci', 'embedded-values.yaml'), scaleout: join(chartDir, 'ci', 'scaleout-values.yaml') };

async function template(values: string[], tool: 'helm3' | 'helm4' = 'helm4', extra: string[] = []): Promise<string> {
  const res = await runOk(findBinary(tool) ?? tool, ['template', 'reg', chartDir, '--namespace', 'registry', ...values.flatMap((v) => ['-f', v]), ...extra]);
  return res.stdout;
}

function find(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

type Pod = {
  securityContext: Record<string, unknown>;
  containers: { image: string; args: string[]; env: { name: string; value?: string }[]; securityContext: Record<string, unknown>; startupProbe: { httpGet: { path: string; scheme: string } }; livenessProbe: { httpGet: { path: string } }; readinessProbe: { httpGet: { path: string } }; volumeMounts: { name: string; mountPath: string }[] }[];
  volumes: { name: string; emptyDir?: unknown; projected?: { sources: { secret: { name: string } }[] } }[];
};

function podOf(o: K8sObject): Pod {
  return (o['spec'] as { template: { spec: Pod } }).template.spec;
}

describe('Helm chart deploy/helm/wharf', { skip }, () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-chart-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const tool of helms) {
    test(`${tool} lint --strict: defaults and both profiles`, { skip: missingClients(tool) }, async () => {
      for (const values of [[], [profiles.embedded], [profiles.scaleout]]) {
        const res = await runOk(findBinary(tool) ?? tool, ['lint', '--strict', chartDir, ...values.flatMap((v) => ['-f', v])]);
        assert.match(res.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      }
    });
  }

  test('embedded profile: a valid StatefulSet with one replica and a volume, Ingress with TLS, ServiceMonitor', async () => {
    const { objects, problems } = await validateManifests(await template([profiles.embedded]));
    assert.deepEqual(problems, []);
    assert.deepEqual(find(objects, 'Deployment'), []);
    assert.deepEqual(find(objects, 'Job'), [], 'no migration hook: the single replica migrates at start-up');
    const [sts] = find(objects, 'StatefulSet');
    assert.ok(sts);
    const spec = sts['spec'] as { replicas: number; volumeClaimTemplates: { spec: { resources: { requests: { storage: string } }; storageClassName: string } }[] };
    assert.equal(spec.replicas, 1);
    assert.equal(spec.volumeClaimTemplates[0]?.spec.resources.requests.storage, '50Gi');
    assert.equal(spec.volumeClaimTemplates[0]?.spec.storageClassName, 'fast-ssd');
    const pod = podOf(sts);
    const c = pod.containers[0];
    assert.ok(c);
    assert.equal(c.image, 'registry.example.com/wharf/wharf:0.1.0');
    assert.deepEqual(c.args, ['serve']);
    assert.equal(c.startupProbe.httpGet.path, '/healthz');
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(pod.securityContext['runAsNonRoot'], true);
    assert.equal(pod.securityContext['runAsUser'], 10001);
    assert.equal(c.securityContext['readOnlyRootFilesystem'], true);
    assert.equal(c.securityContext['allowPrivilegeEscalation'], false);
    assert.ok(c.volumeMounts.some((m) => m.name === 'data' && m.mountPath === '/data'));
    assert.ok(c.volumeMounts.some((m) => m.name === 'tmp' && m.mountPath === '/tmp'), 'a writable /tmp on a read-only root');
    assert.ok(c.env.some((e) => e.name === 'WHARF_AUTH__ADMIN__PASSWORD_FILE'));
    const [ingress] = find(objects, 'Ingress');
    const ing = ingress?.['spec'] as { tls: { hosts: string[] }[] };
    assert.deepEqual(ing.tls[0]?.hosts, ['registry.example.com']);
    assert.equal(ingress?.metadata?.annotations?.['nginx.ingress.kubernetes.io/proxy-body-size'], '0');
    assert.equal(find(objects, 'ServiceMonitor').length, 1);
  });

  test('scale-out profile: a valid Deployment of stateless replicas, secrets as files, a migration hook, a PDB', async () => {
    const { objects, problems } = await validateManifests(await template([profiles.scaleout]));
    assert.deepEqual(problems, []);
    assert.deepEqual(find(objects, 'StatefulSet'), []);
    assert.deepEqual(find(objects, 'PersistentVolumeClaim'), []);
    const [deploy] = find(objects, 'Deployment');
    assert.ok(deploy);
    assert.equal((deploy['spec'] as { replicas: number }).replicas, 3);
    const pod = podOf(deploy);
    const c = pod.containers[0];
    assert.ok(c);
    assert.match(c.image, /@sha256:0{64}$/);
    assert.equal(pod.volumes.find((v) => v.name === 'data')?.emptyDir !== undefined, true, 'no local state');
    const secrets = pod.volumes.find((v) => v.name === 'secrets')?.projected?.sources.map((s) => s.secret.name);
    assert.deepEqual(secrets, ['wharf-admin', 'wharf-postgres', 'wharf-s3']);
    const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
    assert.equal(env['WHARF_DATABASE__POSTGRES__URL_FILE'], '/run/secrets/wharf/database-url');
    assert.equal(env['WHARF_STORAGE__S3__SECRET_ACCESS_KEY_FILE'], '/run/secrets/wharf/s3-secret-access-key');
    assert.equal(c.startupProbe.httpGet.scheme, 'HTTPS', 'end-to-end TLS: probes over HTTPS');
    const [job] = find(objects, 'Job');
    assert.equal(job?.metadata?.annotations?.['helm.sh/hook'], 'pre-install,pre-upgrade');
    assert.deepEqual(podOf(job as K8sObject).containers[0]?.args, ['migrate']);
    assert.equal(find(objects, 'PodDisruptionBudget').length, 1);
  });

  test("the rendered wharf.yaml is a configuration Wharf's own loader accepts", async () => {
    for (const [profile, values] of Object.entries(profiles)) {
      const { objects } = await validateManifests(await template([values]));
      const cm = find(objects, 'ConfigMap')[0];
      const yaml = (cm?.['data'] as Record<string, string>)['wharf.yaml'] ?? '';
      const file = join(dir, `${profile}.yaml`);
      await writeFile(file, yaml);
      const config = loadConfig({ file, env: { DATABASE_URL: 'postgres://wharf@db/wharf' } });
      assert.equal(config.dataDir, '/data');
      assert.equal(config.server.baseUrl, 'https://registry.example.com');
      assert.equal(config.server.trustProxy, true);
      assert.equal(config.auth.service, 'registry.example.com');
      if (profile === 'scaleout') {
        assert.equal(config.storage.driver, 's3');
        assert.equal(config.storage.s3.bucket, 'wharf-blobs');
        assert.equal(config.database.driver, 'postgres');
        assert.equal(config.server.tls.certFile, '/etc/wharf/tls/tls.crt');
      } else {
        assert.equal(config.storage.driver, 'fs');
        assert.equal(config.database.driver, 'sqlite');
      }
    }
  });

  test('the validator rejects what the API server would: a wrong value and an unknown field', async () => {
    const good = await template([profiles.scaleout]);
    const wrongValue = await validateManifests(good.replace('imagePullPolicy: IfNotPresent', 'imagePullPolicy: Sometimes'));
    assert.ok(wrongValue.problems.some((p) => p.includes('imagePullPolicy')), wrongValue.problems.join('\n'));
    const unknownField = await validateManifests(good.replace('  replicas: 3', '  replicass: 3'));
    assert.ok(unknownField.problems.some((p) => p.includes('replicass')), unknownField.problems.join('\n'));
  });

  for (const tool of helms) {
    test(`${tool}: values.schema.json refuses a misspelled key and a scale-out release without its secrets`, { skip: missingClients(tool) }, async () => {
      const helm = findBinary(tool) ?? tool;
      const typo = await runFails(helm, ['template', 'reg', chartDir, '--set', 'persistence.sizee=1Gi']);
      assert.match(typo.stderr, /sizee/);
      const noSecrets = await runFails(helm, ['template', 'reg', chartDir, '--set', 'profile=scaleout']);
      assert.match(noSecrets.stderr, /existingSecret/);
      const badProfile = await runFails(helm, ['template', 'reg', chartDir, '--set', 'profile=cluster']);
      assert.match(badProfile.stderr, /profile/);
    });
  }
});
