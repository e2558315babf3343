/**
 * What commands open lazily: the configuration (from `--config`/WHARF_CONFIG and the WHARF_*
 * environment), the metadata database (migrated) and the account services on it. Nothing is
 * opened for `--help` or a usage error; whatever was opened is closed after the command.
 */
import pino from 'pino';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { openMetadata } from '../main.ts';
import type { Metadata } from '../metadata/metadata.ts';
import { type AccessServices, createAccessServices } from '../services/access.ts';

export class Runtime {
  readonly env: NodeJS.ProcessEnv;
  private configFile: string | undefined;
  private loaded: Config | undefined;
  private db: Metadata | undefined;
  private services: AccessServices | undefined;
  private readonly stdinReader: () => Promise<string>;

  constructor(opts: { env: NodeJS.ProcessEnv; stdin: () => Promise<string> }) {
    this.env = opts.env;
    this.stdinReader = opts.stdin;
  }

  setConfigFile(file: string | undefined): void {
    this.configFile = file;
  }

  /** The validated configuration; throws ConfigError listing every problem. */
  config(): Config {
    this.loaded ??= loadConfig({ file: this.configFile, env: this.env });
    return this.loaded;
  }

  /** The metadata database, migrated (commands run without a server, straight on it). */
  async metadata(): Promise<Metadata> {
    if (!this.db) {
      const db = await openMetadata(this.config());
      try {
        await db.migrate();
      } catch (err) {
        await db.close();
        throw err;
      }
      this.db = db;
    }
    return this.db;
  }

  /** Account, token and key services on the database; actions are audited as `system`. */
  async access(): Promise<AccessServices> {
    this.services ??= await createAccessServices(this.config().auth, { metadata: await this.metadata(), clock: Date.now, log: pino({ level: 'silent' }) });
    return this.services;
  }

  /** Standard input as text, without its final newline (`--password-stdin`). */
  async stdin(): Promise<string> {
    return (await this.stdinReader()).replace(/\r?\n$/, '');
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    this.services = undefined;
    await db?.close();
  }
}
