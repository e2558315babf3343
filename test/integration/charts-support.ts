/** Shared pieces of the chart integration suites (in-process Wharf, `app.inject`). */
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { injectHttp, type Http } from '../helpers/charts.ts';
import type { TestApp } from '../helpers/app.ts';

export interface IndexEntryJson {
  name: string;
  version: string;
  appVersion?: string;
  digest: string;
  urls: string[];
  created: string;
  [key: string]: unknown;
}

export interface IndexJson {
  apiVersion: string;
  entries: Record<string, IndexEntryJson[]>;
  generated: string;
}

export function http(app: TestApp, auth?: string): Http {
  return injectHttp(app.app, auth);
}

/** GET index.yaml (parsed with a YAML 1.1 reader, as Helm reads it) and its ETag. */
export async function getIndex(app: TestApp, owner: string, headers: Record<string, string> = {}): Promise<{ index: IndexJson; etag: string; raw: string }> {
  const res = await app.app.inject({ url: `/charts/${owner}/index.yaml`, headers });
  assert.equal(res.statusCode, 200, res.body);
  const raw = res.headers['content-encoding'] === 'gzip' ? gunzipSync(res.rawPayload).toString('utf8') : res.body;
  return { index: parse(raw, { version: '1.1' }) as IndexJson, etag: String(res.headers['etag']), raw };
}

/** `{ name: [versions…] }` of an index, for compact assertions. */
export function versionsOf(index: IndexJson): Record<string, string[]> {
  return Object.fromEntries(Object.entries(index.entries ?? {}).map(([k, v]) => [k, v.map((e) => e.version)]));
}

export async function json<T>(app: TestApp, url: string, status = 200, headers: Record<string, string> = {}): Promise<T> {
  const res = await app.app.inject({ url, headers });
  assert.equal(res.statusCode, status, `${url}: ${res.body}`);
  return JSON.parse(res.body) as T;
}

export function errorCode(body: string): string | undefined {
  return (JSON.parse(body) as { errors?: { code: string }[] }).errors?.[0]?.code;
}
