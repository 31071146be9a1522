import type { FragmentSkippedEvent } from "../kvs/fragment.js";
import { Demand, type DemandAccount } from "../rx/demand.js";
import { FragmentGrouper, type FragmentWithFrames } from "../rx/fragment-grouper.js";
import type { ReadGate } from "../rx/read-gate.js";
import type { StreamEvent } from "../rx/stream-event.js";

/** What the queue hands the app, in stream order: a fragment with its frames, or a fragment the reader gave up on. */
export type QueueItem = FragmentWithFrames | FragmentSkippedEvent;

/** Bytes counted per frame on top of its payload (the Frame object and its view). */
const FRAME_OVERHEAD = 96;

/**
 * The bounded queue between a source and an app's handler: groups frames into fragments, counts the
 * bytes it holds in a {@link Demand}, and is the source's {@link ReadGate}: past `maxBytes` (with a whole
 * fragment ready for the handler) the reader waits, so a slow handler slows the reading instead of
 * growing memory. A fragment larger than `maxBytes` still passes, alone.
 */
export class FragmentQueue implements ReadGate {
  private readonly ready: QueueItem[] = [];
  private readyBytes: number[] = [];
  private ended = false;
  private failure: { error: unknown } | null = null;
  private taker: (() => void) | null = null;
  private readonly demand: Demand;
  /** The reader waits only with a whole fragment ready for the handler (else nothing could free bytes). */
  private readonly account: DemandAccount;
  private readonly grouper = new FragmentGrouper({
    frameBytes: (f) => f.size + FRAME_OVERHEAD,
    onFragment: (group, bytes) => this.enqueue(group, bytes),
    onVoid: (ev, bytes) => {
      // The reader restarts a cut fragment (its frames come again), or gave up on it.
      this.account.release(bytes);
      // A skipped fragment goes in order with those around it: the app records it where it would have handled it.
      if (ev.type === "fragmentSkipped") this.enqueue(ev, 0);
    },
  });

  /** A queue that holds about `maxBytes` before it makes the reader wait (or its share of `demand`, given one the reader's other sinks use too). */
  constructor(
    readonly maxBytes: number,
    demand?: Demand,
  ) {
    this.demand = demand ?? new Demand(maxBytes);
    this.account = this.demand.account({ drains: () => this.ready.length > 0 });
  }

  /** Bytes held (payloads plus a per-frame overhead). */
  get heldBytes(): number {
    return this.account.heldBytes;
  }

  /** Whole fragments waiting for the handler. */
  get length(): number {
    return this.ready.length;
  }

  /** Takes the next event from the source. */
  push(ev: StreamEvent): void {
    if (ev.type === "frame") this.account.hold(ev.size + FRAME_OVERHEAD);
    this.grouper.push(ev);
  }

  /** The source ended (or failed): take() returns what is left, then null (or throws the failure). */
  end(error?: unknown): void {
    this.ended = true;
    if (error !== undefined) this.failure = { error };
    this.wake();
    this.account.update(); // what is left stays counted until taken (lag$ reports it); no reader asks any more
  }

  /** @inheritdoc */
  wait(): Promise<void> | null {
    return this.demand.wait();
  }

  /** The next whole fragment (or a fragment the reader gave up on); null once the source ended (or `signal` aborted) and nothing is left. */
  async take(signal: AbortSignal): Promise<QueueItem | null> {
    for (;;) {
      const item = this.ready.shift();
      if (item !== undefined) {
        this.account.release(this.readyBytes.shift() ?? 0); // never waits with nothing ready for the handler
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

  private enqueue(item: QueueItem, bytes: number): void {
    this.ready.push(item);
    this.readyBytes.push(bytes);
    this.wake();
  }

  private wake(): void {
    this.taker?.();
  }
}
