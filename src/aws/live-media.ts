import { Observable } from "rxjs";
import type { KvsEvent, KvsParserOptions } from "../kvs/parser.js";
import { KvsParser } from "../kvs/parser.js";
import { linkedAbort } from "./abort.js";
import { backoffDelay, sleep, type RetryPolicy } from "./backoff.js";
import type { KvsClients, StreamRef } from "./clients.js";
import { FragmentDeduper, ReadPosition } from "./dedupe.js";
import { toKvsServiceError, type KvsServiceError } from "./errors.js";
import { pumpGetMedia, type StartFrom } from "./get-media.js";

/** What the live reader is doing, for logs and metrics. */
export type LiveStatus =
  | { readonly type: "connecting"; readonly from: StartFrom; readonly attempt: number }
  | { readonly type: "connected"; readonly from: StartFrom }
  | { readonly type: "ended"; readonly fragments: number }
  | { readonly type: "retrying"; readonly error: KvsServiceError; readonly attempt: number; readonly delayMs: number };

/** Options of {@link liveMedia}. */
export interface LiveMediaOptions extends KvsParserOptions {
  /** Where to start when there is nothing to resume after (default NOW). */
  readonly from?: StartFrom;
  /** Resume strictly after this fragment (a checkpoint); wins over `from`. */
  readonly after?: { readonly fragmentNumber: string; readonly continuationToken?: string | null } | null;
  /** Abort a connection that delivered no byte for this long (default 10 000 ms; GetMedia ends idle responses after ~3 s). */
  readonly idleTimeoutMs?: number;
  /** Backoff between failed connections. */
  readonly retry?: RetryPolicy;
  /** Least time between two GetMedia calls (default 250 ms: under the 5 calls/s/stream limit). */
  readonly minCallIntervalMs?: number;
  /** Ask GetDataEndpoint again after this many consecutive failures (default 3). */
  readonly refreshEndpointAfter?: number;
  /** Stops the reader (it then completes). */
  readonly signal?: AbortSignal;
  /** Called on every connection state change. */
  readonly onStatus?: (status: LiveStatus) => void;
  /** Source of randomness for jitter (tests). */
  readonly random?: () => number;
}

/**
 * The continuous GetMedia reader: reconnects when a response ends (idle ~3 s, ~45 min), resets or
 * stalls, resuming from the last CONTINUATION_TOKEN; delivers every fragment and frame exactly once and
 * in order (deduplicated by fragment number); backs off with jitter on connection/TPS limits and
 * errors; refreshes the data endpoint after repeated failures. Completes when `signal` aborts;
 * unsubscribing closes the connection and clears every timer. Errors only for non-retryable failures.
 */
export function liveMedia(clients: KvsClients, stream: StreamRef, options: LiveMediaOptions = {}): Observable<KvsEvent> {
  return new Observable<KvsEvent>((subscriber) => {
    const stop = linkedAbort(options.signal);
    const position = new ReadPosition(options.after ?? null);
    const idleMs = options.idleTimeoutMs ?? 10_000;
    const minInterval = options.minCallIntervalMs ?? 250;
    const refreshAfter = options.refreshEndpointAfter ?? 3;
    const retry = options.retry ?? {};
    const parserOptions: KvsParserOptions = { maxElementSize: options.maxElementSize, maxBlockSize: options.maxBlockSize, maxDepth: options.maxDepth, recover: true };

    const startFrom = (): StartFrom => {
      if (position.continuationToken) return { type: "CONTINUATION_TOKEN", token: position.continuationToken };
      if (position.lastCompleted) return { type: "FRAGMENT_NUMBER", fragmentNumber: position.lastCompleted };
      return options.from ?? "NOW";
    };

    /** One GetMedia response, start to end; resolves with the fragments it completed. */
    const connect = async (from: StartFrom): Promise<number> => {
      let completed = 0;
      const deduper = new FragmentDeduper(position, (ev) => {
        if (ev.type === "fragment") completed++;
        subscriber.next(ev);
      });
      const parser = new KvsParser((ev) => deduper.push(ev), parserOptions);
      // No parser.end(): a fragment is whole only once its closing tags arrived; a cut one is fetched again.
      await pumpGetMedia(clients, stream, from, { idleTimeoutMs: idleMs, signal: stop.signal, onConnected: () => options.onStatus?.({ type: "connected", from }) }, (chunk) => parser.push(chunk));
      return completed;
    };

    const run = async () => {
      let failures = 0;
      let lastCall = -Infinity;
      while (!stop.signal.aborted) {
        const wait = lastCall + minInterval - performance.now();
        if (wait > 0) await sleep(wait, stop.signal);
        if (stop.signal.aborted) break;
        lastCall = performance.now();
        const from = startFrom();
        options.onStatus?.({ type: "connecting", from, attempt: failures + 1 });
        try {
          const fragments = await connect(from);
          failures = 0;
          options.onStatus?.({ type: "ended", fragments });
        } catch (e) {
          const err = toKvsServiceError(e, "GetMedia");
          if (!err.retryable) throw err;
          failures++;
          if (retry.maxAttempts !== undefined && failures >= retry.maxAttempts) throw err;
          if (failures >= refreshAfter || err.code === "InvalidEndpointException") clients.invalidateEndpoint(stream, "GET_MEDIA");
          const limited = err.code === "ConnectionLimitExceededException" || err.code === "ClientLimitExceededException" || err.code === "ThrottlingException";
          const delayMs = backoffDelay(failures, retry, limited, options.random);
          options.onStatus?.({ type: "retrying", error: err, attempt: failures, delayMs });
          await sleep(delayMs, stop.signal);
        }
      }
    };
    run().then(
      () => subscriber.complete(),
      (e: unknown) => subscriber.error(e),
    );
    return () => stop.abort();
  });
}
