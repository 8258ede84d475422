/**
 * Politeness toward shops, per worker process: at most `perHost` requests in flight to one host, at least
 * `delayMs` between the starts of two requests to it, and at most `total` in flight altogether (sockets, memory).
 * Waiters are served first come, first served per host; hosts held back only by `total` are served in the order
 * they became ready. The throttle a shop asks for (lib/platform/hostThrottle) and the circuit breaker are checked
 * before a request queues here, so neither holds a place.
 */

export interface HostGateSettings {
  perHost: number;
  delayMs: number;
  total: number;
}

/** Gives a place back; calling it again does nothing. */
export type Release = () => void;

interface Waiter {
  grant: (release: Release) => void;
}

interface HostState {
  active: number;
  /** Epoch ms before which no request to the host may start (the politeness delay after the last start). */
  nextStartAt: number;
  queue: Waiter[];
  timer?: NodeJS.Timeout;
}

export class HostGate {
  private readonly hosts = new Map<string, HostState>();
  /** Hosts with a waiter that only the total cap holds back, in the order they became ready. */
  private readonly starved = new Set<string>();
  private running = 0;

  constructor(private readonly settings: HostGateSettings) {}

  /** Requests in flight now, altogether and to `host`. */
  inFlight(host?: string): number {
    return host === undefined ? this.running : (this.hosts.get(host)?.active ?? 0);
  }

  /**
   * Waits for a place for one request to `host` (compared case-insensitively) and resolves with its release.
   * When `signal` aborts first, the wait ends with the signal's reason and no place is taken.
   */
  acquire(host: string, signal?: AbortSignal): Promise<Release> {
    const key = host.toLowerCase();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Release>((resolve, reject) => {
      const state = this.state(key);
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      const onAbort = () => {
        const i = state.queue.indexOf(waiter);
        if (i >= 0) state.queue.splice(i, 1);
        this.forget(key);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      state.queue.push(waiter);
      this.drain(key);
    });
  }

  private state(key: string): HostState {
    let state = this.hosts.get(key);
    if (!state) this.hosts.set(key, (state = { active: 0, nextStartAt: 0, queue: [] }));
    return state;
  }

  /** Grants every waiter of the host that may start now; arranges to come back when only the delay holds one. */
  private drain(key: string): void {
    const state = this.hosts.get(key);
    if (!state) return;
    while (state.queue.length && state.active < this.settings.perHost) {
      const wait = state.nextStartAt - Date.now();
      if (wait > 0) {
        state.timer ??= setTimeout(() => {
          state.timer = undefined;
          this.drain(key);
        }, wait);
        return;
      }
      if (this.running >= this.settings.total) {
        this.starved.add(key);
        return;
      }
      const waiter = state.queue.shift()!;
      state.active++;
      this.running++;
      state.nextStartAt = Date.now() + this.settings.delayMs;
      let released = false;
      waiter.grant(() => {
        if (released) return;
        released = true;
        state.active--;
        this.running--;
        this.drain(key);
        this.forget(key);
        this.drainStarved();
      });
    }
    this.forget(key);
  }

  private drainStarved(): void {
    for (const key of this.starved) {
      if (this.running >= this.settings.total) return;
      this.starved.delete(key);
      this.drain(key);
    }
  }

  /** Drops an idle host's state once its delay has passed: nothing to remember. */
  private forget(key: string): void {
    const state = this.hosts.get(key);
    if (state && !state.active && !state.queue.length && !state.timer && state.nextStartAt <= Date.now())
      this.hosts.delete(key);
  }
}
