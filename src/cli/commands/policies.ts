/**
 * `wharf policy show|set TARGET` and `wharf retention preview|apply TARGET`, straight on the
 * database as an operator (site admin; audited as `system`). TARGET is a package (`acme/web`,
 * any name with a `/`) or an owner (`acme`). See docs/policies.md and docs/adr/0013-policies.md.
 */
import pino from 'pino';
import { SYSTEM } from '../../auth/principal.ts';
import { EventBus } from '../../lib/events.ts';
import { parseRepoName, type RepoName } from '../../oci/name.ts';
import type { RegistryEvents } from '../../services/events.ts';
import { type RetentionReport, RetentionService, validateRetention } from '../../services/policies/retention-service.ts';
import { PolicyService, type PolicyView } from '../../services/policies/settings.ts';
import { TagPolicy } from '../../services/policies/tag-policy.ts';
import { TrashService } from '../../services/trash.ts';
import { JobRunner } from '../../services/jobs/runner.ts';
import { QuotaService, type QuotaView } from '../../services/quotas.ts';
import { openSettings } from '../../main.ts';
import { formatBytes, parseBytes } from '../../lib/bytes.ts';
import { type Command, CliError, defineCommand, UsageError } from '../command.ts';
import type { Output } from '../output.ts';
import type { Runtime } from '../runtime.ts';

async function services(runtime: Runtime): Promise<{ policies: PolicyService; retention: RetentionService; quotas: QuotaService }> {
  const metadata = await runtime.metadata();
  const { authz } = await runtime.access();
  const config = runtime.config();
  // Trash days and the default quota as a site admin may have set them at run time (ADR 0025).
  const settings = await openSettings(config, metadata);
  const tagPolicy = new TagPolicy({ allowChartOverwrite: config.charts.allowOverwrite });
  const trash = new TrashService({ metadata, authz, events: new EventBus<RegistryEvents>(pino({ level: 'silent' })), clock: Date.now, days: settings.get('trash.days'), tagPolicy });
  return {
    policies: new PolicyService({ metadata, authz, tagPolicy, clock: Date.now }),
    retention: new RetentionService({ metadata, authz, trash, tagPolicy, clock: Date.now }),
    quotas: new QuotaService({ metadata, clock: Date.now, defaultBytes: settings.get('quotas.defaultBytes') }),
  };
}

function packageOf(target: string): RepoName {
  try {
    return parseRepoName(target);
  } catch {
    throw new UsageError(`${target} is not a package name (owner/name)`);
  }
}

function parseJsonArg(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`${what} is not JSON`);
  }
}

function printPolicy(out: Output, v: PolicyView): void {
  out.line(`${v.kind} ${v.target}${v.updatedAt ? ` (changed ${v.updatedAt.slice(0, 16).replace('T', ' ')} by ${v.updatedBy ?? '?'})` : ' (no settings of its own)'}`);
  out.line(`own settings: ${JSON.stringify(v.settings)}`);
  const e = v.effective;
  out.line(`tag rules (${e.tagRules.source}): ${e.tagRules.rules.length === 0 ? 'none, every tag mutable' : e.tagRules.rules.map((r) => `${r.pattern} ${r.immutable ? 'immutable' : 'mutable'}`).join('; ')}`);
  out.line(`chart versions (${e.chartOverwrite.source}): ${e.chartOverwrite.allowed ? 'may be overwritten' : 'immutable'}`);
  out.line(`retention (${e.retention.source}): ${e.retention.rules ? JSON.stringify(e.retention.rules) : 'none'}`);
}

function printReport(out: Output, r: RetentionReport): void {
  for (const p of r.packages) {
    if (!p.rules) continue;
    out.line(`${p.package} (${p.source} rules ${JSON.stringify(p.rules)}): ${p.removed} to remove, ${p.kept} kept`);
    out.table(p.versions, [
      { header: 'action', value: (v) => v.action },
      { header: 'version', value: (v) => `${v.tags.join(',') || '(untagged)'} ${v.digest.slice(7, 19)}` },
      { header: 'pushed', value: (v) => v.pushedAt.slice(0, 16).replace('T', ' ') },
      { header: 'manifests', value: (v) => (v.action === 'remove' ? String(v.manifests.length) : '') },
      { header: 'why', value: (v) => v.reasons.join('; ') },
    ]);
  }
  const verb = r.dryRun ? 'would move' : 'moved';
  out.line(`${r.target}: ${verb} ${r.removed} ${r.removed === 1 ? 'version' : 'versions'} to the trash, ${r.kept} kept${r.dryRun ? ' (dry run: nothing changed)' : ''}`);
}

const quotaLine = (q: QuotaView) =>
  `${q.owner}: ${formatBytes(q.usedBytes)} used${q.limitBytes === null ? ', no quota' : ` of ${formatBytes(q.limitBytes)} (${q.source === 'site' ? 'site default' : 'its own'}, ${Math.round((q.usedBytes / Math.max(q.limitBytes, 1)) * 100)}%)`}`;

