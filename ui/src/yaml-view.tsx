/**
 * A read-only YAML (or JSON) view with light highlighting — comments, keys, strings, numbers and
 * booleans — a wrap toggle and a copy button. Line by line, no parser: values.yaml files are
 * read, not executed, and a wrong colour is harmless.
 */
import { type ReactNode, useState } from 'react';
import { CopyButton } from './components.tsx';

const KEY = /^(\s*(?:- )?)([^\s#:'"][^:#]*?|"[^"]*"|'[^']*')(:)(?=\s|$)/;

function scalar(text: string, key: string): ReactNode {
  const t = text.trim();
  if (t === '') return text;
  let cls = '';
  if (/^(["']).*\1$/.test(t)) cls = 'y-str';
  else if (/^-?\d+(\.\d+)?$/.test(t)) cls = 'y-num';
  else if (/^(true|false|null|~)$/i.test(t)) cls = 'y-bool';
  return cls ? (
    <span key={key} className={cls}>
      {text}
    </span>
  ) : (
    text
  );
}

function line(raw: string, i: number): ReactNode {
  // A comment starts at `#` preceded by a space or the line start, outside quotes (approximately).
  const hash = raw.search(/(^|\s)#/);
  const body = hash < 0 ? raw : raw.slice(0, hash);
  const comment = hash < 0 ? '' : raw.slice(hash);
  const parts: ReactNode[] = [];
  const m = KEY.exec(body);
  if (m) {
    parts.push(m[1] ?? '', <span key="k" className="y-key">{m[2]}</span>, m[3] ?? '', scalar(body.slice(m[0].length), 'v'));
  } else {
    parts.push(scalar(body, 'v'));
  }
  if (comment) parts.push(<span key="c" className="y-comment">{comment}</span>);
  return (
    <span key={i} className="y-line">
      {parts}
      {'\n'}
    </span>
  );
}

export function YamlView({ text, title, extra }: { text: string; title: string; extra?: ReactNode }) {
  const [wrap, setWrap] = useState(false);
  return (
    <div className="code-block">
      <div className="code-head">
        <span>{title}</span>
        <span className="code-actions">
          <label className="wrap-toggle">
            <input type="checkbox" checked={wrap} onChange={(e) => setWrap(e.target.checked)} /> Wrap lines
          </label>
          <CopyButton text={text} label={`Copy ${title}`} />
        </span>
      </div>
      {extra}
      <pre tabIndex={0} aria-label={title} className={wrap ? 'wrap' : undefined}>
        <code>{text.split('\n').map(line)}</code>
      </pre>
    </div>
  );
}
