import { GetMediaForFragmentListCommand, ListFragmentsCommand, type Fragment as SdkFragment } from "@aws-sdk/client-kinesis-video-archived-media";
import { concatMap, defer, from, Observable } from "rxjs";
import type { MissingFragmentEvent } from "../kvs/fragment.js";
import { compareFragmentNumbers } from "../kvs/fragment-number.js";
import { KvsParser, type KvsEvent, type KvsParserOptions } from "../kvs/parser.js";
import { linkedAbort } from "./abort.js";
import { sleep } from "./backoff.js";
import { streamParams, type KvsClients, type StreamRef } from "./clients.js";
import { KvsServiceError, toKvsServiceError } from "./errors.js";
import type { Payload } from "./get-media.js";
import { heldReader } from "../rx/demand.js";
import type { ReadGate } from "../rx/read-gate.js";
import { chunksOf } from "../rx/readable-chunks.js";

/** One archived fragment, as ListFragments describes it. */
export interface FragmentInfo {
  readonly fragmentNumber: string;
  readonly sizeBytes: number;
  readonly producerTimestamp: Date;
  readonly serverTimestamp: Date;
  readonly lengthMs: number;
}

/** A time range over server or producer timestamps. */
export interface TimeRange {
  readonly start: Date;
  readonly end: Date;
  /** Which timestamps the range is over (default SERVER_TIMESTAMP). */
  readonly timestampType?: "SERVER_TIMESTAMP" | "PRODUCER_TIMESTAMP";
}

export type { MissingFragmentEvent };

/** Events of the archive readers: the parser's, and a `missingFragment` for a fragment the service did not return. */
export type ArchiveEvent = KvsEvent | MissingFragmentEvent;

function toInfo(f: SdkFragment): FragmentInfo {
  return {
    fragmentNumber: f.FragmentNumber ?? "",
    sizeBytes: f.FragmentSizeInBytes ?? 0,
    producerTimestamp: f.ProducerTimestamp ?? new Date(0),
    serverTimestamp: f.ServerTimestamp ?? new Date(0),
    lengthMs: f.FragmentLengthInMilliseconds ?? 0,
  };
}

/** Options of {@link listFragments}. */
export interface ListFragmentsOptions {
  /** The time range to list. */
  readonly range: TimeRange;
  /** Fragments per ListFragments page (1 to 1000, default 1000). */
  readonly pageSize?: number;
  readonly signal?: AbortSignal;
}

/**
 * Lists the fragments in a time range, following every page, sorted by fragment number (the service
 * returns them in no particular order). Errors are {@link KvsServiceError}.
 */
export async function listFragments(clients: KvsClients, stream: StreamRef, options: ListFragmentsOptions): Promise<FragmentInfo[]> {
  options.signal?.throwIfAborted();
  const { range } = options;
  const endpoint = await clients.dataEndpoint(stream, "LIST_FRAGMENTS", options.signal);
  const client = clients.archivedClient(endpoint);
  const out: FragmentInfo[] = [];
  let next: string | undefined;
  const seenTokens = new Set<string>();
  do {
    try {
      const page = await client.send(
        new ListFragmentsCommand({
          ...streamParams(stream),
          MaxResults: Math.min(1000, Math.max(1, Math.floor(options.pageSize ?? 1000))), // the service takes 1 to 1000
          NextToken: next,
          FragmentSelector: next
            ? undefined
            : { FragmentSelectorType: range.timestampType ?? "SERVER_TIMESTAMP", TimestampRange: { StartTimestamp: range.start, EndTimestamp: range.end } },
        }),
        { abortSignal: options.signal },
      );
      for (const f of page.Fragments ?? []) out.push(toInfo(f));
      next = page.NextToken || undefined;
    } catch (e) {
      throw toKvsServiceError(e, "ListFragments");
    }
    if (next !== undefined) {
      if (seenTokens.has(next)) throw new KvsServiceError("SERVICE_ERROR", "ListFragments", "the service repeated a NextToken");
      seenTokens.add(next);
    }
  } while (next !== undefined);
  const unique = new Map(out.map((f) => [f.fragmentNumber, f]));
  return [...unique.values()].sort((a, b) => compareFragmentNumbers(a.fragmentNumber, b.fragmentNumber));
}

