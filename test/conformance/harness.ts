/**
 * The Ginkgo/Gomega pieces the Go suite leans on, mapped to node:test: `specify` is g.Specify
 * (one test; a failed expectation fails it and the next one still runs, in order), `skip` is
 * g.Skip, SkipIfDisabled/RunOnlyIf/RunOnlyIfNot keep their names, `warn` is the suite's Warn
 * (a test diagnostic here). `useRegistry` replaces the OCI_ROOT_URL of a Go run: it starts
 * Wharf (auth on, its admin as OCI_USERNAME/OCI_PASSWORD) or the WHARF_E2E_TARGET when no
 * OCI_ROOT_URL is given, and configures the shared client.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { type StartedServer, startTarget, targetUnavailable } from '../helpers/server.ts';
import { Client, type Response } from './client.ts';
import { settings, skipReport, userDisabled } from './setup.ts';

export const client = new Client();

class Skipped extends Error {}

export function skip(message: string): never {
  throw new Skipped(message);
}

export function SkipIfDisabled(flag: number): void {
  if (userDisabled(flag)) skip(skipReport());
}

export function RunOnlyIf(v: boolean): void {
  if (!v) skip('you have skipped this test.');
}

export function RunOnlyIfNot(v: boolean): void {
  if (v) skip('you have skipped this test.');
}

let diagnostic: ((message: string) => void) | undefined;

/** Go's Warn: a non-fatal note, e.g. an optional feature the registry lacks. */
export function warn(message: string): void {
  (diagnostic ?? ((m: string) => process.stderr.write(`${m}\n`)))(`WARNING: ${message}`);
}

/** Why the whole suite cannot run here, or false (set before the tests are defined). */
export const suiteSkip: string | false = settings.selfStarted ? targetUnavailable() : false;

/** g.Specify: one ordered check. */
export function specify(name: string, fn: () => Promise<void>): void {
  it(name, { skip: suiteSkip, timeout: 30_000 }, async (t) => {
    diagnostic = (m) => t.diagnostic(m);
    try {
      await fn();
    } catch (err) {
      if (err instanceof Skipped) {
        t.skip(err.message);
        return;
      }
      throw err;
    } finally {
      diagnostic = undefined;
    }
  });
}

// ---- Gomega-style status matchers ----------------------------------------------------------

export type StatusMatcher = number | '2xx';

function matches(status: number, m: StatusMatcher): boolean {
  return m === '2xx' ? status >= 200 && status < 300 : status === m;
}

/** Expect(resp.StatusCode()).To(SatisfyAny(...)): the status is one of these. */
export function expectStatus(resp: Response, ...accepted: StatusMatcher[]): void {
  assert.ok(accepted.some((m) => matches(resp.status, m)), `expected status ${accepted.join(' or ')}, got ${resp.describe()}`);
}

export function expectNonEmpty(value: string, what: string, resp?: Response): void {
  assert.notEqual(value, '', `${what} is empty${resp ? ` (${resp.describe()})` : ''}`);
}

/** Expect(h).To(Equal(...)) only when the optional header is present. */
export function expectHeaderIfPresent(resp: Response, name: string, expected: string): void {
  const h = resp.header(name);
  if (h !== '') assert.equal(h, expected, `${name} of ${resp.method} ${resp.url}`);
}

// ---- the registry under test ----------------------------------------------------------------

/** Starts (or points at) the registry before the suite and stops what it started after it. */
export function useRegistry(): void {
  let server: StartedServer | undefined;
  before(async () => {
    if (suiteSkip !== false) return;
    let address = settings.rootUrl;
    let { username, password, namespace } = settings;
    if (settings.selfStarted) {
      server = await startTarget();
      address = server.url;
      if (username === '' && server.admin) ({ username, password } = server.admin);
      if (namespace === '') namespace = `conformance-${randomBytes(4).toString('hex')}/repo`;
    }
    client.configure({
      address,
      defaultName: namespace,
      username,
      password,
      authScope: settings.authScope,
      userAgent: 'distribution-spec-conformance-tests',
      debug: settings.debug,
    });
  });
  after(async () => {
    client.close();
    await server?.stop();
  });
}
