/**
 * Site administration → Settings: the instance settings a site admin may change while Wharf runs
 * (docs/adr/0025-runtime-settings.md), grouped by area. Each shows the config file's value and
 * the override, saves on its own, and resets to the file's value after a confirmation; an error
 * appears under the control that caused it.
 */
import { type FormEvent, useState } from 'react';
import { api, get, messageOf } from './api.ts';
import type { InstanceSetting } from './api.gen.ts';
import { Alert, Badge, formatBytes, LoadError, Loading, Time } from './components.tsx';
import { useConfirm } from './confirm.tsx';
import { useLoad } from './hooks.ts';

type Value = InstanceSetting['effective'];

function show(s: InstanceSetting, v: Value): string {
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (s.unit === 'bytes' && typeof v === 'number') return v === 0 ? '0 (none)' : `${v} (${formatBytes(v)})`;
  return `${v}${s.unit && s.unit !== 'bytes' ? ` ${s.unit}` : ''}`;
}

const domId = (key: string) => `setting-${key.replaceAll('.', '-')}`;

function SettingRow({ setting, onChanged, askReset }: { setting: InstanceSetting; onChanged(s: InstanceSetting): void; askReset(s: InstanceSetting): void }) {
  const s = setting;
  const [draft, setDraft] = useState(String(s.effective));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = domId(s.key);
  const changed = draft !== String(s.effective);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const value: Value = s.rule.type === 'boolean' ? draft === 'true' : s.rule.type === 'integer' || s.rule.type === 'number' ? (draft.trim() === '' ? draft : Number(draft)) : draft;
      const saved = await api<InstanceSetting>('PUT', `/api/v1/admin/settings/${encodeURIComponent(s.key)}`, { value });
      setDraft(String(saved.effective));
      onChanged(saved);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  const control =
    s.rule.type === 'boolean' || s.rule.enum ? (
      <select id={id} value={draft} aria-describedby={`${id}-help${error ? ` ${id}-error` : ''}`} onChange={(e) => setDraft(e.target.value)}>
        {(s.rule.enum ?? ['true', 'false']).map((o) => (
          <option key={o} value={o}>
            {s.rule.type === 'boolean' ? (o === 'true' ? 'on' : 'off') : o}
          </option>
        ))}
      </select>
    ) : (
      <input
        id={id}
        type="number"
        inputMode={s.rule.type === 'integer' ? 'numeric' : 'decimal'}
        step={s.rule.type === 'integer' ? 1 : 'any'}
        {...(s.rule.minimum !== undefined ? { min: s.rule.minimum } : {})}
        {...(s.rule.maximum !== undefined ? { max: s.rule.maximum } : {})}
        value={draft}
        aria-invalid={error ? true : undefined}
        aria-describedby={`${id}-help${error ? ` ${id}-error` : ''}`}
        onChange={(e) => setDraft(e.target.value)}
      />
    );

  return (
    // noValidate: the server checks against the config schema and its message names the rule,
    // shown under the control; the browser's own bubble would say less and vary by browser.
    <form className="setting-row" onSubmit={save} aria-labelledby={`${id}-label`} data-setting={s.key} noValidate>
      <div className="setting-text">
        <label id={`${id}-label`} htmlFor={id}>
          <code>{s.key}</code> {s.override !== null ? <Badge tone="info">overridden</Badge> : null}
        </label>
        <p className="hint" id={`${id}-help`}>
          {s.description}. Allowed: {s.ruleText}.
        </p>
        <p className="small muted setting-source">
          Config file: <strong>{show(s, s.fileValue)}</strong>
          {s.override !== null ? (
            <>
              {' · '}override <strong>{show(s, s.override)}</strong> by {s.updatedBy} <Time iso={s.updatedAt} />
            </>
          ) : null}
        </p>
      </div>
      <div className="setting-control">
        {control}
        <div className="actions-row">
          <button type="submit" className="btn btn-primary btn-small" disabled={busy || !changed}>
            {busy ? 'Saving…' : 'Save'}
          </button>
          {s.override !== null ? (
            <button type="button" className="btn btn-small" onClick={() => askReset(s)}>
              Reset to file value
            </button>
          ) : null}
        </div>
        {error ? (
          <p className="error-text small" id={`${id}-error`} role="alert">
            {error}
          </p>
        ) : null}
      </div>
    </form>
  );
}

/** Admin area → Settings. */
export function AdminSettings() {
  const settings = useLoad('admin-settings', () => get<InstanceSetting[]>('/api/v1/admin/settings'));
  const confirm = useConfirm();
  const [notice, setNotice] = useState<string | null>(null);
  // Rows remount after a reset so their drafts show the file's value.
  const [generation, setGeneration] = useState(0);
  if (settings.error) return <LoadError error={settings.error} what="settings" retry={settings.reload} />;
  if (!settings.data) return <Loading what="Loading settings" />;
  const areas = [...new Set(settings.data.map((s) => s.area))];
  const askReset = (s: InstanceSetting) =>
    confirm.ask({
      title: `Reset ${s.key}?`,
      body: (
        <p>
          The override ({show(s, s.override ?? s.effective)}) is removed and the config file's value, {show(s, s.fileValue)}, applies again on every server within a few seconds.
        </p>
      ),
      confirmLabel: 'Reset to file value',
      action: async () => {
        await api('DELETE', `/api/v1/admin/settings/${encodeURIComponent(s.key)}`);
        setNotice(`${s.key} is back to the config file's value, ${show(s, s.fileValue)}.`);
        setGeneration((g) => g + 1);
        settings.reload();
      },
    });
  return (
    <div className="settings-page">
      <section className="card settings-section" aria-labelledby="instance-settings-title">
        <h2 id="instance-settings-title">Instance settings</h2>
        <p className="muted">
          Settings that are safe to change while Wharf runs. The config file gives each its value; a change here overrides it on every server within a few seconds, without a restart,
          and is written to the audit log. Storage, database, listeners, TLS and secrets change only in the config file.
        </p>
        {notice ? <Alert kind="success">{notice}</Alert> : null}
      </section>
      {areas.map((area) => {
        const areaId = `settings-area-${area.toLowerCase().replace(/[^a-z]+/g, '-')}`;
        return (
          <section key={area} className="card settings-section" aria-labelledby={areaId}>
            <h2 id={areaId}>{area}</h2>
            {settings.data
              ?.filter((s) => s.area === area)
              .map((s) => (
                <SettingRow
                  key={`${s.key}:${generation}`}
                  setting={s}
                  askReset={askReset}
                  onChanged={(saved) => {
                    setNotice(`${saved.key} is now ${show(saved, saved.effective)} (config file: ${show(saved, saved.fileValue)}).`);
                    settings.reload();
                  }}
                />
              ))}
          </section>
        );
      })}
      {confirm.dialog}
    </div>
  );
}
