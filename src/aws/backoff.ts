/** Retry timing for a reader: exponential backoff with full jitter. */
export interface RetryPolicy {
  /** First delay in ms (default 200). */
  readonly baseMs?: number;
  /** Largest delay in ms (default 10 000). */
  readonly maxMs?: number;
  /** Give up after this many consecutive failures (default: never). */
  readonly maxAttempts?: number;
  /** Smallest base delay after a connection/TPS limit error (default 1000). */
  readonly limitBaseMs?: number;
}

/** The delay before retry number `attempt` (1-based): random in [0, min(max, base·2^(attempt-1))]. */
export function backoffDelay(attempt: number, policy: RetryPolicy, limited: boolean, random: () => number = Math.random): number {
  const base = limited ? Math.max(policy.baseMs ?? 200, policy.limitBaseMs ?? 1000) : (policy.baseMs ?? 200);
  const cap = Math.min(policy.maxMs ?? 10_000, base * 2 ** Math.min(30, attempt - 1));
  return Math.max(base / 4, random() * cap);
}

/** Resolves after `ms`, or at once when `signal` aborts (the timer is cleared either way). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
