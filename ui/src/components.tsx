/** Small building blocks shared by the pages. */
import { type FormEvent, type ReactNode, useEffect, useId, useRef, useState } from 'react';
import { ApiError } from './api.ts';
import { Link } from './router.tsx';
import { useSession } from './session.tsx';
import type { PackageKind, Visibility } from './api.gen.ts';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function formatCount(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

export function relativeTime(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((Date.now() - t) / 1000);
  const abs = Math.abs(s);
  const fmt = (v: number, unit: string) => (s >= 0 ? `${v} ${unit}${v === 1 ? '' : 's'} ago` : `in ${v} ${unit}${v === 1 ? '' : 's'}`);
  if (abs < 60) return s >= 0 ? 'just now' : 'in a moment';
  if (abs < 3600) return fmt(Math.round(abs / 60), 'minute');
  if (abs < 86400) return fmt(Math.round(abs / 3600), 'hour');
  if (abs < 86400 * 45) return fmt(Math.round(abs / 86400), 'day');
  return new Date(t).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

export function Time({ iso }: { iso: string | null }) {
  if (!iso) return <span className="muted">never</span>;
  return (
    <time dateTime={iso} title={new Date(iso).toLocaleString()}>
      {relativeTime(iso)}
    </time>
  );
}

export function shortDigest(d: string): string {
  const i = d.indexOf(':');
  return i < 0 ? d.slice(0, 12) : `${d.slice(0, i + 1)}${d.slice(i + 1, i + 13)}`;
}

const KIND_LABEL: Record<PackageKind, string> = { image: 'Container image', chart: 'Helm chart', artifact: 'Artifact' };

export function kindLabel(k: PackageKind): string {
  return KIND_LABEL[k];
}

export function KindBadge({ kind }: { kind: PackageKind }) {
  return <span className={`badge kind-${kind}`}>{KIND_LABEL[kind]}</span>;
}

export function VisibilityBadge({ visibility }: { visibility: Visibility }) {
  return <span className={`badge vis-${visibility}`}>{visibility[0]?.toUpperCase() + visibility.slice(1)}</span>;
}

export function Badge({ children, tone = 'neutral' }: { children: ReactNode; tone?: 'neutral' | 'warn' | 'ok' | 'info' }) {
  return <span className={`badge tone-${tone}`}>{children}</span>;
}

export function PackageIcon({ kind }: { kind: PackageKind }) {
  const paths: Record<PackageKind, ReactNode> = {
    image: <path d="M3 8l9-5 9 5v8l-9 5-9-5zM3 8l9 5 9-5M12 13v8" />,
    chart: <path d="M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zm0 4a5 5 0 1 0 0 10 5 5 0 0 0 0-10zM12 3v4M12 17v4M3 12h4M17 12h4" />,
    artifact: <path d="M6 3h8l4 4v14H6zM14 3v4h4M9 12h6M9 16h6" />,
  };
  return (
    <svg className={`pkg-icon kind-${kind}`} viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinejoin="round">
      {paths[kind]}
    </svg>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(t);
  }, [state]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      setState('failed');
    }
  };
  // The accessible name starts with the visible text, whatever the state (WCAG 2.5.3).
  const shown = state === 'copied' ? 'Copied' : state === 'failed' ? 'Select & copy' : label;
  return (
    <button type="button" className="btn btn-small copy" onClick={copy} aria-label={`${shown}: ${text.length > 60 ? `${text.slice(0, 57)}…` : text}`}>
      <span aria-hidden="true">{shown}</span>
      <span className="sr-only" role="status">
        {state === 'copied' ? 'Copied to the clipboard' : state === 'failed' ? 'Copy failed: select the text and copy it' : ''}
      </span>
    </button>
  );
}

/** A shell command (or secret) shown in full with a copy button. */
export function CommandBlock({ command, label, testId }: { command: string; label?: string; testId?: string }) {
  return (
    <div className="command">
      {label ? <div className="command-label">{label}</div> : null}
      <div className="command-row">
        <code className="command-text" data-testid={testId}>
          {command}
        </code>
        <CopyButton text={command} />
      </div>
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {what}…
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <h3>{title}</h3>
      {children}
    </div>
  );
}

