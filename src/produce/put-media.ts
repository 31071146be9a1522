import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { SignatureV4 } from "@smithy/signature-v4";
import { NodeSha256 } from "../aws/sha256.js";
import { Observable } from "rxjs";
import { linkedAbort } from "../aws/abort.js";
import { backoffDelay, sleep, type RetryPolicy } from "../aws/backoff.js";
import { streamParams, type KvsClients, type StreamRef } from "../aws/clients.js";
import { KvsServiceError, toKvsServiceError } from "../aws/errors.js";
import { asError } from "../ebml/kvs-parser-error.js";
import { AckParser, ackError, type PutMediaAck, PutMediaError } from "./acks.js";
import type { ProducerFragment } from "./fragmenter.js";

/** What an upload sends: its header (EBML header, Segment, Info, Tracks) and its fragments, as they are made. */
export interface PutMediaSource {
  /** Called once the first fragment is ready (the tracks are known by then). */
  header(): Uint8Array;
  readonly fragments: AsyncIterable<ProducerFragment> | Iterable<ProducerFragment>;
}

/** Options of {@link putMedia}. */
export interface PutMediaOptions {
  /** As the fragments were written (default ABSOLUTE). */
  readonly timecodeType?: "ABSOLUTE" | "RELATIVE";
  /** x-amzn-producer-start-timestamp, epoch ms (RELATIVE: what cluster timecodes count from; default now). */
  readonly producerStartMs?: number | (() => number | null);
  /** Reconnect when fragments were sent but no acknowledgement came for this long (default 5000 ms, as the producer SDKs). */
  readonly connectionStalenessMs?: number;
  /** Bytes of fragments held until PERSISTED; past it the source waits (default 64 MiB). */
  readonly maxBufferBytes?: number;
  /**
   * When the buffer is full: "wait" (default) holds the source back (a file, code); "dropOldest" drops the
   * oldest fragments not yet sent, counted in the stats (a live source that cannot wait, such as ffmpeg).
   */
  readonly onBufferFull?: "wait" | "dropOldest";
  /**
   * A connection older than this takes no new fragment: it ends once what it sent is acknowledged, and a
   * new one goes on (default 40 min: the service ends connections at 45, the producer SDKs rotate before).
   */
  readonly maxConnectionMs?: number;
  /** Backoff between connections; `maxAttempts` counts failures in a row without a fragment persisted. */
  readonly retry?: RetryPolicy;
  /** Fragments to wait for before ending when the source is done: all PERSISTED (default true). */
  readonly waitForPersisted?: boolean;
  /** Stops the upload (what was sent is left to the service; the Observable completes). */
  readonly signal?: AbortSignal;
  /** Source of randomness for jitter (tests). */
  readonly random?: () => number;
}

/** What an upload does, as events: every acknowledgement, and its connections. */
export type PutMediaEvent =
  | PutMediaAck
  | { readonly type: "connected"; readonly attempt: number; readonly endpoint: string; readonly replaying: number }
  | { readonly type: "retrying"; readonly error: Error; readonly attempt: number; readonly delayMs: number }
  | { readonly type: "done"; readonly stats: PutMediaStats };

/** Counts of an upload. */
export interface PutMediaStats {
  readonly fragmentsSent: number;
  readonly fragmentsPersisted: number;
  /** Fragments sent again after a reconnect that the service had already RECEIVED: it may store them twice. */
  readonly duplicates: number;
  /** Fragments dropped unsent because the buffer was full (onBufferFull: "dropOldest"). */
  readonly dropped: number;
  readonly connections: number;
  readonly bytesSent: number;
}

interface Held {
  readonly fragment: ProducerFragment;
  sent: boolean;
  received: boolean;
}

