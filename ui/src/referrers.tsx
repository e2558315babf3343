/**
 * Signatures, SBOMs and attestations attached to a version (OCI referrers): each opens in a
 * viewer showing its manifest and files as JSON or text, with download links and the `oras` /
 * `cosign` lines to fetch or verify it. The bytes come from /v2 with the UI session, so the
 * viewer reads exactly what a registry client would.
 */
import { useEffect, useRef, useState } from 'react';
import { Badge, CommandBlock, formatBytes, Time } from './components.tsx';
import { Digest } from './package-parts.tsx';
import type { ReferrerView } from './api.gen.ts';

/** The viewer shows at most this much of a file; the rest is a download away. */
const MAX_SHOWN = 512 * 1024;

function v2Path(repo: string, what: 'manifests' | 'blobs', digest: string): string {
  return `/v2/${repo}/${what}/${digest}`;
}

function roleLabel(r: ReferrerView): string {
  return r.role === 'sbom' ? 'SBOM' : (r.role[0]?.toUpperCase() ?? '') + r.role.slice(1);
}

/** Pretty JSON when it parses, else the text itself. */
function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

async function fetchText(url: string, accept?: string): Promise<string> {
  const res = await fetch(url, { credentials: 'same-origin', headers: accept ? { accept } : {} });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const text = await res.text();
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}\n… (cut at ${formatBytes(MAX_SHOWN)}: download the file for the rest)` : text;
}

function Viewer({ repo, registry, subject, r, plainHttp, onClose }: { repo: string; registry: string; subject: string; r: ReferrerView; plainHttp: boolean; onClose(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [shown, setShown] = useState<string>('manifest');
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  useEffect(() => {
    setText(null);
    setError(null);
    const url = shown === 'manifest' ? v2Path(repo, 'manifests', r.digest) : v2Path(repo, 'blobs', shown);
    fetchText(url, shown === 'manifest' ? r.mediaType : undefined).then(
      (t) => setText(pretty(t)),
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  }, [repo, r, shown]);
  const file = r.files.find((f) => f.digest === shown);
  const ref2 = `${registry}/${repo}@${subject}`;
  // A plain-HTTP registry needs the clients' insecure flags.
  const orasFlag = plainHttp ? ' --plain-http' : '';
  const cosignFlag = plainHttp ? ' --allow-http-registry' : '';
  return (
    <dialog ref={ref} className="dialog viewer" aria-labelledby="viewer-title" onClose={onClose}>
      <div className="dialog-body">
        <h2 id="viewer-title">
          {roleLabel(r)} <span className="muted small break">{r.artifactType ?? r.mediaType}</span>
        </h2>
        <div className="viewer-picker">
          <label htmlFor="viewer-file">Show</label>
          <select id="viewer-file" value={shown} onChange={(e) => setShown(e.target.value)}>
            <option value="manifest">Manifest</option>
            {r.files.map((f) => (
              <option key={f.digest} value={f.digest}>
                {f.title ?? f.mediaType} ({formatBytes(f.size)})
              </option>
            ))}
          </select>
          <a className="btn" href={shown === 'manifest' ? v2Path(repo, 'manifests', r.digest) : v2Path(repo, 'blobs', shown)} download={file?.title ?? `${(shown === 'manifest' ? r.digest : shown).replace(':', '-')}.json`}>
            Download
          </a>
        </div>
        {error ? <p role="alert">Could not read it: {error}</p> : null}
        {text === null && !error ? <p className="muted">Loading…</p> : null}
        {text !== null ? (
          <pre className="viewer-text" tabIndex={0} aria-label="Content" data-testid="referrer-content">
            <code>{text}</code>
          </pre>
        ) : null}
        <CommandBlock label="List what is attached" command={`oras discover${orasFlag} ${ref2}`} />
        <CommandBlock label="Fetch it" command={`oras pull${orasFlag} ${registry}/${repo}@${r.digest}`} />
        {r.role === 'signature' ? <CommandBlock label="Verify the signature" command={`cosign verify${cosignFlag} --key cosign.pub ${ref2}`} /> : null}
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={() => ref.current?.close()}>
            Close
          </button>
        </div>
      </div>
    </dialog>
  );
}

export function Referrers({ referrers, repo, registry, subject, plainHttp }: { referrers: ReferrerView[]; repo: string; registry: string; subject: string; plainHttp: boolean }) {
  const [open, setOpen] = useState<ReferrerView | null>(null);
  if (referrers.length === 0) return null;
  return (
    <div className="referrers">
      <h4>Signatures, SBOMs and attestations</h4>
      <ul className="plain-list">
        {referrers.map((r) => (
          <li key={r.digest} className="referrer">
            <Badge tone={r.role === 'signature' ? 'ok' : r.role === 'sbom' ? 'info' : 'neutral'}>{roleLabel(r)}</Badge> <code className="small break">{r.artifactType ?? r.mediaType}</code>{' '}
            <span className="muted small">· {formatBytes(r.size)} · </span>
            <span className="small">
              <Time iso={r.createdAt} />
            </span>
            <div className="referrer-actions">
              <Digest digest={r.digest} />
              <button type="button" className="btn btn-small" onClick={() => setOpen(r)}>
                View {roleLabel(r)}
              </button>
            </div>
          </li>
        ))}
      </ul>
      {open ? <Viewer repo={repo} registry={registry} subject={subject} r={open} plainHttp={plainHttp} onClose={() => setOpen(null)} /> : null}
    </div>
  );
}
