import { GetMediaCommand, type StartSelector } from "@aws-sdk/client-kinesis-video-media";
import { Observable } from "rxjs";
import { KvsParser, type KvsEvent, type KvsParserOptions } from "../kvs/parser.js";
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

/**
 * One GetMedia call as an Observable of events: completes when the service ends the response (it does
 * after ~3 s without new fragments), errors with {@link KvsServiceError} or MkvParseError. For a reader
 * that reconnects and never loses or repeats a fragment, use liveMedia().
 */
export function getMedia(clients: KvsClients, stream: StreamRef, from: StartFrom, options: GetMediaOptions = {}): Observable<KvsEvent> {
  return new Observable<KvsEvent>((subscriber) => {
    const abort = new AbortController();
    const onAbort = () => abort.abort(options.signal?.reason);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    let payload: Payload | undefined;
    let idle: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      if (!options.idleTimeoutMs) return;
      clearTimeout(idle);
      idle = setTimeout(() => {
        const err = new KvsServiceError("IdleTimeout", "GetMedia", `no data for ${options.idleTimeoutMs} ms`);
        payload?.destroy?.(err);
        abort.abort(err);
        subscriber.error(err);
      }, options.idleTimeoutMs);
    };
    (async () => {
      arm();
      payload = await openGetMedia(clients, stream, from, abort.signal);
      const parser = new KvsParser((ev) => subscriber.next(ev), options);
      try {
        for await (const chunk of payload) {
          if (subscriber.closed) return;
          arm();
          parser.push(chunk);
        }
      } catch (e) {
        if (subscriber.closed) return;
        throw toKvsServiceError(e, "GetMedia");
      }
      parser.end();
    })().then(
      () => subscriber.complete(),
      (e: unknown) => subscriber.error(e),
    );
    return () => {
      clearTimeout(idle);
      options.signal?.removeEventListener("abort", onAbort);
      payload?.destroy?.();
      abort.abort();
    };
  });
}
