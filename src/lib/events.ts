import type { Logger } from 'pino';

type Listener<T> = (event: T) => Promise<void> | void;

/**
 * In-process fan-out of domain events to listeners that must not slow the request or fail it
 * (chart indexing, webhooks, metrics). `settled()` lets tests and graceful shutdown wait for them.
 */
export class EventBus<Events extends Record<string, unknown>> {
  private readonly listeners = new Map<keyof Events, Listener<never>[]>();
  private readonly pending = new Set<Promise<void>>();
  private readonly log: Logger | undefined;

  constructor(log?: Logger) {
    this.log = log;
  }

  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): void {
    const list = this.listeners.get(type) ?? [];
    list.push(listener);
    this.listeners.set(type, list);
  }

  emit<K extends keyof Events>(type: K, event: Events[K]): void {
    for (const listener of this.listeners.get(type) ?? []) {
      const p = (async () => {
        try {
          await (listener as Listener<Events[K]>)(event);
        } catch (err) {
          this.log?.error({ err, event: String(type) }, 'event listener failed');
        }
      })();
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
    }
  }

  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
