import { Observable } from "rxjs";
import { KvsParser, type KvsEvent, type KvsParserOptions } from "../kvs/parser.js";
import { heldReader } from "./demand.js";
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
  return heldReader(options, (options) => readWith(source, options));
}

function readWith(source: ByteSource, options: ParseOptions): Observable<KvsEvent> {
  return new Observable<KvsEvent>((subscriber) => {
    const parser = new KvsParser((ev) => subscriber.next(ev), options);
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
