/** A signal that aborts when its own `abort()` is called or when any given signal does (at once if one already has). */
export interface LinkedAbort {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
}

/**
 * The one abort wiring every reader uses: an own controller joined with the caller's signals through
 * `AbortSignal.any` (no listener to remove; an already aborted input aborts the result at once).
 */
export function linkedAbort(...signals: (AbortSignal | undefined)[]): LinkedAbort {
  const own = new AbortController();
  const inputs = signals.filter((s): s is AbortSignal => s !== undefined);
  const signal = inputs.length === 0 ? own.signal : AbortSignal.any([own.signal, ...inputs]);
  return { signal, abort: (reason?: unknown) => own.abort(reason) };
}

/** Resolves or rejects as `promise` does, or rejects with the signal's reason as soon as it aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** The abort reason as an Error (an AbortError DOMException when none was given). */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("This operation was aborted", "AbortError");
}