/** Largest batch GetMediaForFragmentList accepts. */
export const MAX_FRAGMENTS_PER_CALL = 1000;

/** Options of {@link mediaForFragments}. */
export interface MediaForFragmentsOptions extends KvsParserOptions {
  /** The fragments to read, in the order wanted. */
  readonly fragments: readonly string[];
  /** Fragments per GetMediaForFragmentList call (1 to 1000, default 1000). */
  readonly batchSize?: number;
  /** Lets a slow consumer hold the reading back (TCP backpressure). */
  readonly gate?: ReadGate;
  readonly signal?: AbortSignal;
}

/**
 * Reads the media of the given fragments with GetMediaForFragmentList, in batches of at most 1000, in
 * the order given. A fragment the service cannot return arrives as a `fragment` event whose `error` is
 * set (its EXCEPTION tags); one that is absent altogether as a `missingFragment` event.
 */
export function mediaForFragments(clients: KvsClients, stream: StreamRef, options: MediaForFragmentsOptions): Observable<ArchiveEvent> {
  return heldReader(options, (options) => mediaForFragmentsWith(clients, stream, options));
}

function mediaForFragmentsWith(clients: KvsClients, stream: StreamRef, options: MediaForFragmentsOptions): Observable<ArchiveEvent> {
  const size = Math.min(MAX_FRAGMENTS_PER_CALL, Math.max(1, options.batchSize ?? MAX_FRAGMENTS_PER_CALL));
  const batches: string[][] = [];
  for (let i = 0; i < options.fragments.length; i += size) batches.push(options.fragments.slice(i, i + size));
  return from(batches).pipe(concatMap((batch) => mediaBatch(clients, stream, batch, options)));
}

/**
 * One GetMediaForFragmentList call: pushes every body chunk to `onChunk` (waiting while the gate holds)
 * until the body ends. Errors are KvsServiceError, or what `onChunk` threw.
 */
export async function pumpFragmentList(
  clients: KvsClients,
  stream: StreamRef,
  fragments: readonly string[],
  signal: AbortSignal,
  gate: ReadGate | undefined,
  onChunk: (chunk: Uint8Array) => void,
): Promise<void> {
  signal.throwIfAborted();
  const endpoint = await clients.dataEndpoint(stream, "GET_MEDIA_FOR_FRAGMENT_LIST", signal);
  let payload: Payload | undefined;
  let chunkError: { error: unknown } | undefined;
  try {
    const out = await clients
      .archivedClient(endpoint)
      .send(new GetMediaForFragmentListCommand({ ...streamParams(stream), Fragments: [...fragments] }), { abortSignal: signal });
    payload = out.Payload as unknown as Payload;
    if (!payload) throw new KvsServiceError("SERVICE_ERROR", "GetMediaForFragmentList", "response has no payload");
    for await (const chunk of chunksOf(payload)) {
      if (signal.aborted) return;
      try {
        onChunk(chunk);
      } catch (e) {
        chunkError = { error: e };
        throw e;
      }
      const wait = gate?.wait();
      if (wait !== null && wait !== undefined) await wait;
    }
  } catch (e) {
    if (chunkError) throw chunkError.error;
    if (signal.aborted) return;
    throw toKvsServiceError(e, "GetMediaForFragmentList");
  } finally {
    payload?.destroy?.();
  }
}

