import { filter, Observable, type OperatorFunction } from "rxjs";
import { KvsParser, type KvsEvent, type KvsParserOptions } from "../kvs/parser.js";
import type { FragmentEvent } from "../kvs/fragment.js";
import type { Frame } from "../matroska/frame.js";
import { pumpOf, type ByteSource } from "./source.js";

/** Options of {@link parseMkv}. */
export interface ParseOptions extends KvsParserOptions {
  /** Size of the views a whole-buffer source is fed in (default 64 KiB); other sources keep their chunks. */
  sliceSize?: number;
}

/**
 * Parses a byte source (Uint8Array, Node Readable, web ReadableStream, (async) iterable or Observable of
 * chunks) into KVS/Matroska events. Cold: each subscription reads the source once; unsubscribing stops
 * reading and releases the source. Errors arrive as MkvParseError (with byte offset) or the source's error.
 */
export function parseMkv(source: ByteSource, options: ParseOptions = {}): Observable<KvsEvent> {
  return new Observable<KvsEvent>((subscriber) => {
    const parser = new KvsParser((ev) => subscriber.next(ev), options);
    let pump: ReturnType<typeof pumpOf>;
    try {
      pump = pumpOf(source, options.sliceSize ?? 65536);
    } catch (e) {
      subscriber.error(e);
      return;
    }
    const isClosed = () => subscriber.closed;
    const finish = () => {
      if (subscriber.closed) return;
      try {
        parser.end();
        subscriber.complete();
      } catch (e) {
        subscriber.error(e);
      }
    };
    try {
      const ran = pump.run((chunk) => parser.push(chunk), isClosed);
      if (ran instanceof Promise) ran.then(finish, (e: unknown) => subscriber.error(e));
      else finish();
    } catch (e) {
      subscriber.error(e);
    }
    return () => pump.stop();
  });
}

/** Keeps only Frame events. */
export function frames(): OperatorFunction<KvsEvent, Frame> {
  return filter((ev: KvsEvent): ev is Frame => ev.type === "frame");
}

/** Keeps only Fragment events. */
export function fragments(): OperatorFunction<KvsEvent, FragmentEvent> {
  return filter((ev: KvsEvent): ev is FragmentEvent => ev.type === "fragment");
}

/** A fragment with the frames it holds (views into the stream's chunks; see Frame.copy). */
export interface FragmentWithFrames {
  readonly fragment: FragmentEvent;
  readonly frames: readonly Frame[];
}

/** Groups frames with their fragment: one item per `fragment` event, holding its frames. */
export function withFrames(): OperatorFunction<KvsEvent, FragmentWithFrames> {
  return (source) =>
    new Observable<FragmentWithFrames>((subscriber) => {
      let frames: Frame[] = [];
      return source.subscribe({
        next(ev) {
          if (ev.type === "frame") frames.push(ev);
          else if (ev.type === "fragment") {
            const mine = frames;
            frames = [];
            subscriber.next({ fragment: ev, frames: mine });
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}
