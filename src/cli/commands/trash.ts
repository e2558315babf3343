/**
 * `wharf trash list | restore | purge` and `wharf usage`, straight on the database as an operator
 * (site admin); restores and purges are audited as `system`. See docs/adr/0010-trash-and-usage.md.
 */
import pino from 'pino';
import { SYSTEM } from '../../auth/principal.ts';
import { EventBus } from '../../lib/events.ts';
import type { RegistryEvents } from '../../services/events.ts';
import { JobRunner } from '../../services/jobs/runner.ts';
import { type TrashEntryView, TrashService } from '../../services/trash.ts';
import { UsageService } from '../../services/usage.ts';
import { openSettings } from '../../main.ts';
import { WebhookOutbox } from '../../services/webhooks/outbox.ts';
import { type Command, CliError, defineCommand, UsageError } from '../command.ts';
import type { Runtime } from '../runtime.ts';
import { formatBytes } from '../../lib/bytes.ts';

async function services(runtime: Runtime): Promise<{ trash: TrashService; usage: UsageService; runner: () => JobRunner }> {
  const metadata = await runtime.metadata();
  const { authz } = await runtime.access();
  const log = pino({ level: 'silent' });
  const config = runtime.config();
  // Restores queue their webhook deliveries like the server's; a running server sends them.
  const outbox = new WebhookOutbox({ clock: Date.now, publicHost: config.server.baseUrl ? new URL(config.server.baseUrl).host : null });
  const trash = new TrashService({ metadata, authz, events: new EventBus<RegistryEvents>(log), clock: Date.now, days: (await openSettings(config, metadata)).get('trash.days'), outbox });
  return { trash, usage: new UsageService({ metadata, authz }), runner: () => new JobRunner({ metadata, clock: Date.now, log }) };
}

const ENTRY_COLUMNS = [
  { header: 'id', value: (e: TrashEntryView) => e.id },
  { header: 'kind', value: (e: TrashEntryView) => e.kind },
  { header: 'package', value: (e: TrashEntryView) => e.package },
  { header: 'version', value: (e: TrashEntryView) => (e.kind === 'package' ? '(whole package)' : `${e.tags.join(',') || '(untagged)'} ${e.digest?.slice(7, 19) ?? ''}`) },
  { header: 'size', value: (e: TrashEntryView) => formatBytes(e.bytes) },
  { header: 'trashed', value: (e: TrashEntryView) => e.trashedAt.slice(0, 16).replace('T', ' ') },
  { header: 'by', value: (e: TrashEntryView) => e.trashedBy },
  { header: 'purged after', value: (e: TrashEntryView) => e.expiresAt.slice(0, 10) },
] as const;

interface Figures {
  liveBytes: number;
  trashedBytes: number;
  blobs: number;
  manifests: number;
}

const usageColumns = <T extends Figures>(first: { header: string; value(row: T): string }) =>
  [
    first,
    { header: 'live', value: (u: T) => formatBytes(u.liveBytes) },
    { header: 'trashed', value: (u: T) => formatBytes(u.trashedBytes) },
    { header: 'blobs', value: (u: T) => u.blobs },
    { header: 'manifests', value: (u: T) => u.manifests },
  ] as const;

const summary = (label: string, u: Figures) => `${label}: ${formatBytes(u.liveBytes)} live, ${formatBytes(u.trashedBytes)} in the trash (${u.blobs} blobs, ${u.manifests} manifests)`;

