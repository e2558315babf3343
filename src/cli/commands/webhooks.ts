/**
 * `wharf webhook create | list | delete | deliveries | test | redeliver`, straight on the database
 * as an operator (site admin); changes are audited as `system`. A running server's delivery worker
 * sends what these queue (within `webhooks.pollIntervalSeconds`). See docs/webhooks.md.
 */
import { SYSTEM } from '../../auth/principal.ts';
import { RegistryError } from '../../errors.ts';
import type { Metadata } from '../../metadata/metadata.ts';
import { parseRepoName, type RepoName } from '../../oci/name.ts';
import { WEBHOOK_EVENTS } from '../../services/webhooks/events.ts';
import { type DeliveryView, WebhookService, type WebhookView, webhookView } from '../../services/webhooks/service.ts';
import { type Command, defineCommand, UsageError } from '../command.ts';
import type { Runtime } from '../runtime.ts';

/** `acme` (every package of the owner) or `acme/web` (one package, which must exist). */
async function target(metadata: Metadata, raw: string): Promise<{ owner: string; package: RepoName | null }> {
  const i = raw.indexOf('/');
  if (i < 0) return { owner: raw, package: null };
  let name: RepoName;
  try {
    name = parseRepoName(raw);
  } catch {
    throw new UsageError(`${raw} is not a package name (owner/package)`);
  }
  if (!(await metadata.packages.get(name))) throw new RegistryError('NOT_FOUND', `package ${raw} not found`);
  return { owner: raw.slice(0, i), package: name };
}

async function service(runtime: Runtime): Promise<{ hooks: WebhookService; metadata: Metadata }> {
  const metadata = await runtime.metadata();
  const config = runtime.config();
  const hooks = new WebhookService({
    metadata,
    // The operator manages every webhook; the package's existence is checked by target().
    packages: { requireSettingsAccess: async () => undefined },
    clock: Date.now,
    allowPrivateTargets: config.webhooks.allowPrivateTargets,
    publicHost: config.server.baseUrl ? new URL(config.server.baseUrl).host : null,
  });
  return { hooks, metadata };
}

const HOOK_COLUMNS = [
  { header: 'id', value: (h: WebhookView) => h.id },
  { header: 'scope', value: (h: WebhookView) => h.package ?? `${h.owner} (every package)` },
  { header: 'url', value: (h: WebhookView) => h.url },
  { header: 'events', value: (h: WebhookView) => h.events.join(',') },
  { header: 'active', value: (h: WebhookView) => (h.active ? 'yes' : 'no') },
] as const;

const DELIVERY_COLUMNS = [
  { header: 'id', value: (d: DeliveryView) => d.id },
  { header: 'event', value: (d: DeliveryView) => d.event },
  { header: 'status', value: (d: DeliveryView) => d.status },
  { header: 'attempts', value: (d: DeliveryView) => d.attempts },
  { header: 'http', value: (d: DeliveryView) => (d.responseStatus === null ? '' : String(d.responseStatus)) },
  { header: 'ms', value: (d: DeliveryView) => (d.latencyMs === null ? '' : String(d.latencyMs)) },
  { header: 'created', value: (d: DeliveryView) => d.createdAt.slice(0, 19).replace('T', ' ') },
  { header: 'error', value: (d: DeliveryView) => d.error ?? '' },
] as const;

function events(raw: string): string[] {
  return raw
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
}

export const webhookCommands: readonly Command[] = [
  defineCommand({
    name: 'webhook create',
    summary: 'Register a webhook on an owner (every package) or one package',
    details: `Events (comma-separated): ${WEBHOOK_EVENTS.join(', ')}. Without --secret one is generated; it is printed once.`,
    args: [
      { name: 'TARGET', description: 'an owner (acme) or a package (acme/web)' },
      { name: 'URL', description: 'where deliveries are POSTed (http or https)' },
    ],
    options: {
      events: { type: 'string', required: true, value: 'LIST', description: 'comma-separated events, e.g. package.published,tag.moved' },
      'secret-stdin': { type: 'boolean', description: 'read the HMAC secret from standard input (16-256 characters)' },
      inactive: { type: 'boolean', description: 'register it switched off' },
    },
    json: true,
    examples: ['wharf webhook create acme https://ci.example/hooks/wharf --events package.published,tag.moved'],
    async run({ args, options, json, out, runtime }) {
      const { hooks, metadata } = await service(runtime);
      const secret = options['secret-stdin'] ? await runtime.stdin() : undefined;
      const r = await hooks.create(SYSTEM, await target(metadata, args.TARGET), { url: args.URL, events: events(options.events), secret, active: !options.inactive });
      if (json) return out.json(r);
      out.line(`created webhook ${r.webhook.id} for ${r.webhook.package ?? `every package of ${r.webhook.owner}`}: ${r.webhook.events.join(', ')}`);
      if (!options['secret-stdin']) out.line(`secret (shown once): ${r.secret}`);
    },
  }),
  defineCommand({
    name: 'webhook list',
    summary: "List an owner's webhooks (its own and its packages')",
    args: [{ name: 'OWNER', description: 'the user or organization' }],
    json: true,
    async run({ args, json, out, runtime }) {
      const { metadata } = await service(runtime);
      const list = (await metadata.webhooks.list(args.OWNER)).map(webhookView);
      if (json) out.json(list);
      else out.table(list, HOOK_COLUMNS);
    },
  }),
  defineCommand({
    name: 'webhook delete',
    summary: 'Remove a webhook and its delivery log',
    args: [{ name: 'ID', description: 'the webhook id (wharf webhook list)' }],
    async run({ args, out, runtime }) {
      const { hooks } = await service(runtime);
      await hooks.delete(SYSTEM, args.ID);
      out.line(`deleted webhook ${args.ID}`);
    },
  }),
  defineCommand({
    name: 'webhook deliveries',
    summary: "A webhook's delivery log, newest first",
    args: [{ name: 'ID', description: 'the webhook id' }],
    options: { limit: { type: 'string', value: 'N', description: 'how many (default 50, at most 500)' } },
    json: true,
    async run({ args, options, json, out, runtime }) {
      const limit = options.limit === undefined ? 50 : Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new UsageError('--limit must be 1-500');
      const { hooks } = await service(runtime);
      const list = await hooks.deliveries(SYSTEM, args.ID, { limit });
      if (json) out.json(list);
      else out.table(list, DELIVERY_COLUMNS);
    },
  }),
  defineCommand({
    name: 'webhook test',
    summary: 'Queue a ping delivery (a running server sends it)',
    args: [{ name: 'ID', description: 'the webhook id' }],
    json: true,
    async run({ args, json, out, runtime }) {
      const { hooks } = await service(runtime);
      const d = await hooks.test(SYSTEM, args.ID);
      if (json) return out.json(d);
      out.line(`queued ping ${d.id}; see wharf webhook deliveries ${args.ID}`);
    },
  }),
  defineCommand({
    name: 'webhook redeliver',
    summary: 'Send a delivery again (same payload, new delivery)',
    args: [
      { name: 'ID', description: 'the webhook id' },
      { name: 'DELIVERY', description: 'the delivery id (wharf webhook deliveries)' },
    ],
    json: true,
    async run({ args, json, out, runtime }) {
      const { hooks } = await service(runtime);
      const d = await hooks.redeliver(SYSTEM, args.ID, args.DELIVERY);
      if (json) return out.json(d);
      out.line(`queued redelivery ${d.id} of ${args.DELIVERY}`);
    },
  }),
];
