/**
 * Which tag an image (or other non-chart) package calls "latest": the `latest` tag when it
 * exists, else the highest stable semantic version among the tags (`1.10.0` over `1.9.2`; a
 * pre-release such as `2.0.0-rc.1` never wins over a release), else a tag of the newest push.
 * Charts take theirs from the chart index instead (services/charts/catalog.ts).
 */
import semver from 'semver';

export interface TaggedVersion {
  digest: string;
  createdAt: number;
}

export function imageLatestTag(tags: readonly { name: string; digest: string }[], versions: readonly TaggedVersion[]): string | null {
  const live = new Set(versions.map((v) => v.digest));
  const pool = tags.filter((t) => live.has(t.digest));
  if (pool.some((t) => t.name === 'latest')) return 'latest';
  const stable = pool.filter((t) => semver.valid(t.name) !== null && semver.prerelease(t.name) === null).sort((a, b) => semver.rcompare(a.name, b.name) || (a.name < b.name ? -1 : 1));
  if (stable[0]) return stable[0].name;
  const newest = [...versions].sort((a, b) => b.createdAt - a.createdAt);
  for (const v of newest) {
    const names = pool.filter((t) => t.digest === v.digest).map((t) => t.name).sort();
    if (names[0] !== undefined) return names[0];
  }
  return null;
}
