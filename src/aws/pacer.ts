import { abortReason } from "./abort.js";

/** Limits of a {@link CallPacer}. */
export interface PacerOptions {
  /** GetMedia calls per second per stream, for all readers of this process together (default 4; KVS allows 5). */
  readonly callsPerSecond?: number;
  /** GetMedia calls being opened at once in this process, across streams (default 32): spreads reconnects after an outage. */
  readonly maxConcurrentOpens?: number;
}

/**
 * What a GetMedia call waits for, for status reports: the stream's call rate, a free open slot in the
 * process, or (reason "response") an answer that has not come after waitMs: a full socket pool of a
 * custom requestHandler, or a slow endpoint.
 */
export type PacerWait = { readonly reason: "callRate" | "openSlots" | "response"; readonly waitMs: number };

/**
 * Paces the GetMedia calls of one process: a per-stream schedule shared by every reader of the stream
 * (live readers, fan-out side connections, lease workers) keeps them together under the service's
 * 5 calls/s, and a process-wide cap on calls being opened at once spreads reconnect storms.
 */
export class CallPacer {
  private readonly interval: number;
  private readonly maxOpens: number;
  private readonly next = new Map<string, number>();
  private opens = 0;
  private readonly waiting: (() => void)[] = [];

  /** Creates a pacer with the given limits. */
  constructor(options: PacerOptions = {}) {
    this.interval = 1000 / Math.max(0.001, options.callsPerSecond ?? 4);
    this.maxOpens = Math.max(1, options.maxConcurrentOpens ?? 32);
  }

  /**
   * Waits for the stream's next call slot and an open slot; resolves with a release function to call
   * once the call has its answer (headers or error). Rejects with the signal's reason when it aborts.
   */
  async acquire(streamKey: string, signal: AbortSignal, onWait?: (w: PacerWait) => void): Promise<() => void> {
    signal.throwIfAborted();
    const now = performance.now();
    const slot = Math.max(now, this.next.get(streamKey) ?? 0);
    this.next.set(streamKey, slot + this.interval);
    if (slot > now) {
      onWait?.({ reason: "callRate", waitMs: slot - now });
      await delay(slot - now, signal);
    }
    if (this.opens >= this.maxOpens) {
      onWait?.({ reason: "openSlots", waitMs: 0 });
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.waiting.indexOf(go);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(abortReason(signal));
        };
        signal.addEventListener("abort", onAbort, { once: true });
        this.waiting.push(go);
      });
    } else this.opens++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const wake = this.waiting.shift();
      if (wake)
        wake(); // the slot passes straight on
      else this.opens--;
    };
  }

  /** Calls being opened right now (for tests and metrics). */
  get openCalls(): number {
    return this.opens;
  }

  /** Forgets streams whose schedule is in the past (bounded memory for processes that read many streams over time). */
  prune(): void {
    const now = performance.now();
    for (const [k, t] of this.next) if (t < now) this.next.delete(k);
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