export const trashCommands: readonly Command[] = [
  defineCommand({
    name: 'trash list',
    summary: 'List packages and versions in the trash',
    args: [{ name: 'OWNER', description: "the owner whose trash to list (default: every owner's)", optional: true }],
    json: true,
    async run({ args, json, out, runtime }) {
      const { trash } = await services(runtime);
      const entries = await trash.list(SYSTEM, args.OWNER ?? null);
      if (json) out.json(entries);
      else out.table(entries, ENTRY_COLUMNS);
    },
  }),
  defineCommand({
    name: 'trash restore',
    summary: 'Put a trash entry back, with its tags',
    details: 'A tag that another version took while the entry was in the trash stays with that version.',
    args: [{ name: 'ID', description: 'the entry id (wharf trash list)' }],
    json: true,
    async run({ args, json, out, runtime }) {
      const { trash } = await services(runtime);
      const r = await trash.restore(SYSTEM, args.ID);
      if (json) return out.json(r);
      out.line(`restored ${r.entry.kind} ${r.entry.package}${r.entry.digest ? `@${r.entry.digest}` : ''}`);
      if (r.restoredTags.length > 0) out.line(`tags back: ${r.restoredTags.join(', ')}`);
      if (r.keptTags.length > 0) out.line(`tags re-used meanwhile, left where they are: ${r.keptTags.map((t) => `${t.name} (now on ${t.digest.slice(0, 19)})`).join(', ')}`);
    },
  }),
  defineCommand({
    name: 'trash purge',
    summary: 'Delete a trash entry (or every expired one) for good',
    details: 'The next garbage collection frees the bytes nothing references any more. --expired runs the trash.purge job (recorded as a job run).',
    args: [{ name: 'ID', description: 'the entry id (wharf trash list)', optional: true }],
    options: { expired: { type: 'boolean', description: 'purge every entry whose time is up instead of one' } },
    json: true,
    async run({ args, options, json, out, runtime }) {
      if ((args.ID === undefined) === !options.expired) throw new UsageError('give an entry ID or --expired (not both)');
      const { trash, runner } = await services(runtime);
      if (args.ID !== undefined) {
        const r = await trash.purge(SYSTEM, args.ID);
        if (json) return out.json(r);
        out.line(`purged ${r.entries} ${r.entries === 1 ? 'entry' : 'entries'} (${r.manifests} manifests${r.packages > 0 ? ', the package' : ''}); the next GC frees their bytes`);
        return;
      }
      let last = 0;
      const outcome = await runner().run(trash.purgeJob(SYSTEM), {
        options: {},
        trigger: 'cli',
        actor: 'system',
        onProgress: (p) => {
          if (Date.now() - last < 2000) return;
          last = Date.now();
          out.note(`purging: ${String(p['entries'])} entries, ${String(p['manifests'])} manifests so far`);
        },
      });
      if (outcome.status === 'busy') throw new CliError(`a trash purge is already running (${outcome.holder})`);
      if (outcome.status !== 'succeeded') throw new CliError(`trash purge ${outcome.status}: ${outcome.run.error ?? 'unknown error'}`);
      const s = outcome.summary;
      if (json) return out.json({ runId: outcome.run.id, ...s });
      out.line(`purged ${String(s['entries'])} expired entries (${String(s['manifests'])} manifests, ${String(s['packages'])} packages) in ${(outcome.run.finishedAt ?? outcome.run.startedAt) - outcome.run.startedAt} ms (job run ${outcome.run.id})`);
    },
  }),
  defineCommand({
    name: 'usage',
    summary: 'Show the bytes stored, live and in the trash',
    details: "For an owner, a blob shared by several of its packages counts once (each package's own figure counts it too); site-wide, every blob counts once.",
    args: [{ name: 'OWNER', description: 'one owner (default: the whole site, per owner)', optional: true }],
    json: true,
    async run({ args, json, out, runtime }) {
      const { usage } = await services(runtime);
      if (args.OWNER !== undefined) {
        const u = await usage.ofOwner(SYSTEM, args.OWNER);
        if (json) return out.json(u);
        out.line(summary(`${u.owner} (deduplicated)`, u));
        out.table(u.packages, usageColumns({ header: 'package', value: (p: (typeof u.packages)[number]) => `${p.name}${p.trashed ? ' (in the trash)' : ''}` }));
        return;
      }
      const u = await usage.site(SYSTEM);
      if (json) return out.json(u);
      out.line(summary('site (deduplicated)', u));
      out.table(u.owners, usageColumns({ header: 'owner', value: (o: (typeof u.owners)[number]) => o.owner }));
    },
  }),
];
