/**
 * `wharf settings list | set KEY VALUE | reset KEY`: instance settings changed at run time
 * (docs/adr/0025-runtime-settings.md), straight on the database as an operator (site admin);
 * changes are audited as `system`. Running servers apply a change within a few seconds.
 */
import { SYSTEM } from '../../auth/principal.ts';
import { openSettings, type Settings } from '../../main.ts';
import { DEFAULT_REFRESH_MS, type SettingView } from '../../services/settings/service.ts';
import { type Command, defineCommand } from '../command.ts';
import type { Runtime } from '../runtime.ts';

async function service(runtime: Runtime): Promise<Settings> {
  return openSettings(runtime.config(), await runtime.metadata());
}

/** Setting values are numbers, strings or booleans (the config schema's leaves). */
function show(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return String(v);
  return v === null || v === undefined ? '' : JSON.stringify(v);
}

const COLUMNS = [
  { header: 'setting', value: (s: SettingView) => s.key },
  { header: 'effective', value: (s: SettingView) => `${show(s.effective)}${s.unit ? ` ${s.unit}` : ''}` },
  { header: 'file', value: (s: SettingView) => show(s.fileValue) },
  { header: 'override', value: (s: SettingView) => (s.override === null ? '-' : `${show(s.override)} (${s.updatedBy ?? '?'}, ${s.updatedAt?.slice(0, 16).replace('T', ' ') ?? ''})`) },
  { header: 'allowed', value: (s: SettingView) => s.ruleText },
] as const;

const propagation = `running servers apply it within ${DEFAULT_REFRESH_MS / 1000} s`;

export const settingsCommands: readonly Command[] = [
  defineCommand({
    name: 'settings list',
    summary: 'Instance settings that may change at run time: effective, config file and override values',
    json: true,
    async run({ json, out, runtime }) {
      const settings = await service(runtime);
      const all = await settings.list(SYSTEM);
      if (json) out.json(all);
      else out.table(all, COLUMNS);
    },
  }),
  defineCommand({
    name: 'settings set',
    summary: "Override one setting (the config file's value stays the default)",
    details: 'VALUE is read like the config file reads environment variables: 600, 0.5, true, public.\nThe change and the old value are written to the audit log (settings.update).',
    args: [
      { name: 'KEY', description: 'the setting, e.g. gc.intervalSeconds (wharf settings list)' },
      { name: 'VALUE', description: 'the new value' },
    ],
    json: true,
    async run({ args, json, out, runtime }) {
      const settings = await service(runtime);
      const v = await settings.set(SYSTEM, args.KEY, args.VALUE);
      if (json) return out.json(v);
      out.line(`${v.key} = ${show(v.effective)} (config file: ${show(v.fileValue)}); ${propagation}`);
    },
  }),
  defineCommand({
    name: 'settings reset',
    summary: "Remove a setting's override: the config file's value applies again",
    args: [{ name: 'KEY', description: 'the setting, e.g. gc.intervalSeconds' }],
    json: true,
    async run({ args, json, out, runtime }) {
      const settings = await service(runtime);
      const v = await settings.reset(SYSTEM, args.KEY);
      if (json) return out.json(v);
      out.line(`${v.key} = ${show(v.effective)} from the config file; ${propagation}`);
    },
  }),
];
