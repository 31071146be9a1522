import { GetMediaCommand, type StartSelector } from "@aws-sdk/client-kinesis-video-media";
import { Observable } from "rxjs";
import { KvsParser, type KvsEvent, type KvsParserOptions } from "../kvs/parser.js";
import { KvsTag } from "../kvs/tags.js";
import { linkedAbort } from "./abort.js";
import { streamKey, streamParams, type KvsClients, type StreamRef } from "./clients.js";
import { KvsServiceError, mediaError, toKvsServiceError } from "./errors.js";
import type { PacerWait } from "./pacer.js";
import { heldReader } from "../rx/demand.js";
import type { ReadGate } from "../rx/read-gate.js";
import { chunksOf } from "../rx/readable-chunks.js";

/**
 * Where GetMedia starts (the service's StartSelector, with typed fields).
 *
 * FRAGMENT_NUMBER: the API reference says GetMedia starts "with the chunk after" the fragment, the
 * field's own documentation (and Amazon Connect's use) that it starts at it. kvs-parser's readers are
 * correct under both: liveMedia() delivers the named fragment first either way (fetching it with
 * GetMediaForFragmentList if the service skipped it), and resumes after a checkpoint by dropping a
 * repeated fragment.
 */
export type StartFrom =
  | "NOW"
  | "EARLIEST"
  | { readonly type: "NOW" }
  | { readonly type: "EARLIEST" }
  /** Starts AT this fragment (see above). */
  | { readonly type: "FRAGMENT_NUMBER"; readonly fragmentNumber: string }
  /** Starts with the fragment holding this timestamp. */
  | { readonly type: "SERVER_TIMESTAMP"; readonly timestamp: Date }
  | { readonly type: "PRODUCER_TIMESTAMP"; readonly timestamp: Date }
  /** Starts AFTER the fragment whose CONTINUATION_TOKEN this is. */
  | { readonly type: "CONTINUATION_TOKEN"; readonly token: string };

/** The SDK StartSelector for a {@link StartFrom}. */
export function toStartSelector(from: StartFrom): StartSelector {
  const f = typeof from === "string" ? { type: from } : from;
  switch (f.type) {
    case "NOW":
    case "EARLIEST":
      return { StartSelectorType: f.type };
    case "FRAGMENT_NUMBER":
      return { StartSelectorType: "FRAGMENT_NUMBER", AfterFragmentNumber: f.fragmentNumber };
    case "SERVER_TIMESTAMP":
    case "PRODUCER_TIMESTAMP":
      return { StartSelectorType: f.type, StartTimestamp: f.timestamp };
    case "CONTINUATION_TOKEN":
      return { StartSelectorType: "CONTINUATION_TOKEN", ContinuationToken: f.token };
  }
}

/** Options of {@link getMedia}. */
export interface GetMediaOptions extends KvsParserOptions {
  /** Where the call starts (default NOW). */
  readonly from?: StartFrom;
  /** Abort the call when no byte arrived for this long (default 0: never). */
  readonly idleTimeoutMs?: number;
  /** Lets a slow consumer hold the reading back (TCP backpressure). */
  readonly gate?: ReadGate;
  /** Stops the call (the observable then completes). */
  readonly signal?: AbortSignal;
}

/** Bytes of an SDK streaming payload (a Node Readable on Node, a web stream elsewhere). */
export type Payload = AsyncIterable<Uint8Array> & { destroy?: (e?: Error) => void };

/** Options of {@link pumpGetMedia}. */
export interface PumpOptions {
  readonly from: StartFrom;
  /** Abort the response when no byte arrived for this long (0 or absent: never); paused while the gate holds. */
  readonly idleTimeoutMs?: number;
  /** Stops the call; the pump then resolves quietly. */
  readonly signal: AbortSignal;
  readonly gate?: ReadGate;
  /** Called once the response has started. */
  readonly onConnected?: () => void;
  /** Called when the call waits for the stream's call rate, a free open slot, or an answer (after slowOpenMs). */
  readonly onWait?: (wait: PacerWait) => void;
  /** Report a call still without an answer after this long (default 2000 ms). */
  readonly slowOpenMs?: number;
}

/**
 * Opens GetMedia (after the pacer allows it) and hands every body chunk to `onChunk` until the
 * response ends (resolves), the signal aborts (resolves), or it fails: KvsServiceError for the call or
 * the connection (IDLE_TIMEOUT when the watchdog fired), or whatever `onChunk` threw. Between chunks it
 * waits while the gate holds. The body is released in every case.
 */
