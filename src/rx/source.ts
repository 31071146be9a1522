import type { Observable, Subscription } from "rxjs";
import { ObservableClass } from "./rxjs-parts.js";
import type { ReadGate } from "./read-gate.js";
import { chunksOf } from "./readable-chunks.js";

/** Anything kvs-parser can read bytes from. */
export type ByteSource = Uint8Array | ArrayBuffer | Iterable<Uint8Array> | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array> | Observable<Uint8Array>;

/** Delivers each chunk to `onChunk`; resolves at end of input. `isClosed` is polled between chunks. */
export interface ChunkPump {
  /** Starts reading; resolves when the source ends, rejects on a source error. */
  run(onChunk: (chunk: Uint8Array) => void, isClosed: () => boolean): Promise<void> | void;
  /** Stops reading and releases the source. */
  stop(): void;
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (typeof chunk === "string") throw new TypeError("kvs-parser reads bytes, got a string chunk (open the source without an encoding)");
  throw new TypeError(`kvs-parser reads Uint8Array chunks, got ${Object.prototype.toString.call(chunk)}`);
}

/** Slices of at most `size` bytes (views, no copy) of one buffer. */
function* slices(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, Math.min(bytes.length, i + size));
}

/** Waits while the gate holds (null: no wait). */
function held(gate: ReadGate | undefined): Promise<void> | null {
  return gate === undefined ? null : gate.wait();
}

/**
 * Makes a pump for any supported source; whole buffers are fed in `sliceSize` views. With a gate, the
 * pump waits between chunks while it holds (an Observable source cannot be held: it pushes).
 */
export function pumpOf(source: ByteSource, sliceSize: number, gate?: ReadGate): ChunkPump {
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    const bytes = toBytes(source);
    if (gate !== undefined) {
      return {
        async run(onChunk, isClosed) {
          for (const s of slices(bytes, sliceSize)) {
            if (isClosed()) return;
            onChunk(s);
            const w = held(gate);
            if (w !== null) await w;
          }
        },
        stop() {},
      };
    }
    return {
      run(onChunk, isClosed) {
        for (const s of slices(bytes, sliceSize)) {
          if (isClosed()) return;
          onChunk(s);
        }
      },
      stop() {},
    };
  }
  if (source instanceof ObservableClass) {
    let sub: Subscription | undefined;
    return {
      run(onChunk) {
        return new Promise<void>((resolve, reject) => {
          sub = source.subscribe({ next: (c) => onChunk(toBytes(c)), error: reject, complete: resolve });
        });
      },
      stop() {
        sub?.unsubscribe();
      },
    };
  }
  if (typeof (source as ReadableStream<Uint8Array>).getReader === "function") {
    const reader = (source as ReadableStream<Uint8Array>).getReader();
    let stopped = false;
    return {
      async run(onChunk, isClosed) {
        try {
          while (!isClosed()) {
            const { value, done } = await reader.read();
            if (done) return;
            if (isClosed()) return;
            onChunk(toBytes(value));
            const w = held(gate);
            if (w !== null) await w;
          }
        } finally {
          if (!stopped) reader.releaseLock();
        }
      },
      stop() {
        stopped = true;
        reader.cancel().catch(() => {});
      },
    };
  }
  if (typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === "function") {
    // A Node Readable's own iterator joins what is buffered into one copy: its chunks are taken as they came.
    const it = chunksOf(source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    const destroyable = source as { destroy?: (e?: Error) => void };
    return {
      async run(onChunk, isClosed) {
        while (!isClosed()) {
          const r = await it.next();
          if (r.done) return;
          if (isClosed()) return;
          onChunk(toBytes(r.value));
          const w = held(gate);
          if (w !== null) await w;
        }
      },
      stop() {
        if (typeof destroyable.destroy === "function") destroyable.destroy();
        else void it.return?.()?.catch?.(() => {});
      },
    };
  }
  if (typeof (source as Iterable<Uint8Array>)[Symbol.iterator] === "function") {
    if (gate !== undefined) {
      return {
        async run(onChunk, isClosed) {
          for (const c of source as Iterable<Uint8Array>) {
            if (isClosed()) return;
            onChunk(toBytes(c));
            const w = held(gate);
            if (w !== null) await w;
          }
        },
        stop() {},
      };
    }
    return {
      run(onChunk, isClosed) {
        for (const c of source as Iterable<Uint8Array>) {
          if (isClosed()) return;
          onChunk(toBytes(c));
        }
      },
      stop() {},
    };
  }
  throw new TypeError("unsupported byte source: give a Uint8Array, Readable, ReadableStream, (async) iterable or Observable");
}
