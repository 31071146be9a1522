import type { Observable } from "rxjs";
import { Demand, subscribeHolding } from "./demand.js";

/** Options of {@link pull}. */
export interface PullOptions<T> {
  /** What a queued value counts for (default: nothing; the queue is then unbounded). */
  readonly bytes?: (value: T) => number;
  /** Past this many bytes queued the source's reader waits (default 4 MiB; with `bytes` only). */
  readonly maxBytes?: number;
}

/**
 * An Observable as an async iterable: values queue until the loop takes them; an error is thrown there
 * and breaking out unsubscribes. With `bytes`, a reader up the source's chain is held (see
 * subscribeHolding) while more than `maxBytes` wait to be taken.
 */
export async function* pull<T>(source: Observable<T>, options: PullOptions<T> = {}): AsyncGenerator<T> {
  const queue: T[] = [];
  let done = false;
  let failure: { error: unknown } | null = null;
  let wake: (() => void) | null = null;
  const count = options.bytes;
  const demand = count ? new Demand(options.maxBytes ?? 4 * 1024 * 1024) : null;
  const account = demand?.account();
  const observer = {
    next: (v: T) => {
      queue.push(v);
      if (count) account!.hold(count(v));
      wake?.();
    },
    error: (e: unknown) => {
      failure = { error: e };
      done = true;
      wake?.();
    },
    complete: () => {
      done = true;
      wake?.();
    },
  };
  const sub = demand ? subscribeHolding(demand, () => source.subscribe(observer)) : source.subscribe(observer);
  try {
    for (;;) {
      if (queue.length > 0) {
        const next = queue.shift()!;
        if (count) account!.release(count(next));
        yield next;
        continue;
      }
      if (failure !== null) throw (failure as { error: unknown }).error;
      if (done) return;
      await new Promise<void>((r) => (wake = r));
      wake = null;
    }
  } finally {
    sub.unsubscribe();
    account?.close();
  }
}
