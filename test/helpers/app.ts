import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { createWharf, type Wharf } from '../../src/main.ts';
import { scaleProfile } from '../scale/backends.ts';

type Overrides = Parameters<typeof loadConfig>[0] extends infer O ? (O extends { overrides?: infer T } ? T : never) : never;

export interface TestApp extends Wharf {
  dataDir: string;
}

/**
 * A whole Wharf in-process for `app.inject` tests. Defaults: memory blob store, an in-memory
 * SQLite database and authentication off; pass `{ storage: { driver: 'fs' } }` for the
 * filesystem, `{ auth: { enabled: 'true', admin: { password: 'admin-password' } } }` for access control.
 */
export async function buildTestApp(overrides: Overrides = {}, opts: { clock?: () => number; logger?: Logger } = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'wharf-app-'));
  // WHARF_TEST_PROFILE=scale: S3 + PostgreSQL from the env instead of memory + SQLite.
  const profile = await scaleProfile();
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      storage: { driver: 'memory' },
      database: { sqlite: { path: ':memory:' } },
      log: { level: 'silent' },
      // Protocol tests run without authentication; access tests pass `auth: { enabled: 'true' }`.
      auth: { enabled: 'false', admin: { password: 'admin-password' } },
      ...profile?.overrides,
      ...overrides,
    },
  });
  const wharf = await createWharf(config, { logger: pino({ level: process.env['WHARF_TEST_LOG'] ?? 'silent' }), ...opts });
  return {
    ...wharf,
    dataDir,
    async close() {
      await wharf.close();
      await profile?.cleanup();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