/**
 * PutMedia: uploads fragments to a stream over one long chunked POST to the data endpoint
 * (GetDataEndpoint PUT_MEDIA), SigV4-signed for `kinesisvideo` with the SDK's signer and the clients'
 * credentials, and emits the service's acknowledgements as they arrive (BUFFERING, RECEIVED,
 * PERSISTED, ERROR, IDLE). Fragments are held until PERSISTED (up to `maxBufferBytes`; the source then
 * waits); on a reset, a stale connection (no acknowledgement for `connectionStalenessMs`), a retryable
 * ERROR or the service ending the connection, it reconnects with backoff and sends again from the first
 * fragment not persisted, counting the resent ones the service had already received as duplicates.
 * Non-retryable errors (4001 too big, 4002 too long, 4004 timecode going back, 4006 bad MKV, 4008 no
 * stream, KMS) end it with a PutMediaError naming the fragment; a second producer on the stream gets the
 * service's error. Completes (after a `done` event) when the source is done and every fragment persisted.
 */
export function putMedia(clients: KvsClients, stream: StreamRef, source: PutMediaSource, options: PutMediaOptions = {}): Observable<PutMediaEvent> {
  return new Observable<PutMediaEvent>((subscriber) => {
    const stop = linkedAbort(options.signal);
    const staleMs = options.connectionStalenessMs ?? 5000;
    const maxBuffer = options.maxBufferBytes ?? 64 * 1024 * 1024;
    const retry = options.retry ?? {};
    const held: Held[] = [];
    let heldBytes = 0;
    let header: Uint8Array | null = null;
    let sourceDone = false;
    let sourceError: unknown = null;
    const stats = { fragmentsSent: 0, fragmentsPersisted: 0, duplicates: 0, dropped: 0, connections: 0, bytesSent: 0 };
    /** Wakes whoever waits for a change: a new fragment, an acknowledgement, the end of the source. */
    let wake: (() => void) | null = null;
    const poke = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    const changed = () => new Promise<void>((resolve) => (wake = resolve));

    // Pulls fragments from the source into the buffer while there is room.
    const pull = (async () => {
      const it = (
        Symbol.asyncIterator in source.fragments
          ? (source.fragments as AsyncIterable<ProducerFragment>)[Symbol.asyncIterator]()
          : (source.fragments as Iterable<ProducerFragment>)[Symbol.iterator]()
      ) as AsyncIterator<ProducerFragment> | Iterator<ProducerFragment>;
      for (;;) {
        while (heldBytes >= maxBuffer && held.length > 0 && !stop.signal.aborted) {
          const unsent = options.onBufferFull === "dropOldest" ? held.findIndex((h) => !h.sent) : -1;
          if (unsent < 0) {
            await changed();
            continue;
          }
          heldBytes -= held.splice(unsent, 1)[0]!.fragment.bytes.length;
          stats.dropped++;
        }
        if (stop.signal.aborted) return;
        const next = await it.next();
        if (next.done) break;
        header ??= source.header();
        held.push({ fragment: next.value, sent: false, received: false });
        heldBytes += next.value.bytes.length;
        poke();
      }
    })().then(
      () => {
        sourceDone = true;
        poke();
      },
      (e: unknown) => {
        sourceError = e;
        sourceDone = true;
        poke();
      },
    );

    const startMs = () => {
      const p = typeof options.producerStartMs === "function" ? options.producerStartMs() : options.producerStartMs;
      return p ?? Date.now();
    };

    /** One PutMedia connection: sends what is held and what comes, reads acknowledgements; resolves when it ends. */
    const connect = async (attempt: number): Promise<"done" | Error> => {
      const endpoint = await clients.dataEndpoint(stream, "PUT_MEDIA", stop.signal);
      const { credentials, region } = await clients.signing();
      const url = new URL("/putMedia", endpoint);
      const params = streamParams(stream);
      const headers: Record<string, string> = {
        host: url.host,
        "x-amzn-fragment-timecode-type": options.timecodeType ?? "ABSOLUTE",
        "x-amzn-producer-start-timestamp": (startMs() / 1000).toFixed(3),
        "x-amzn-fragment-acknowledgment-required": "1",
        "transfer-encoding": "chunked",
        "user-agent": "kvs-parser",
      };
      if (params.StreamARN) headers["x-amzn-stream-arn"] = params.StreamARN;
      else headers["x-amzn-stream-name"] = params.StreamName!;
      const signer = new SignatureV4({ credentials, region, service: "kinesisvideo", sha256: NodeSha256 });
      // The body streams: signed as an empty payload, as the producer SDKs do.
      const signed = await signer.sign({
        method: "POST",
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path: url.pathname,
        query: {},
        headers,
      });
      stats.connections++;
      const replaying = held.filter((h) => h.sent).length;
      for (const h of held) {
        if (h.sent && h.received) stats.duplicates++;
        h.sent = false;
        h.received = false;
      }
      const send = url.protocol === "https:" ? httpsRequest : httpRequest;
      return await new Promise<"done" | Error>((resolve) => {
        let settled = false;
        const openedAt = performance.now();
        let rotating = false;
        let req: ClientRequest;
        let lastAck = performance.now();
        let staleTimer: ReturnType<typeof setInterval> | null = null;
        const finish = (r: "done" | Error) => {
          if (settled) return;
          settled = true;
          if (staleTimer) clearInterval(staleTimer);
          stop.signal.removeEventListener("abort", onAbort);
          if (r !== "done") req.destroy();
          poke();
          resolve(r);
        };
        const onAbort = () => finish("done");
        stop.signal.addEventListener("abort", onAbort, { once: true });
        req = send(
          { method: "POST", hostname: url.hostname, port: url.port || undefined, path: url.pathname, headers: signed.headers as Record<string, string> },
          (res: IncomingMessage) => {
            if ((res.statusCode ?? 0) !== 200) {
              let body = "";
              res.on("data", (d: Buffer) => (body += d.toString()));
              res.on("end", () => finish(httpError(res, body)));
              return;
            }
            subscriber.next({ type: "connected", attempt, endpoint, replaying });
            const parser = new AckParser();
            res.on("data", (d: Buffer) => {
              let acks: PutMediaAck[];
              try {
                acks = parser.push(d);
              } catch (e) {
                finish(e as Error);
                return;
              }
              for (const ack of acks) {
                lastAck = performance.now();
                if (ack.event === "RECEIVED" || ack.event === "PERSISTED") {
                  const i = held.findIndex((h) => h.fragment.timecodeMs === ack.fragmentTimecode);
                  if (i >= 0 && ack.event === "RECEIVED") held[i]!.received = true;
                  if (i >= 0 && ack.event === "PERSISTED") {
                    // Persisted: no longer needed for a replay (with everything before it).
                    for (const h of held.splice(0, i + 1)) heldBytes -= h.fragment.bytes.length;
                    stats.fragmentsPersisted++;
                  }
                }
                subscriber.next(ack);
                if (ack.event === "ERROR") {
                  finish(ackError(ack));
                  return;
                }
              }
              poke();
            });
            res.on("end", () =>
              finish(
                rotating || (held.length === 0 && sourceDone)
                  ? "done"
                  : new PutMediaError("CONNECTION_ENDED", "the service ended the upload", { retryable: true, action: "reconnect" }),
              ),
            );
            res.on("error", (e) => finish(toKvsServiceError(e, "PutMedia")));
          },
        );
        req.on("error", (e) => finish(toKvsServiceError(e, "PutMedia")));
        req.flushHeaders(); // the connection is the stream's from now on, before any fragment is ready
        staleTimer = setInterval(
          () => {
            if (held.some((h) => h.sent) && performance.now() - lastAck > staleMs)
              finish(new PutMediaError("CONNECTION_STALE", `no acknowledgement for ${staleMs} ms`, { retryable: true, action: "reconnect and send again" }));
          },
          Math.min(500, staleMs),
        );
        // The writer: the header, then every fragment held and not yet sent on this connection, as they come.
        void (async () => {
          while (header === null && !sourceDone && !settled) await changed();
          if (settled) return;
          if (header === null) {
            // Nothing to send at all.
            req.end();
            return;
          }
          req.write(header);
          stats.bytesSent += header.length;
          for (;;) {
            if (settled) return;
            if (performance.now() - openedAt > (options.maxConnectionMs ?? 40 * 60_000)) {
              // Old enough: no new fragment on it; it ends once the service has acknowledged what it has.
              rotating = true;
              req.end();
              return;
            }
            const next = held.find((h) => !h.sent);
            if (next) {
              next.sent = true;
              stats.fragmentsSent++;
              stats.bytesSent += next.fragment.bytes.length;
              if (!req.write(next.fragment.bytes)) await new Promise<void>((r) => req.once("drain", () => r()));
              continue;
            }
            if (sourceDone && (held.length === 0 || options.waitForPersisted === false)) {
              req.end();
              return;
            }
            await changed();
          }
        })();
      });
    };

    const run = async () => {
      let failures = 0;
      let attempt = 0;
      while (!stop.signal.aborted) {
        attempt++;
        const persistedBefore = stats.fragmentsPersisted;
        let outcome: "done" | Error;
        try {
          outcome = await connect(attempt);
        } catch (e) {
          outcome = asError(e);
        }
        if (sourceError !== null) throw sourceError;
        if (outcome === "done") {
          if (stop.signal.aborted || (sourceDone && held.length === 0)) return;
          continue;
        }
        // A second producer on the stream is refused at once (one PutMedia connection per stream), not a fight.
        const secondProducer = attempt === 1 && outcome instanceof KvsServiceError && outcome.code === "CONNECTION_LIMIT_EXCEEDED";
        const retryable = !secondProducer && (outcome instanceof PutMediaError || outcome instanceof KvsServiceError) && outcome.retryable;
        if (!retryable) throw outcome;
        failures = stats.fragmentsPersisted > persistedBefore ? 1 : failures + 1;
        if (retry.maxAttempts !== undefined && failures >= retry.maxAttempts) throw outcome;
        const limited = outcome instanceof KvsServiceError && (outcome.code === "CONNECTION_LIMIT_EXCEEDED" || outcome.code === "CLIENT_LIMIT_EXCEEDED");
        const delayMs = backoffDelay(failures, retry, limited, options.random);
        subscriber.next({ type: "retrying", error: outcome, attempt: failures, delayMs });
        if (failures >= 3) clients.invalidateEndpoint(stream, "PUT_MEDIA");
        await sleep(delayMs, stop.signal);
      }
    };
    run().then(
      () => {
        subscriber.next({ type: "done", stats: { ...stats } });
        subscriber.complete();
      },
      (e: unknown) => subscriber.error(e),
    );
    return () => {
      stop.abort();
      poke();
      void pull;
    };
  });
}

/** A PutMedia call the service refused before any acknowledgement (4xx/5xx with the error type in a header). */
function httpError(res: IncomingMessage, body: string): KvsServiceError {
  // No type: toKvsServiceError goes by the status (SERVICE_ERROR for a 5xx, THROTTLING for 429, else UNKNOWN).
  const type = String(res.headers["x-amzn-errortype"] ?? "").split(":")[0];
  let message = body.slice(0, 300);
  try {
    const parsed = JSON.parse(body) as { message?: string; Message?: string };
    message = parsed.message ?? parsed.Message ?? message;
  } catch {
    // Not JSON: the body as it is.
  }
  // The HTTP answer in the shape of an SDK exception (name, message, $metadata), mapped like one.
  const err = toKvsServiceError({ name: type, message, $metadata: { httpStatusCode: res.statusCode } }, "PutMedia");
  if (err.code !== "CONNECTION_LIMIT_EXCEEDED") return err;
  return new KvsServiceError(err.code, "PutMedia", message, {
    cause: err,
    statusCode: res.statusCode,
    serviceCode: err.serviceCode,
    action: "a stream takes one PutMedia connection: another producer is uploading to it (or this one's last connection is closing)",
  });
}