export const policyCommands: readonly Command[] = [
  defineCommand({
    name: 'quota show',
    summary: "Show owners' storage usage against their quotas",
    args: [{ name: 'OWNER', description: 'one owner (default: every owner)', optional: true }],
    json: true,
    async run({ args, json, out, runtime }) {
      const { quotas } = await services(runtime);
      const list = args.OWNER !== undefined ? [await quotas.ofOwner(SYSTEM, args.OWNER)] : await quotas.list(SYSTEM);
      if (json) return out.json(args.OWNER !== undefined ? list[0] : list);
      for (const q of list) out.line(quotaLine(q));
    },
  }),
  defineCommand({
    name: 'quota set',
    summary: "Set an owner's storage quota ('none': back to the site default quotas.defaultBytes)",
    args: [
      { name: 'OWNER', description: 'the owner' },
      { name: 'SIZE', description: 'bytes, or with a unit: 500MiB, 10GiB, 1TB; none' },
    ],
    json: true,
    async run({ args, json, out, runtime }) {
      const { quotas } = await services(runtime);
      const bytes = args.SIZE === 'none' ? null : parseBytes(args.SIZE);
      if (bytes === null && args.SIZE !== 'none') throw new UsageError(`${args.SIZE} is not a size (e.g. 10GiB, 500MB, 1048576, none)`);
      const q = await quotas.set(SYSTEM, args.OWNER, bytes);
      if (json) out.json(q);
      else out.line(quotaLine(q));
    },
  }),
  defineCommand({
    name: 'policy show',
    summary: "Show a package's or an owner's policy and what is in force",
    args: [{ name: 'TARGET', description: 'a package (owner/name) or an owner' }],
    json: true,
    async run({ args, json, out, runtime }) {
      const { policies } = await services(runtime);
      const v = args.TARGET.includes('/') ? await policies.ofPackage(SYSTEM, packageOf(args.TARGET)) : await policies.ofOwner(SYSTEM, args.TARGET);
      if (json) out.json(v);
      else printPolicy(out, v);
    },
  }),
  defineCommand({
    name: 'policy set',
    summary: "Replace a package's or an owner's policy ('{}' removes it)",
    details:
      'POLICY is JSON: {"tagRules":[{"pattern":"v[0-9]*","immutable":true}],"allowChartOverwrite":false,"retention":{"keepMostRecent":10,"keepPulledWithinDays":30,"keepTags":["release-*"],"removeUntaggedOlderThanDays":7}}. See docs/policies.md.',
    args: [
      { name: 'TARGET', description: 'a package (owner/name) or an owner' },
      { name: 'POLICY', description: 'the policy document as JSON' },
    ],
    json: true,
    async run({ args, json, out, runtime }) {
      const { policies } = await services(runtime);
      const doc = parseJsonArg(args.POLICY, 'POLICY');
      const v = args.TARGET.includes('/') ? await policies.setPackage(SYSTEM, packageOf(args.TARGET), doc) : await policies.setOwner(SYSTEM, args.TARGET, doc);
      if (json) out.json(v);
      else printPolicy(out, v);
    },
  }),
  defineCommand({
    name: 'retention preview',
    summary: 'List exactly which versions retention would move to the trash, and why (a dry run)',
    details: '--rules previews unsaved rules (JSON, as in a policy\'s "retention") in place of the saved ones.',
    args: [{ name: 'TARGET', description: 'a package (owner/name) or an owner (every package of it)' }],
    options: { rules: { type: 'string', value: 'JSON', description: 'retention rules to preview instead of the saved ones' } },
    json: true,
    async run({ args, options, json, out, runtime }) {
      const { retention } = await services(runtime);
      const rules = options.rules !== undefined ? validateRetention(parseJsonArg(options.rules, '--rules')) : undefined;
      const r = await retention.preview(SYSTEM, args.TARGET.includes('/') ? packageOf(args.TARGET) : args.TARGET, rules);
      if (json) out.json(r);
      else printReport(out, r);
    },
  }),
  defineCommand({
    name: 'retention apply',
    summary: 'Move what the retention rules remove to the trash now',
    details:
      'Restorable from the trash until it is purged; the next garbage collection after the purge frees the bytes. --all runs the retention.apply job (every package under a rule; recorded as a job run, once across servers).',
    args: [{ name: 'TARGET', description: 'a package (owner/name) or an owner (every package of it)', optional: true }],
    options: { all: { type: 'boolean', description: 'every package under a retention rule (the scheduled job, now)' } },
    json: true,
    async run({ args, options, json, out, runtime }) {
      if ((args.TARGET === undefined) === !options.all) throw new UsageError('give a TARGET or --all (not both)');
      const { retention } = await services(runtime);
      if (args.TARGET === undefined) {
        const runner = new JobRunner({ metadata: await runtime.metadata(), clock: Date.now, log: pino({ level: 'silent' }) });
        let last = 0;
        const outcome = await runner.run(retention.job(SYSTEM), {
          options: {},
          trigger: 'cli',
          actor: 'system',
          onProgress: (p) => {
            if (Date.now() - last < 2000) return;
            last = Date.now();
            out.note(`retention: ${String(p['packages'])} of ${String(p['of'])} packages, ${String(p['removed'])} versions moved to the trash so far`);
          },
        });
        if (outcome.status === 'busy') throw new CliError(`a retention run is already in progress (${outcome.holder})`);
        if (outcome.status !== 'succeeded') throw new CliError(`retention run ${outcome.status}: ${outcome.run.error ?? 'unknown error'}`);
        const s = outcome.summary;
        if (json) return out.json({ runId: outcome.run.id, ...s });
        out.line(`retention: ${String(s['packages'])} packages evaluated, ${String(s['removed'])} versions moved to the trash, ${String(s['kept'])} kept (job run ${outcome.run.id})`);
        return;
      }
      const r = await retention.apply(SYSTEM, args.TARGET.includes('/') ? packageOf(args.TARGET) : args.TARGET);
      if (r.packages.every((p) => !p.rules)) throw new CliError(`no retention rule applies to ${args.TARGET}`);
      if (json) out.json(r);
      else printReport(out, r);
    },
  }),
];
