import type { StreamEvent } from "../rx/stream-event.js";
import { KvsParserError } from "../ebml/kvs-parser-error.js";
import { Observable } from "rxjs";
import { KvsParser, type KvsEvent, type KvsParserOptions } from "../kvs/parser.js";
import { compareFragmentNumbers } from "../kvs/fragment-number.js";
import { linkedAbort } from "./abort.js";
import { listFragments, pumpFragmentList } from "./archive.js";
import { backoffDelay, sleep, type RetryPolicy } from "./backoff.js";
import type { KvsClients, StreamRef } from "./clients.js";
import { FragmentDeduper, FragmentUnavailable, MissedStartFragment, ReadPosition, type DeduperOptions } from "./dedupe.js";
import { KvsServiceError, toKvsServiceError } from "./errors.js";
import { inStreamError, pumpGetMedia, type StartFrom } from "./get-media.js";
import type { PacerWait } from "./pacer.js";
import { heldReader } from "../rx/demand.js";
import type { ReadGate } from "../rx/read-gate.js";

/** What the live reader is doing, for logs and metrics. */
export type LiveStatus =
  | { readonly type: "connecting"; readonly from: StartFrom; readonly attempt: number }
  /** The call waits for the stream's call rate or a free open slot in this process. */
  | ({ readonly type: "waiting" } & PacerWait)
  | { readonly type: "connected"; readonly from: StartFrom }
  | { readonly type: "ended"; readonly fragments: number }
  /** Reading a backlog with ListFragments + GetMediaForFragmentList (GetMedia sends ~5 fragments/s when behind). */
  | { readonly type: "catchingUp"; readonly fragments: number; readonly after: string }
  | { readonly type: "retrying"; readonly error: KvsServiceError; readonly attempt: number; readonly delayMs: number };

/** What the live reader emits: the parser's events, and (with `resumeCutFragments: "restart"`) discard markers. */
export type LiveEvent = StreamEvent;

/** How the live reader works off a backlog. */
export interface CatchUpOptions {
  /** Switch to GetMediaForFragmentList when a fragment arrives this far behind now (MILLIS_BEHIND_NOW, default 20 000 ms). */
  readonly behindMs?: number;
  /** Fragments per GetMediaForFragmentList call (default 200). */
  readonly batchSize?: number;
  /** Only fragments older than this are listed (ListFragments is eventually consistent; default 5000 ms). */
  readonly settleMs?: number;
}

/** Options of {@link liveMedia}. */
export interface LiveMediaOptions extends Omit<KvsParserOptions, "recover"> {
  /** Where to start when there is nothing to resume after (default NOW). */
  readonly from?: StartFrom;
  /** Resume strictly after this fragment (a checkpoint); wins over `from`. */
  readonly after?: { readonly fragmentNumber: string; readonly continuationToken?: string | null } | null;
  /** Abort a connection that delivered no byte for this long (default 10 000 ms; GetMedia ends idle responses after ~3 s). */
  readonly idleTimeoutMs?: number;
  /** Backoff between failed connections; `maxAttempts` counts failures in a row without a fragment delivered. */
  readonly retry?: RetryPolicy;
  /** Ask GetDataEndpoint again after this many failures in a row (default 3). */
  readonly refreshEndpointAfter?: number;
  /**
   * Connections in a row that bring bytes which do not make a fragment (they do not parse, or the
   * response ends inside a fragment), without a fragment delivered, before the fragment is given up on
   * (default 5).
   */
  readonly maxCorruptAttempts?: number;
  /**
   * A fragment given up on after `maxCorruptAttempts`: "fail" (default) errors with a non-retryable
   * CORRUPT_MEDIA naming it; "skip" emits a `fragmentSkipped` event and goes on after it (resuming with
   * its number as the continuation token, which KVS's tokens have always equalled).
   */
  readonly onCorruptFragment?: "fail" | "skip";
  /** Backlog reading with GetMediaForFragmentList (default on); false: GetMedia only. */
  readonly catchUp?: CatchUpOptions | false;
  /** Lets a slow consumer hold the reading back: the socket fills and TCP slows the service. */
  readonly gate?: ReadGate;
  /**
   * A fragment cut mid-way by a failed connection: "restart" (default) emits a `fragmentDiscarded` event
   * and delivers it again from its first frame, so every fragment's frames come from one clean read (a
   * frame read just before bad bytes may itself be bad); "skip" delivers only its frames not yet
   * delivered: each frame exactly once, trusting what arrived before the failure.
   */
  readonly resumeCutFragments?: "skip" | "restart";
  /** Stops the reader (it then completes). */
  readonly signal?: AbortSignal;
  /** Called on every connection state change. */
  readonly onStatus?: (status: LiveStatus) => void;
  /** Source of randomness for jitter (tests). */
  readonly random?: () => number;
}

