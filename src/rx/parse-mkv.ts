import type { Observable } from "rxjs";
import { ObservableClass } from "./rxjs-parts.js";
import { KvsParser, type KvsEvent, type KvsParserOptions } from "../kvs/parser.js";
import type { Frame } from "../matroska/frame.js";
import { heldReader } from "./demand.js";
import { withFramesOnly } from "./frames.js";
import type { ReadGate } from "./read-gate.js";
import { pumpOf, type ByteSource } from "./source.js";

/** Options of {@link parseMkv}. */
export interface ParseOptions extends KvsParserOptions {
  /** Size of the views a whole-buffer source is fed in (default 64 KiB); other sources keep their chunks. */
  sliceSize?: number;
  /** Lets a slow consumer (an image decoder, say) hold the reading back between chunks (not Observable sources). */
  gate?: ReadGate;
}

/**
 * Parses a byte source (Uint8Array, Node Readable, web ReadableStream, (async) iterable or Observable of
 * chunks) into KVS/Matroska events. Cold: each subscription reads the source once; unsubscribing stops
 * reading and releases the source. Errors arrive as MkvParseError (with byte offset) or the source's error.
 */
export function parseMkv(source: ByteSource, options: ParseOptions = {}): Observable<KvsEvent> {
  const events = heldReader(options, (options) => readWith<KvsEvent>(source, options, false));
  return withFramesOnly(events, () => heldReader(options, (options) => readWith<Frame>(source, options, true)));
}

/** Reads `source` into its events, or (framesOnly) into its frames alone. */
function readWith<T extends KvsEvent>(source: ByteSource, options: ParseOptions, framesOnly: boolean): Observable<T> {
  return new ObservableClass<T>((subscriber) => {
    const toFrames = (frame: Frame) => subscriber.next(frame as T);
    const parser = framesOnly ? new KvsParser(() => {}, options, toFrames) : new KvsParser((ev) => subscriber.next(ev as T), options);
    let pump: ReturnType<typeof pumpOf>;
    try {
      pump = pumpOf(source, options.sliceSize ?? 65536, options.gate);
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
