/**
 * Whether the server is serving anyone, so background work (GC) can give way to requests
 * instead of competing with them for the one event loop (docs/adr/0009-garbage-collection.md).
 */
export class RequestActivity {
  private started = 0;
  private inFlight = 0;

  /** Call when a request arrives; the returned function when its response is done or aborted. */
  begin(): () => void {
    this.started++;
    this.inFlight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight--;
    };
  }

  /**
   * A probe for one consumer: true when a request is in flight now or began since the probe's
   * previous call (a burst of short requests between two calls counts too).
   */
  probe(): () => boolean {
    let seen = this.started;
    return () => {
      const busy = this.inFlight > 0 || this.started !== seen;
      seen = this.started;
      return busy;
    };
  }
}