/** Internal: a fragment arrived far behind now; read the backlog another way. */
class BehindNow extends KvsParserError {
  override readonly name = "BehindNow";
  constructor() {
    super("BEHIND_NOW", "the reader is too far behind the live edge", { retryable: true });
  }
}

/**
 * The continuous GetMedia reader. Reconnects when a response ends (idle ~3 s, ~45 min), resets, stalls,
 * or brings bytes that do not parse, resuming from the last CONTINUATION_TOKEN (a fragment cut before
 * its first completion is restarted at its SERVER_TIMESTAMP). Delivers every fragment exactly once and
 * in order, with all its frames: a fragment counts only once its closing tags arrived, and the frames
 * of one cut mid-way are voided by a `fragmentDiscarded` event and come again (see resumeCutFragments). Works off a backlog with ListFragments + GetMediaForFragmentList, then returns to GetMedia.
 * Backs off with jitter on limits and errors (pacing all GetMedia calls of the process per stream);
 * refreshes the data endpoint after repeated failures. Errors only for non-retryable failures
 * (including an error the service reports inside the body, as MEDIA_ERROR). Completes when `signal`
 * aborts; unsubscribing closes the connection and clears every timer.
 */
export function liveMedia(clients: KvsClients, stream: StreamRef, options: LiveMediaOptions = {}): Observable<LiveEvent> {
  return heldReader(options, (options) => liveMediaWith(clients, stream, options));
}

