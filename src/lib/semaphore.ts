/** At most `limit` async tasks at once inside one process; the others wait in arrival order. */
export class Semaphore {
  private readonly limit: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((turn) => this.waiting.push(turn));
    else this.running++;
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next waiter, so `running` never dips below the limit
      // while tasks wait.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
