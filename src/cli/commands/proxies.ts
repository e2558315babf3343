/** `wharf proxy …`: proxy organizations of the pull-through cache (docs/adr/0017-pull-through-cache.md). */
import { SYSTEM } from '../../auth/principal.ts';
import { ProxyAdminService, type ProxyView } from '../../services/proxy/admin.ts';
import { ProxyDirectory } from '../../services/proxy/directory.ts';
import { type Command, defineCommand, UsageError } from '../command.ts';
import type { Runtime } from '../runtime.ts';

async function service(runtime: Runtime): Promise<ProxyAdminService> {
  const metadata = await runtime.metadata();
  const config = runtime.config();
  const directory = new ProxyDirectory({ metadata, clock: Date.now, credentialKey: config.proxy.credentialKey, timeoutMs: config.proxy.timeoutSeconds * 1000 });
  return new ProxyAdminService({ metadata, directory, clock: Date.now, credentialKey: config.proxy.credentialKey });
}

function list(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  return raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

const COLUMNS = [
  { header: 'proxy', value: (p: ProxyView) => p.name },
  { header: 'upstream', value: (p: ProxyView) => p.url },
  { header: 'user', value: (p: ProxyView) => p.username ?? '' },
  { header: 'tag ttl', value: (p: ProxyView) => `${p.tagTtlSeconds}s` },
  { header: 'hits', value: (p: ProxyView) => p.hits },
  { header: 'misses', value: (p: ProxyView) => p.misses },
  { header: 'last error', value: (p: ProxyView) => (p.lastError ? `${p.lastErrorAt ?? ''} ${p.lastError}` : '') },
] as const;

const settingOptions = {
  username: { type: 'string', value: 'USER', description: 'upstream username' },
  'password-stdin': { type: 'boolean', description: 'read the upstream password from standard input (stored encrypted with proxy.credentialKey)' },
  allow: { type: 'string', value: 'GLOBS', description: 'comma-separated upstream repository patterns to mirror, e.g. library/*,bitnami/**' },
  deny: { type: 'string', value: 'GLOBS', description: 'comma-separated upstream repository patterns never to mirror' },
  'tag-ttl': { type: 'string', value: 'SECONDS', description: 'how long a cached tag is served before it is checked upstream (default 3600)' },
  sync: { type: 'string', value: 'REFS', description: 'comma-separated path:tag references the proxy.sync job fetches ahead of pulls, e.g. library/alpine:3.20' },
} as const;

function ttl(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new UsageError('--tag-ttl takes a number of seconds');
  return Number(raw);
}

export const proxyCommands: readonly Command[] = [
  defineCommand({
    name: 'proxy create',
    summary: 'Create a proxy organization mirroring an upstream registry',
    details: 'Pulls of NAME/<path> fetch <path> from the upstream on first use and serve it from the cache afterwards;\npushes into NAME are refused. The organization is private unless --visibility says otherwise.',
    args: [
      { name: 'NAME', description: 'organization name' },
      { name: 'URL', description: 'the upstream registry, e.g. https://registry-1.docker.io' },
    ],
    options: {
      ...settingOptions,
      owner: { type: 'string', value: 'USER', description: 'an owner of the new organization (default: none; site administrators manage it)' },
      visibility: { type: 'string', choices: ['private', 'internal', 'public'], description: 'default visibility of its cached packages (default private)' },
    },
    json: true,
    examples: ['wharf proxy create dockerhub https://registry-1.docker.io --allow "library/*" --tag-ttl 3600', 'echo "$TOKEN" | wharf proxy create ghcr https://ghcr.io --username bot --password-stdin'],
    async run({ args, options, json, out, runtime }) {
      const proxies = await service(runtime);
      const password = options['password-stdin'] ? await runtime.stdin() : undefined;
      const visibility = options.visibility === 'internal' || options.visibility === 'public' ? options.visibility : 'private';
      const view = await proxies.create(SYSTEM, args.NAME, { url: args.URL, username: options.username ?? null, password, allow: list(options.allow), deny: list(options.deny), tagTtlSeconds: ttl(options['tag-ttl']), sync: list(options.sync) }, visibility, { owner: options.owner });
      if (json) out.json(view);
      else out.line(`created proxy organization ${view.name} mirroring ${view.url}`);
    },
  }),
  defineCommand({
    name: 'proxy list',
    summary: 'List proxy organizations with their upstream, hit/miss counts and last error',
    json: true,
    async run({ json, out, runtime }) {
      const views = await (await service(runtime)).list(SYSTEM);
      if (json) out.json(views);
      else out.table(views, COLUMNS);
    },
  }),
  defineCommand({
    name: 'proxy update',
    summary: "Change a proxy's upstream, credentials, patterns or tag TTL",
    args: [{ name: 'NAME', description: 'the proxy organization' }],
    options: { ...settingOptions, url: { type: 'string', value: 'URL', description: 'a new upstream URL' } },
    json: true,
    async run({ args, options, json, out, runtime }) {
      const password = options['password-stdin'] ? await runtime.stdin() : undefined;
      const view = await (await service(runtime)).update(SYSTEM, args.NAME, { url: options.url, username: options.username, password, allow: list(options.allow), deny: list(options.deny), tagTtlSeconds: ttl(options['tag-ttl']), sync: list(options.sync) });
      if (json) out.json(view);
      else out.line(`updated proxy ${view.name}`);
    },
  }),
  defineCommand({
    name: 'proxy delete',
    summary: 'Unbind the upstream (the organization and its cached packages stay)',
    args: [{ name: 'NAME', description: 'the proxy organization' }],
    async run({ args, out, runtime }) {
      await (await service(runtime)).remove(SYSTEM, args.NAME);
      out.line(`${args.NAME} is no longer a proxy organization`);
    },
  }),
];
