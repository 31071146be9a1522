import { KvsParserError } from "../ebml/kvs-parser-error.js";

/**
 * A Node Readable, as far as taking its chunks goes (an SDK response body, a file or socket stream):
 * typed by shape, so nothing here loads `node:stream`.
 */
export interface NodeReadable {
  on(event: string, listener: (...args: never[]) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
  pause(): unknown;
  resume(): unknown;
  destroy(error?: Error): unknown;
  readonly readableFlowing: boolean | null;
  readonly readableEnded?: boolean;
  readonly destroyed?: boolean;
  readonly errored?: Error | null;
}

/** True when `source` is a Node Readable (has the stream methods and state {@link readableChunks} uses). */
export function isNodeReadable(source: unknown): source is NodeReadable {
  const s = source as Partial<NodeReadable> | null;
  return (
    typeof s === "object" &&
    s !== null &&
    typeof s.on === "function" &&
    typeof s.removeListener === "function" &&
    typeof s.pause === "function" &&
    typeof s.resume === "function" &&
    typeof s.destroy === "function" &&
    "readableFlowing" in s
  );
}

/** What a stream that closed before its end throws (Node's own iterator and `finished()` use the same code). */
function prematureClose(): Error {
  return new KvsParserError("ERR_STREAM_PREMATURE_CLOSE", "Premature close: the stream closed before its end", {
    retryable: true,
    action: "read the source again from where it stopped",
  });
}

/**
 * The chunks of a Node Readable, each as the stream produced it. A Readable's own async iterator reads
 * in paused mode, where `read()` joins everything buffered into one new Buffer: a copy of every payload
 * byte whenever the reader falls behind by more than a chunk. Here the stream flows and is paused while
 * a chunk waits to be taken (it buffers the rest itself, up to its high-water mark, and pushes back on
 * its source), so each chunk is handed on as it came. As with Node's iterator: an error is thrown, a
 * close before the end throws ERR_STREAM_PREMATURE_CLOSE, and ending the loop early destroys the stream.
 */
export function readableChunks(stream: NodeReadable): AsyncIterableIterator<Uint8Array> {
  /** Chunks the stream gave that are not taken yet (one, now and then two: the stream is paused at the first). */
  const queue: Uint8Array[] = [];
  let ended = stream.readableEnded === true;
  /** The error the next call throws (once; the iterator is done after it). */
  let failure: Error | null = stream.errored ?? (stream.destroyed === true && !ended ? prematureClose() : null);
  let listening = false;
  let waiter: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: unknown) => void } | null = null;

  const detach = (): void => {
    if (!listening) return;
    listening = false;
    stream.removeListener("data", onData);
    stream.removeListener("end", onEnd);
    stream.removeListener("error", onError);
    stream.removeListener("close", onClose);
  };
  const take = (): Uint8Array => {
    const c = queue.shift()!;
    if (queue.length === 0 && listening && !ended) stream.resume();
    return c;
  };
  /** The next result if one is known now, else null (the caller waits). */
  const ready = (): { result: IteratorResult<Uint8Array> } | { error: Error } | null => {
    if (queue.length > 0) return { result: { value: take(), done: false } };
    if (failure !== null) {
      const error = failure;
      failure = null;
      ended = true;
      detach();
      return { error };
    }
    if (ended) {
      detach();
      return { result: { value: undefined, done: true } };
    }
    return null;
  };
  const settle = (): void => {
    const w = waiter;
    if (w === null) return;
    const r = ready();
    if (r === null) return;
    waiter = null;
    if ("error" in r) w.reject(r.error);
    else w.resolve(r.result);
  };
  function onData(chunk: Uint8Array): void {
    queue.push(chunk);
    if (waiter === null) stream.pause(); // the stream keeps the rest until this chunk is taken
    settle();
  }
  function onEnd(): void {
    ended = true;
    settle();
  }
  function onError(e: Error): void {
    if (!ended) failure ??= e;
    settle();
  }
  function onClose(): void {
    if (!ended) failure ??= prematureClose();
    settle();
  }

  if (!ended && failure === null) {
    listening = true;
    stream.on("end", onEnd);
    stream.on("error", onError);
    stream.on("close", onClose);
    stream.on("data", onData); // starts the flow
  }

  const iterator: AsyncIterableIterator<Uint8Array> = {
    next(): Promise<IteratorResult<Uint8Array>> {
      const r = ready();
      if (r !== null) return "error" in r ? Promise.reject(r.error) : Promise.resolve(r.result);
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject };
        stream.resume();
      });
    },
    return(): Promise<IteratorResult<Uint8Array>> {
      detach();
      queue.length = 0;
      ended = true;
      failure = null;
      stream.destroy(); // as Node's iterator does when a loop ends early
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** The chunks of `source`: a Node Readable's as they came (see {@link readableChunks}), any other's as it gives them. */
export function chunksOf(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  return isNodeReadable(source) ? readableChunks(source) : source;
}
