/**
 * Everything a command prints goes through here, so the CLI has one style:
 * - results on stdout: plain sentences ("created user alice"), or tables with upper-case
 *   headers and aligned columns (`-` for empty cells), or with `--json` one JSON document;
 * - notes, warnings and errors on stderr, one line each, prefixed `note:`, `warning:`, `error:`.
 * Secrets meant to be captured by a script (`token create`) are printed alone on stdout.
 */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface Column<T> {
  header: string;
  value(row: T): string | number | boolean | null | undefined;
}

export class Output {
  private readonly io: Io;

  constructor(io: Io) {
    this.io = io;
  }

  /** A line of result on stdout. */
  line(text: string): void {
    this.io.stdout(`${text}\n`);
  }

  /** The result as one pretty-printed JSON document on stdout. */
  json(value: unknown): void {
    this.io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Rows as aligned columns under upper-case headers; `(none)` when there are no rows. */
  table<T>(rows: readonly T[], columns: readonly Column<T>[]): void {
    if (rows.length === 0) {
      this.line('(none)');
      return;
    }
    const cell = (v: string | number | boolean | null | undefined) => (v === null || v === undefined || v === '' ? '-' : String(v));
    const grid = [columns.map((c) => c.header.toUpperCase()), ...rows.map((r) => columns.map((c) => cell(c.value(r))))];
    const widths = columns.map((_, i) => Math.max(...grid.map((line) => line[i]?.length ?? 0)));
    for (const line of grid) this.line(line.map((v, i) => (i === line.length - 1 ? v : v.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
  }

  note(text: string): void {
    this.io.stderr(`note: ${text}\n`);
  }

  warning(text: string): void {
    this.io.stderr(`warning: ${text}\n`);
  }

  error(text: string): void {
    this.io.stderr(`error: ${text}\n`);
  }

  /** Free text on stderr (usage after a usage error). */
  diagnostic(text: string): void {
    this.io.stderr(`${text}\n`);
  }
}