function liveMediaWith(clients: KvsClients, stream: StreamRef, options: LiveMediaOptions): Observable<LiveEvent> {
  return new Observable<LiveEvent>((subscriber) => {
    const stop = linkedAbort(options.signal);
    const position = new ReadPosition(options.after ?? null);
    const userFrom: StartFrom = options.from ?? "NOW";
    if (position.lastCompleted === null && typeof userFrom === "object" && userFrom.type === "FRAGMENT_NUMBER") position.startAt = userFrom.fragmentNumber;
    const idleMs = options.idleTimeoutMs ?? 10_000;
    const refreshAfter = options.refreshEndpointAfter ?? 3;
    const maxCorrupt = options.maxCorruptAttempts ?? 5;
    const retry = options.retry ?? {};
    const catchUpOptions = options.catchUp === false ? null : (options.catchUp ?? {});
    const behindMs = catchUpOptions?.behindMs ?? 20_000;
    let catchUpEnabled = catchUpOptions !== null;
    let catchUpCooldownUntil = 0;
    const parserOptions: KvsParserOptions = {
      maxElementSize: options.maxElementSize,
      maxBlockSize: options.maxBlockSize,
      maxDepth: options.maxDepth,
      keepBytes: options.keepBytes,
      recover: false,
      documentStream: true,
    };
    const status = options.onStatus;
    const restartCut = options.resumeCutFragments !== "skip";

    const startFrom = (): StartFrom => {
      if (position.continuationToken) return { type: "CONTINUATION_TOKEN", token: position.continuationToken };
      if (position.lastCompleted) return { type: "FRAGMENT_NUMBER", fragmentNumber: position.lastCompleted };
      const partial = position.partial;
      if (partial) {
        // Cut inside the first fragment: start at it again (at its timestamp, whatever FRAGMENT_NUMBER means).
        position.startAt = partial.number;
        return partial.serverTimestampMs !== null
          ? { type: "SERVER_TIMESTAMP", timestamp: new Date(partial.serverTimestampMs) }
          : { type: "FRAGMENT_NUMBER", fragmentNumber: partial.number };
      }
      return userFrom;
    };

    /**
     * Parses one response's chunks through a deduper; `onFragment` runs after each delivered fragment,
     * `onParsed` sees every event before the deduper.
     */
    const pipeline = (
      deduperOptions: DeduperOptions,
      onFragment: (ev: Extract<KvsEvent, { type: "fragment" }>) => void,
      onParsed?: (ev: KvsEvent) => void,
      fromList = false,
    ) => {
      const deduper = new FragmentDeduper(
        position,
        (ev) => {
          subscriber.next(ev);
          if (ev.type === "fragment") onFragment(ev);
        },
        { ...deduperOptions, restartCutFragments: restartCut },
      );
      return new KvsParser((parsed) => {
        const failure = inStreamError(parsed, "GetMedia");
        if (failure) throw failure;
        // GetMediaForFragmentList sends no MILLIS_BEHIND_NOW: a backlog's lag is reckoned from the server timestamp.
        const ev =
          fromList && parsed.type === "fragment" && parsed.millisBehindNow === null && parsed.serverTimestampMs !== null
            ? { ...parsed, millisBehindNow: Math.max(0, Date.now() - parsed.serverTimestampMs) }
            : parsed;
        onParsed?.(ev);
        deduper.push(ev);
      }, parserOptions);
    };

    /** One GetMedia response, start to end; resolves to the bytes after the last fragment it completed. */
    const connect = async (from: StartFrom, progress: () => void): Promise<number> => {
      let received = 0;
      let fragmentEnd = 0;
      const parser = pipeline(
        { requireClosingTags: true },
        (ev) => {
          progress();
          if (catchUpEnabled && (ev.millisBehindNow ?? 0) > behindMs && performance.now() > catchUpCooldownUntil && position.lastServerTimestampMs !== null)
            throw new BehindNow();
        },
        (ev) => {
          if (ev.type === "fragment") fragmentEnd = ev.endOffset;
        },
      );
      // No parser.end(): a fragment is whole only once its closing tags arrived; a cut one is read again.
      await pumpGetMedia(
        clients,
        stream,
        {
          from,
          idleTimeoutMs: idleMs,
          signal: stop.signal,
          gate: options.gate,
          onConnected: () => status?.({ type: "connected", from }),
          onWait: (w) => status?.({ type: "waiting", ...w }),
        },
        (chunk) => {
          received += chunk.length;
          parser.push(chunk);
        },
      );
      return received - fragmentEnd;
    };

    /** Reads `fragments` (in order) with GetMediaForFragmentList; every one must come, else FragmentUnavailable. */
    const readList = async (fragments: readonly string[], progress: () => void): Promise<void> => {
      const parser = pipeline({ requireClosingTags: false, expected: fragments }, progress, undefined, true);
      await pumpFragmentList(clients, stream, fragments, stop.signal, options.gate, (chunk) => parser.push(chunk));
      if (stop.signal.aborted) return;
      parser.end();
      const last = fragments[fragments.length - 1]!;
      if (position.lastCompleted === null || compareFragmentNumbers(position.lastCompleted, last) < 0)
        throw new FragmentUnavailable(last, "not in the GetMediaForFragmentList response");
    };

    /** Works off the backlog after the last completed fragment, in batches, then hands back to GetMedia. */
    const catchUp = async (progress: () => void): Promise<void> => {
      const after = position.lastCompleted!;
      const settle = catchUpOptions?.settleMs ?? 5000;
      const list = await listFragments(clients, stream, {
        range: { start: new Date(position.lastServerTimestampMs!), end: new Date(Date.now() - settle) },
        signal: stop.signal,
      });
      const backlog = list.map((f) => f.fragmentNumber).filter((n) => compareFragmentNumbers(n, after) > 0);
      if (backlog.length < 2) {
        catchUpCooldownUntil = performance.now() + Math.max(settle, 5000);
        return;
      }
      status?.({ type: "catchingUp", fragments: backlog.length, after });
      const size = Math.max(1, Math.min(1000, catchUpOptions?.batchSize ?? 200));
      for (let i = 0; i < backlog.length && !stop.signal.aborted; i += size) await readList(backlog.slice(i, i + size), progress);
    };

    /** With restartCut: voids the frames of a fragment the connection ended inside; it comes again whole. */
    const discardCut = (reason: string) => {
      const partial = position.partial;
      if (!restartCut || partial === null || partial.frames === 0 || stop.signal.aborted) return;
      subscriber.next({ type: "fragmentDiscarded", fragmentNumber: partial.number, frames: partial.frames, reason });
      partial.frames = 0;
    };

    /** The fragment the reader is stuck at, in words. */
    const where = (): string => {
      const number = position.partial?.number;
      if (number !== undefined) return `fragment ${number}`;
      return position.lastCompleted === null ? "the first fragment" : `the fragment after ${position.lastCompleted}`;
    };

    const run = async () => {
      let failures = 0;
      let corrupt = 0;
      while (!stop.signal.aborted) {
        let delivered = 0;
        const progress = () => delivered++;
        const from = startFrom();
        try {
          status?.({ type: "connecting", from, attempt: failures + 1 });
          const trailing = await connect(from, progress);
          discardCut("the response ended inside the fragment");
          if (delivered === 0 && trailing > 0 && !stop.signal.aborted) {
            // Bytes that made no fragment, and the response ended cleanly: read again, the same bytes may
            // come (garbage stored in a fragment), so this counts as a failed attempt, not as progress.
            throw new KvsServiceError("CORRUPT_MEDIA", "GetMedia", `the response ended ${trailing} bytes into ${where()} without completing it`, {
              fragmentNumber: position.partial?.number ?? null,
            });
          }
          failures = 0;
          corrupt = 0;
          status?.({ type: "ended", fragments: delivered });
        } catch (caught) {
          if (stop.signal.aborted) break;
          discardCut(caught instanceof Error ? caught.message : String(caught));
          if (delivered > 0) {
            failures = 0;
            corrupt = 0;
          }
          let e = caught;
          try {
            // FRAGMENT_NUMBER read as "after": fetch the fragment the reader must start with.
            if (e instanceof MissedStartFragment) {
              await readList([e.wanted], progress);
              continue;
            }
            if (e instanceof BehindNow) {
              await catchUp(progress);
              continue;
            }
          } catch (inner) {
            if (stop.signal.aborted) break;
            if (e instanceof BehindNow) {
              // Catch-up is an optimisation: GetMedia goes on from the last fragment read; without the
              // rights for ListFragments / GetMediaForFragmentList, it goes on alone.
              if (!(inner instanceof FragmentUnavailable) && !toKvsServiceError(inner, "GetMediaForFragmentList").retryable) catchUpEnabled = false;
              catchUpCooldownUntil = performance.now() + 10_000;
              continue;
            }
            if (inner instanceof FragmentUnavailable) {
              throw new KvsServiceError("MEDIA_ERROR", "GetMediaForFragmentList", inner.message, {
                cause: inner,
                retryable: false,
                action: "the fragment to start at is not in the stream (expired?): start from EARLIEST, NOW or a timestamp",
              });
            }
            e = inner;
          }
          const err = toKvsServiceError(e, "GetMedia");
          if (!err.retryable) throw err;
          if (err.code === "CORRUPT_MEDIA" && ++corrupt >= maxCorrupt) {
            const number = position.partial?.number ?? null;
            if (options.onCorruptFragment === "skip" && number !== null) {
              // Give up on this fragment: say so, and go on after it.
              subscriber.next({ type: "fragmentSkipped", fragmentNumber: number, after: position.lastCompleted, attempts: corrupt, reason: err.message });
              position.lastCompleted = number;
              position.continuationToken = number;
              position.partial = null;
              position.startAt = null;
              corrupt = 0;
              failures = 0;
              continue;
            }
            throw new KvsServiceError("CORRUPT_MEDIA", "GetMedia", `${corrupt} connections in a row could not read ${where()}: ${err.message}`, {
              cause: err,
              retryable: false,
              fragmentNumber: number,
              action:
                options.onCorruptFragment === "skip"
                  ? "the fragment's number was never read, so it cannot be skipped: inspect the stream, or start after it with a timestamp"
                  : 'the stream\'s media is malformed at this fragment: inspect it, or read with onCorruptFragment: "skip" to go on after it',
            });
          }
          failures++;
          if (retry.maxAttempts !== undefined && failures >= retry.maxAttempts) throw err;
          if (failures >= refreshAfter || err.code === "INVALID_ENDPOINT") clients.invalidateEndpoint(stream, "GET_MEDIA");
          const limited = err.code === "CONNECTION_LIMIT_EXCEEDED" || err.code === "CLIENT_LIMIT_EXCEEDED" || err.code === "THROTTLING";
          const delayMs = backoffDelay(failures, retry, limited, options.random);
          status?.({ type: "retrying", error: err, attempt: failures, delayMs });
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