function mediaBatch(clients: KvsClients, stream: StreamRef, batch: readonly string[], options: MediaForFragmentsOptions): Observable<ArchiveEvent> {
  return new Observable<ArchiveEvent>((subscriber) => {
    const abort = linkedAbort(options.signal);
    const seen = new Set<string>();
    const parser = new KvsParser(
      (ev) => {
        if (ev.type === "fragment" && ev.fragmentNumber !== null) seen.add(ev.fragmentNumber);
        subscriber.next(ev);
      },
      { ...options, documentStream: true },
    );
    pumpFragmentList(clients, stream, batch, abort.signal, options.gate, (chunk) => parser.push(chunk))
      .then(() => {
        if (abort.signal.aborted) return;
        parser.end();
        for (const n of batch) {
          if (!seen.has(n)) subscriber.next({ type: "missingFragment", fragmentNumber: n, reason: "not in the GetMediaForFragmentList response" });
        }
      })
      .then(
        () => subscriber.complete(),
        (e: unknown) => (abort.signal.aborted ? subscriber.complete() : subscriber.error(e)),
      );
    return () => abort.abort();
  });
}

/** Options of {@link archivedMedia}. */
export interface ArchivedMediaOptions extends KvsParserOptions {
  readonly range: TimeRange;
  readonly gate?: ReadGate;
  readonly signal?: AbortSignal;
}

/** The archive reader: every fragment of a time range, in fragment-number order, with its frames. */
export function archivedMedia(clients: KvsClients, stream: StreamRef, options: ArchivedMediaOptions): Observable<ArchiveEvent> {
  return heldReader(options, (options) => archivedMediaWith(clients, stream, options));
}

function archivedMediaWith(clients: KvsClients, stream: StreamRef, options: ArchivedMediaOptions): Observable<ArchiveEvent> {
  return defer(() => (options.signal?.aborted ? Promise.resolve([]) : listFragments(clients, stream, { range: options.range, signal: options.signal }))).pipe(
    concatMap((list) => mediaForFragments(clients, stream, { ...options, fragments: list.map((f) => f.fragmentNumber) })),
  );
}

/** Options of {@link pollFragments}. */
export interface PollOptions {
  /** Start of the first poll's window (default: now). */
  readonly from?: Date;
  /** Time between polls (default 2000 ms). */
  readonly intervalMs?: number;
  /**
   * Only fragments older than this are emitted, so that ListFragments (eventually consistent, usually
   * within 1 s) has shown every fragment before them and order holds (default 1500 ms).
   */
  readonly settleMs?: number;
  /** Clock (tests). */
  readonly now?: () => number;
  readonly signal?: AbortSignal;
}

/**
 * The polling reader (the Java ContinuousListMediaWorker role): lists fragments every interval and
 * emits each new one once, in fragment-number order. Runs until unsubscribed or `signal` aborts.
 */
export function pollFragments(clients: KvsClients, stream: StreamRef, options: PollOptions = {}): Observable<FragmentInfo> {
  return new Observable<FragmentInfo>((subscriber) => {
    const stop = linkedAbort(options.signal);
    const now = options.now ?? Date.now;
    const interval = options.intervalMs ?? 2000;
    const settle = options.settleMs ?? 1500;
    let watermark = (options.from ?? new Date(now())).getTime();
    let last: string | null = null;
    (async () => {
      while (!stop.signal.aborted) {
        const until = now() - settle;
        if (until > watermark) {
          const list = await listFragments(clients, stream, { range: { start: new Date(watermark), end: new Date(until) }, signal: stop.signal });
          for (const f of list) {
            const t = f.serverTimestamp.getTime();
            if (t < watermark || t >= until) continue; // the range is inclusive at both ends on the service
            if (last !== null && compareFragmentNumbers(f.fragmentNumber, last) <= 0) continue;
            last = f.fragmentNumber;
            if (stop.signal.aborted) return;
            subscriber.next(f);
          }
          watermark = until;
        }
        await sleep(interval, stop.signal);
      }
    })().then(
      () => subscriber.complete(),
      (e: unknown) => (stop.signal.aborted ? subscriber.complete() : subscriber.error(e)),
    );
    return () => stop.abort();
  });
}

/** The polling media reader: new fragments found by {@link pollFragments}, with their media. */
export function pollMedia(clients: KvsClients, stream: StreamRef, options: PollOptions & KvsParserOptions = {}): Observable<ArchiveEvent> {
  return pollFragments(clients, stream, options).pipe(concatMap((f) => mediaForFragments(clients, stream, { ...options, fragments: [f.fragmentNumber] })));
}
