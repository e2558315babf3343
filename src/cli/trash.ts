/**
 * `wharf trash …` and `wharf usage …` straight on the database, as an operator (site admin);
 * restores and purges are audited as `system`. See docs/adr/0010-trash-and-usage.md.
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { SYSTEM } from '../auth/principal.ts';
import type { Config } from '../config/schema.ts';
import { RegistryError } from '../errors.ts';
import { EventBus } from '../lib/events.ts';
import type { UsageFigures } from '../metadata/usage.ts';
import { openMetadata } from '../main.ts';
import { createAccessServices } from '../services/access.ts';
import type { RegistryEvents } from '../services/events.ts';
import { JobRunner } from '../services/jobs/runner.ts';
import { type TrashEntryView, TrashService } from '../services/trash.ts';
import { UsageService } from '../services/usage.ts';

export const TRASH_USAGE = `trash and storage:
  trash list [OWNER] [--json]        packages and versions in the trash (every owner's without OWNER)
  trash restore ID                   put an entry back, with its tags
  trash purge ID | --expired         delete for good (GC frees the bytes on its next run)
  usage [OWNER] [--json]             bytes stored, live and in the trash (site-wide without OWNER)`;

export const TRASH_COMMANDS = new Set(['trash', 'usage']);

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  expired: { type: 'boolean' },
} as const;

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0))).join('  ')).join('\n');
}

function entryRows(entries: readonly TrashEntryView[]): string {
  const rows = [['ID', 'KIND', 'PACKAGE', 'VERSION', 'SIZE', 'TRASHED', 'BY', 'PURGED AFTER']];
  for (const e of entries) {
    const version = e.kind === 'package' ? '(whole package)' : `${e.tags.length > 0 ? e.tags.join(',') : '(untagged)'} ${e.digest?.slice(7, 19) ?? ''}`;
    rows.push([e.id, e.kind, e.package, version, formatBytes(e.bytes), e.trashedAt.slice(0, 16).replace('T', ' '), e.trashedBy, e.expiresAt.slice(0, 10)]);
  }
  return table(rows);
}

function usageLines(label: string, u: UsageFigures): string[] {
  return [`${label}: ${formatBytes(u.liveBytes)} live, ${formatBytes(u.trashedBytes)} in the trash (${u.blobs} blobs, ${u.manifests} manifests)`];
}

export async function trashCli(argv: string[], loadConfig: (file: string | undefined) => Config): Promise<number> {
  const { values: o, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const [group, ...rest] = positionals;
  const config = loadConfig(o.config);
  const metadata = await openMetadata(config);
  try {
    await metadata.migrate();
    const clock = Date.now;
    const log = pino({ level: 'silent' });
    const access = await createAccessServices(config, { metadata, clock, log });
    const events = new EventBus<RegistryEvents>(log);
    const trash = new TrashService({ metadata, authz: access.authz, events, clock, days: config.trash.days });
    const print = (value: unknown, text: string) => console.log(o.json ? JSON.stringify(value, null, 2) : text);
    try {
      if (group === 'usage') {
        const usage = new UsageService({ metadata, authz: access.authz });
        const owner = rest[0];
        if (owner) {
          const u = await usage.ofOwner(SYSTEM, owner);
          const rows = [['PACKAGE', 'LIVE', 'TRASHED', 'BLOBS', 'MANIFESTS']];
          for (const p of u.packages) rows.push([`${p.name}${p.trashed ? ' (in the trash)' : ''}`, formatBytes(p.liveBytes), formatBytes(p.trashedBytes), String(p.blobs), String(p.manifests)]);
          print(u, [...usageLines(`${owner} (a blob shared by packages counts once)`, u), '', table(rows)].join('\n'));
        } else {
          const u = await usage.site(SYSTEM);
          const rows = [['OWNER', 'LIVE', 'TRASHED', 'BLOBS', 'MANIFESTS']];
          for (const x of u.owners) rows.push([x.owner, formatBytes(x.liveBytes), formatBytes(x.trashedBytes), String(x.blobs), String(x.manifests)]);
          print(u, [...usageLines('site (deduplicated)', u), '', table(rows)].join('\n'));
        }
        return 0;
      }
      const [action, arg] = rest;
      switch (action) {
        case 'list': {
          const entries = await trash.list(SYSTEM, arg ?? null);
          print(entries, entries.length === 0 ? 'the trash is empty' : entryRows(entries));
          return 0;
        }
        case 'restore': {
          if (!arg) throw new RegistryError('BAD_REQUEST', 'usage: wharf trash restore ID');
          const r = await trash.restore(SYSTEM, arg);
          const kept = r.keptTags.map((t) => `${t.name} (now on ${t.digest.slice(0, 19)})`);
          print(r, `restored ${r.entry.kind} ${r.entry.package}${r.entry.digest ? `@${r.entry.digest}` : ''}` +
            (r.restoredTags.length > 0 ? `\n  tags back: ${r.restoredTags.join(', ')}` : '') +
            (kept.length > 0 ? `\n  tags re-used meanwhile, left where they are: ${kept.join(', ')}` : ''));
          return 0;
        }
        case 'purge': {
          if (o.expired) {
            const jobs = new JobRunner({ metadata, clock, log });
            const tty = process.stderr.isTTY;
            const outcome = await jobs.run(trash.purgeJob(SYSTEM), {
              options: {},
              trigger: 'cli',
              actor: 'system',
              onProgress: (p) => {
                if (tty) process.stderr.write(`\r\x1b[Kpurging: ${String(p['entries'])} entries, ${String(p['manifests'])} manifests`);
              },
            });
            if (tty) process.stderr.write('\r\x1b[K');
            if (outcome.status === 'busy') {
              console.error(`a trash purge is already running (${outcome.holder})`);
              return 1;
            }
            if (outcome.status !== 'succeeded') {
              console.error(`trash purge ${outcome.status}: ${outcome.run.error ?? ''}`);
              return 1;
            }
            const s = outcome.summary;
            print({ runId: outcome.run.id, ...s }, `purged ${String(s['entries'])} expired entries (${String(s['manifests'])} manifests, ${String(s['packages'])} packages) in ${(outcome.run.finishedAt ?? 0) - outcome.run.startedAt} ms; run ${outcome.run.id}`);
            return 0;
          }
          if (!arg) throw new RegistryError('BAD_REQUEST', 'usage: wharf trash purge ID | --expired');
          const r = await trash.purge(SYSTEM, arg);
          print(r, `purged ${r.entries} entries (${r.manifests} manifests${r.packages > 0 ? ', the package' : ''}); run \`wharf gc\` to free the bytes now`);
          return 0;
        }
      }
      console.error(`unknown command: ${positionals.join(' ')}\n\n${TRASH_USAGE}`);
      return 2;
    } catch (err) {
      if (err instanceof RegistryError) {
        console.error(`error: ${err.message}`);
        return 1;
      }
      throw err;
    }
  } finally {
    await metadata.close();
  }
}
