/**
 * A chart's changelog as Artifact Hub defines it: the `artifacthub.io/changes` annotation of
 * Chart.yaml holds YAML, either a list of strings or a list of `{kind, description, links}`
 * (kind: added, changed, deprecated, removed, fixed, security). Anything else reads as no entries:
 * a pusher's typo must not break the chart page.
 */
import { parse } from 'yaml';

export interface ChangeEntry {
  kind: string | null;
  description: string;
}

const MAX_ENTRIES = 200;

export function parseChangelog(annotation: string | undefined): ChangeEntry[] {
  if (!annotation) return [];
  let doc: unknown;
  try {
    doc = parse(annotation, { maxAliasCount: 10 });
  } catch {
    return [];
  }
  if (!Array.isArray(doc)) return [];
  const out: ChangeEntry[] = [];
  for (const item of doc.slice(0, MAX_ENTRIES)) {
    if (typeof item === 'string') out.push({ kind: null, description: item });
    else if (typeof item === 'object' && item !== null && typeof (item as Record<string, unknown>)['description'] === 'string') {
      const kind = (item as Record<string, unknown>)['kind'];
      out.push({ kind: typeof kind === 'string' ? kind.toLowerCase() : null, description: (item as Record<string, string>)['description'] ?? '' });
    }
  }
  return out;
}