export function Alert({ kind = 'error', children }: { kind?: 'error' | 'info' | 'success' | 'warn'; children: ReactNode }) {
  return (
    <div className={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

export function NotFound({ what = 'page' }: { what?: string }) {
  const { user } = useSession();
  return (
    <section className="error-page" aria-labelledby="nf-title">
      <div className="error-code" aria-hidden="true">
        404
      </div>
      <h1 id="nf-title">This {what} could not be found</h1>
      <p>It may not exist, or it may be private and you have no access to it.</p>
      {user ? null : (
        <p>
          <Link to={`/-/sign-in?next=${encodeURIComponent(window.location.pathname)}`} className="btn btn-primary">
            Sign in to see private packages
          </Link>
        </p>
      )}
      <p>
        <Link to="/">Go to the start page</Link>
      </p>
    </section>
  );
}

export function NoAccess({ message }: { message?: string }) {
  const { user } = useSession();
  return (
    <section className="error-page" aria-labelledby="na-title">
      <div className="error-code" aria-hidden="true">
        403
      </div>
      <h1 id="na-title">You don't have access to this</h1>
      <p>{message ?? 'Ask an administrator of this package or organization for access.'}</p>
      {user ? (
        <p className="muted">Signed in as {user.username}.</p>
      ) : (
        <p>
          <Link to={`/-/sign-in?next=${encodeURIComponent(window.location.pathname)}`} className="btn btn-primary">
            Sign in
          </Link>
        </p>
      )}
    </section>
  );
}

/** The right page for a failed load: 404, no access, or a message with retry. */
export function LoadError({ error, what, retry }: { error: unknown; what?: string; retry?: () => void }) {
  if (error instanceof ApiError) {
    if (error.status === 404) return <NotFound {...(what ? { what } : {})} />;
    if (error.status === 403 || error.status === 401) return <NoAccess message={error.message} />;
  }
  return (
    <Alert>
      <p>{error instanceof Error ? error.message : 'Something went wrong.'}</p>
      {retry ? (
        <button type="button" className="btn" onClick={retry}>
          Try again
        </button>
      ) : null}
    </Alert>
  );
}

/** 30 bars of daily downloads. */
export function DownloadsChart({ days }: { days: { day: string; count: number }[] }) {
  const titleId = useId();
  const max = Math.max(1, ...days.map((d) => d.count));
  const total = days.reduce((n, d) => n + d.count, 0);
  const w = 300;
  const h = 64;
  const bw = w / Math.max(1, days.length);
  return (
    <figure className="downloads-chart">
      <svg viewBox={`0 0 ${w} ${h + 2}`} role="img" aria-labelledby={titleId} preserveAspectRatio="none">
        <title id={titleId}>{`${total} downloads in the last 30 days; most in one day: ${max === 1 && total === 0 ? 0 : max}`}</title>
        <line x1="0" y1={h + 1} x2={w} y2={h + 1} className="axis" />
        {days.map((d, i) => {
          const bh = d.count === 0 ? 0 : Math.max(2, (d.count / max) * h);
          return (
            <rect key={d.day} x={i * bw + 1} y={h - bh} width={Math.max(1, bw - 2)} height={bh} rx="1">
              <title>{`${d.day}: ${d.count}`}</title>
            </rect>
          );
        })}
      </svg>
      <figcaption>
        <span>{days[0]?.day}</span>
        <span>{total === 0 ? 'No downloads in 30 days' : `${formatCount(total)} in 30 days`}</span>
        <span>{days.at(-1)?.day}</span>
      </figcaption>
    </figure>
  );
}

/**
 * A modal confirmation (native <dialog>: focus trap and Escape for free). With `typed`, the
 * confirm button stays disabled until that exact text is typed.
 */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  typed?: string;
  busy?: boolean;
  error?: string | null;
  onConfirm(): void;
  onCancel(): void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [text, setText] = useState('');
  const inputId = useId();
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) {
      setText('');
      d.showModal();
    } else if (!props.open && d.open) d.close();
  }, [props.open]);
  const ok = props.typed === undefined || text === props.typed;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (ok && !props.busy) props.onConfirm();
  };
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <form onSubmit={submit}>
        <h2 id={titleId}>{props.title}</h2>
        <div className="dialog-body">{props.children}</div>
        {props.typed !== undefined ? (
          <div className="field">
            <label htmlFor={inputId}>
              Type <strong className="mono">{props.typed}</strong> to confirm
            </label>
            <input id={inputId} value={text} onChange={(e) => setText(e.target.value)} autoComplete="off" spellCheck={false} autoFocus />
          </div>
        ) : null}
        {props.error ? <Alert>{props.error}</Alert> : null}
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={props.onCancel}>
            Cancel
          </button>
          <button type="submit" className={`btn ${props.danger ? 'btn-danger' : 'btn-primary'}`} disabled={!ok || props.busy === true} autoFocus={props.typed === undefined}>
            {props.busy ? 'Working…' : props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

export function Tabs<T extends string>({ tabs, current, onChange, label }: { tabs: { id: NoInfer<T>; label: string; count?: number }[]; current: T; onChange(id: NoInfer<T>): void; label: string }) {
  const refs = useRef<Record<string, HTMLButtonElement | null>>({});
  const move = (delta: number) => {
    const i = tabs.findIndex((t) => t.id === current);
    const next = tabs[(i + delta + tabs.length) % tabs.length];
    if (next) {
      onChange(next.id);
      refs.current[next.id]?.focus();
    }
  };
  return (
    <div className="tabs" role="tablist" aria-label={label}>
      {tabs.map((t) => (
        <button
          key={t.id}
          ref={(el) => {
            refs.current[t.id] = el;
          }}
          type="button"
          role="tab"
          id={`tab-${t.id}`}
          aria-selected={t.id === current}
          aria-controls={`panel-${t.id}`}
          tabIndex={t.id === current ? 0 : -1}
          className={t.id === current ? 'tab active' : 'tab'}
          onClick={() => onChange(t.id)}
          onKeyDown={(e) => {
            if (e.key === 'ArrowRight') move(1);
            if (e.key === 'ArrowLeft') move(-1);
          }}
        >
          {t.label}
          {t.count !== undefined ? <span className="tab-count">{t.count}</span> : null}
        </button>
      ))}
    </div>
  );
}

export function TabPanel({ id, children }: { id: string; children: ReactNode }) {
  return (
    <div role="tabpanel" id={`panel-${id}`} aria-labelledby={`tab-${id}`} className="tab-panel">
      {children}
    </div>
  );
}
