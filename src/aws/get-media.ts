import { GetMediaCommand, type StartSelector } from "@aws-sdk/client-kinesis-video-media";
import { Observable } from "rxjs";
import { KvsParser, type KvsEvent, type KvsParserOptions } from "../kvs/parser.js";
import { linkedAbort } from "./abort.js";
import { streamParams, type KvsClients, type StreamRef } from "./clients.js";
import { KvsServiceError, toKvsServiceError } from "./errors.js";

/** Where GetMedia starts (the service's StartSelector, with typed fields). */
export type StartFrom =
  | "NOW"
  | "EARLIEST"
  | { readonly type: "NOW" }
  | { readonly type: "EARLIEST" }
  /** Starts AT this fragment. */
  | { readonly type: "FRAGMENT_NUMBER"; readonly fragmentNumber: string }
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

/** Options of one GetMedia call. */
export interface GetMediaOptions extends KvsParserOptions {
  /** Abort the call when no byte arrived for this long (default 0: never). */
  idleTimeoutMs?: number;
  /** Stops the call. */
  signal?: AbortSignal;
}

/** Bytes of an SDK streaming payload (a Node Readable on Node, a web stream elsewhere). */
export type Payload = AsyncIterable<Uint8Array> & { destroy?: (e?: Error) => void };

/** Opens GetMedia and resolves to its body; errors are {@link KvsServiceError}. */
export async function openGetMedia(clients: KvsClients, stream: StreamRef, from: StartFrom, signal: AbortSignal): Promise<Payload> {
  const endpoint = await clients.dataEndpoint(stream, "GET_MEDIA", signal);
  try {
    const out = await clients.mediaClient(endpoint).send(new GetMediaCommand({ ...streamParams(stream), StartSelector: toStartSelector(from) }), { abortSignal: signal });
    if (!out.Payload) throw new KvsServiceError("ServiceError", "GetMedia", "response has no payload");
    return out.Payload as unknown as Payload;
  } catch (e) {
    throw toKvsServiceError(e, "GetMedia");
  }
}

/** Options of {@link pumpGetMedia}. */
export interface PumpOptions {
  /** Abort the response when no byte arrived for this long (0 or absent: never). */
  readonly idleTimeoutMs?: number;
  /** Stops the call; the pump then resolves quietly. */
  readonly signal: AbortSignal;
  /** Called once the response has started. */
  readonly onConnected?: () => void;
}

/**
 * Opens GetMedia and hands every body chunk to `onChunk` until the response ends (resolves), the signal
 * aborts (resolves), or it fails: KvsServiceError for the call or the connection (IdleTimeout when the
 * watchdog fired), or whatever `onChunk` threw (e.g. MkvParseError). The body is released in every case.
 */
export async function pumpGetMedia(clients: KvsClients, stream: StreamRef, from: StartFrom, options: PumpOptions, onChunk: (chunk: Uint8Array) => void): Promise<void> {
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
      idleError = new KvsServiceError("IdleTimeout", "GetMedia", `no data for ${idleMs} ms`);
      payload?.destroy?.(idleError);
      conn.abort(idleError);
    }, idleMs);
  };
  try {
    arm();
    payload = await openGetMedia(clients, stream, from, conn.signal);
    options.onConnected?.();
    for await (const chunk of payload) {
      if (options.signal.aborted) return;
      arm();
      try {
        onChunk(chunk);
      } catch (e) {
        chunkError = { error: e };
        throw e;
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

/**
 * One GetMedia call as an Observable of events: completes when the service ends the response (it does
 * after ~3 s without new fragments) or `signal` aborts, errors with {@link KvsServiceError} or
 * MkvParseError. For a reader that reconnects and never loses or repeats a fragment, use liveMedia().
 */
export function getMedia(clients: KvsClients, stream: StreamRef, from: StartFrom, options: GetMediaOptions = {}): Observable<KvsEvent> {
  return new Observable<KvsEvent>((subscriber) => {
    const abort = linkedAbort(options.signal);
    const parser = new KvsParser((ev) => subscriber.next(ev), options);
    pumpGetMedia(clients, stream, from, { idleTimeoutMs: options.idleTimeoutMs, signal: abort.signal }, (chunk) => parser.push(chunk)).then(
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
