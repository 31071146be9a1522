import { type StreamEvent, voidsPendingFrames } from "../rx/stream-event.js";
import type { FragmentSkippedEvent } from "../kvs/fragment.js";
import type { Frame } from "../matroska/frame.js";
import type { FragmentWithFrames } from "../rx/with-frames.js";
import type { ReadGate } from "../rx/read-gate.js";

/** What the queue hands the app, in stream order: a fragment with its frames, or a fragment the reader gave up on. */
export type QueueItem = FragmentWithFrames | FragmentSkippedEvent;

/** Bytes counted per frame on top of its payload (the Frame object and its view). */
const FRAME_OVERHEAD = 96;

/**
 * The bounded queue between a source and an app's handler: groups frames into fragments, counts the
 * bytes it holds, and is the source's {@link ReadGate}: past `maxBytes` (with a whole fragment ready
 * for the handler) the reader waits, so a slow handler slows the reading instead of growing memory.
 * A fragment larger than `maxBytes` still passes, alone.
 */
export class FragmentQueue implements ReadGate {
  private readonly ready: QueueItem[] = [];
  private readyBytes: number[] = [];
  private frames: Frame[] = [];
  private partialBytes = 0;
  private bytes = 0;
  private ended = false;
  private failure: { error: unknown } | null = null;
  private taker: (() => void) | null = null;
  private space: { promise: Promise<void>; resolve: () => void } | null = null;

  /** A queue that holds about `maxBytes` before it makes the reader wait. */
  constructor(readonly maxBytes: number) {}

  /** Bytes held (payloads plus a per-frame overhead). */
  get heldBytes(): number {
    return this.bytes;
  }

  /** Whole fragments waiting for the handler. */
  get length(): number {
    return this.ready.length;
  }

  /** Takes the next event from the source. */
  push(ev: StreamEvent): void {
    if (voidsPendingFrames(ev)) {
      // The reader restarts a cut fragment (its frames come again), or gave up on it.
      this.bytes -= this.partialBytes;
      this.frames = [];
      this.partialBytes = 0;
      if (ev.type === "fragmentSkipped") {
        // In order with the fragments around it: the app records it where it would have handled it.
        this.ready.push(ev);
        this.readyBytes.push(0);
        this.wake();
      }
    } else if (ev.type === "frame") {
      this.frames.push(ev);
      const n = ev.data.length + FRAME_OVERHEAD;
      this.partialBytes += n;
      this.bytes += n;
    } else if (ev.type === "fragment") {
      this.ready.push({ fragment: ev, frames: this.frames });
      this.readyBytes.push(this.partialBytes);
      this.frames = [];
      this.partialBytes = 0;
      this.wake();
    }
  }

  /** The source ended (or failed): take() returns what is left, then null (or throws the failure). */
  end(error?: unknown): void {
    this.ended = true;
    if (error !== undefined) this.failure = { error };
    this.wake();
    this.release();
  }

  /** @inheritdoc */
  wait(): Promise<void> | null {
    if (this.bytes <= this.maxBytes || this.ready.length === 0 || this.ended) return null;
    if (!this.space) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.space = { promise, resolve };
    }
    return this.space.promise;
  }

  /** The next whole fragment (or a fragment the reader gave up on); null once the source ended (or `signal` aborted) and nothing is left. */
  async take(signal: AbortSignal): Promise<QueueItem | null> {
    for (;;) {
      const item = this.ready.shift();
      if (item !== undefined) {
        this.bytes -= this.readyBytes.shift() ?? 0;
        if (this.bytes <= this.maxBytes || this.ready.length === 0) this.release(); // never wait with nothing ready for the handler
        return item;
      }
      if (this.failure) throw this.failure.error;
      if (this.ended || signal.aborted) return null;
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener("abort", done);
          this.taker = null;
          resolve();
        };
        this.taker = done;
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }

  private wake(): void {
    this.taker?.();
  }

  private release(): void {
    const s = this.space;
    this.space = null;
    s?.resolve();
  }
}