export async function pumpGetMedia(clients: KvsClients, stream: StreamRef, options: PumpOptions, onChunk: (chunk: Uint8Array) => void): Promise<void> {
  const conn = linkedAbort(options.signal);
  const idleMs = options.idleTimeoutMs ?? 0;
  let payload: Payload | undefined;
  let idle: ReturnType<typeof setTimeout> | undefined;
  let idleError: KvsServiceError | undefined;
  let chunkError: { error: unknown } | undefined;
  const arm = () => {
    if (!idleMs) return;
    clearTimeout(idle);
    idle = setTimeout(() => {
      idleError = new KvsServiceError("IDLE_TIMEOUT", "GetMedia", `no data for ${idleMs} ms`);
      payload?.destroy?.(idleError);
      conn.abort(idleError);
    }, idleMs);
  };
  try {
    const release = await clients.pacer.acquire(streamKey(stream), conn.signal, options.onWait);
    try {
      const endpoint = await clients.dataEndpoint(stream, "GET_MEDIA", conn.signal);
      arm();
      const slowMs = options.slowOpenMs ?? 2000;
      const slow = options.onWait ? setTimeout(() => options.onWait?.({ reason: "response", waitMs: slowMs }), slowMs) : undefined;
      const out = await clients
        .mediaClient(endpoint)
        .send(new GetMediaCommand({ ...streamParams(stream), StartSelector: toStartSelector(options.from) }), { abortSignal: conn.signal })
        .finally(() => clearTimeout(slow));
      if (!out.Payload) throw new KvsServiceError("SERVICE_ERROR", "GetMedia", "response has no payload");
      payload = out.Payload as unknown as Payload;
    } finally {
      release();
    }
    options.onConnected?.();
    const gate = options.gate;
    for await (const chunk of chunksOf(payload)) {
      if (options.signal.aborted) return;
      arm();
      try {
        onChunk(chunk);
      } catch (e) {
        chunkError = { error: e };
        throw e;
      }
      const wait = gate?.wait() ?? null;
      if (wait !== null) {
        clearTimeout(idle); // waiting on our consumer is not the service's silence
        await wait;
        if (options.signal.aborted) return;
        arm();
      }
    }
  } catch (e) {
    if (chunkError) throw chunkError.error;
    if (options.signal.aborted) return;
    throw idleError ?? toKvsServiceError(e, "GetMedia");
  } finally {
    clearTimeout(idle);
    payload?.destroy?.();
    conn.abort();
  }
}

/** The error a `tags` event carries when the service reports a failure inside the media, else null. */
export function inStreamError(ev: KvsEvent, operation: string): KvsServiceError | null {
  if (ev.type !== "tags") return null;
  let code: string | null = null;
  let id: string | null = null;
  for (const tag of ev.tags) {
    for (const st of tag.simpleTags) {
      if (st.name === KvsTag.ErrorCode) code = st.value ?? "";
      else if (st.name === KvsTag.ErrorId) id = st.value ?? "";
    }
  }
  return code === null && id === null ? null : mediaError(operation, code, id);
}

/**
 * One GetMedia call as an Observable of events: completes when the service ends the response (it does
 * after ~3 s without new fragments) or `signal` aborts; errors with {@link KvsServiceError} (including an
 * error the service reports inside the body, as MEDIA_ERROR) or MkvParseError. For a reader that
 * reconnects and never loses or repeats a fragment, use liveMedia().
 */
export function getMedia(clients: KvsClients, stream: StreamRef, options: GetMediaOptions = {}): Observable<KvsEvent> {
  return heldReader(options, (options) => getMediaWith(clients, stream, options));
}

function getMediaWith(clients: KvsClients, stream: StreamRef, options: GetMediaOptions): Observable<KvsEvent> {
  return new Observable<KvsEvent>((subscriber) => {
    const abort = linkedAbort(options.signal);
    const parser = new KvsParser(
      (ev) => {
        const failure = inStreamError(ev, "GetMedia");
        if (failure) throw failure;
        subscriber.next(ev);
      },
      { ...options, documentStream: true },
    );
    pumpGetMedia(clients, stream, { from: options.from ?? "NOW", idleTimeoutMs: options.idleTimeoutMs, gate: options.gate, signal: abort.signal }, (chunk) =>
      parser.push(chunk),
    ).then(
      () => {
        if (subscriber.closed) return;
        if (!abort.signal.aborted) parser.end();
        subscriber.complete();
      },
      (e: unknown) => subscriber.error(e),
    );
    return () => abort.abort();
  });
}
