import { BehaviorSubject, Observable, type Subscription } from "rxjs";
import type { KvsEvent } from "../kvs/parser.js";
import { withFrames, type FragmentWithFrames } from "../rx/parse.js";
import { linkedAbort } from "../aws/abort.js";
import { sleep } from "../aws/backoff.js";
import type { KvsClients } from "../aws/clients.js";
import type { StartFrom } from "../aws/get-media.js";
import { liveMedia, type LiveMediaOptions } from "../aws/live-media.js";
import { checkpointKey } from "./dynamodb-store.js";
import { acquireLease, type LeaseOptions, type LeaseTable } from "./lease.js";
import { CheckpointConflictError, type Checkpoint, type CheckpointStore } from "./store.js";

/** Where an app reads from, given its checkpoint (null: none yet). */
export type FragmentSource = (after: Checkpoint | null) => Observable<KvsEvent>;

/** How far behind an app is. */
export interface Lag {
  readonly app: string;
  /** Fragments received but not yet handled. */
  readonly queuedFragments: number;
  /** MILLIS_BEHIND_NOW of the last handled fragment (how far the reader is behind the stream's head). */
  readonly millisBehindNow: number | null;
  /** Now minus the server timestamp of the last handled fragment. */
  readonly msSinceServerTimestamp: number | null;
  readonly lastHandled: string | null;
  readonly lastCheckpointed: string | null;
}

/** Counts of a consumer's run. */
export interface ConsumerSummary {
  readonly app: string;
  /** Fragment number of the checkpoint it started after (null: none). */
  readonly resumedFrom: string | null;
  readonly handled: number;
  readonly checkpoints: number;
  readonly lastCheckpoint: string | null;
  /** Times the source was dropped because the handler fell behind (re-read from the last handled fragment). */
  readonly overflows: number;
  /** Times a lease was acquired. */
  readonly leasesAcquired: number;
}

/** Options of {@link consume}. */
export interface ConsumeOptions {
  /** The consumer group: its checkpoint and lease are per (stream, app). */
  readonly app: string;
  readonly store: CheckpointStore;
  /** Called once per fragment, in order, with its frames; the checkpoint moves only after it resolves. */
  readonly handler: (item: FragmentWithFrames) => Promise<void> | void;
  /** Where to start when the app has no checkpoint (default NOW). */
  readonly from?: StartFrom;
  /** Checkpoint after this many handled fragments (default 1) and/or this much time (ms) since the last one. */
  readonly checkpointEvery?: { readonly fragments?: number; readonly ms?: number };
  /** On a handler error: stop with it (default), or retry it this many times first. */
  readonly onHandlerError?: "stop" | { readonly retries: number; readonly delayMs?: number };
  /** Several workers of one app: only the lease holder reads; another takes over when it dies. */
  readonly lease?: LeaseOptions & { readonly table: LeaseTable };
  /** Fragments received ahead of the handler before the source is dropped and re-read later (default 16). */
  readonly maxQueuedFragments?: number;
  /** Where fragments come from (default: liveMedia on `clients`); the fan-out hub passes its own. */
  readonly source?: FragmentSource;
  /** Options for the default liveMedia source. */
  readonly live?: Omit<LiveMediaOptions, "after" | "from" | "signal">;
  readonly signal?: AbortSignal;
}

/** A running consumer. */
export interface Consumer {
  /** Resolves when stopped, rejects with the handler's (or the store's) error. */
  readonly done: Promise<ConsumerSummary>;
  /** The app's lag, updated after every handled fragment. */
  readonly lag$: Observable<Lag>;
  /** Stops reading, lets the running handler finish, writes the last checkpoint, releases the lease. */
  stop(): Promise<ConsumerSummary>;
}

/**
 * Runs an app on a stream: reads from its checkpoint (or `from`), calls `handler` for each fragment in
 * order, and checkpoints after the handler resolves: at-least-once, never skipping (a restart
 * re-delivers at most the fragments handled since the last checkpoint). Memory is bounded: when the
 * handler falls `maxQueuedFragments` behind, the source is dropped and re-read after the last handled
 * fragment.
 */
export function consume(clients: KvsClients | null, stream: string, options: ConsumeOptions): Consumer {
  const stop = linkedAbort(options.signal);
  const app = options.app;
  const everyN = Math.max(1, options.checkpointEvery?.fragments ?? 1);
  const everyMs = options.checkpointEvery?.ms ?? 0;
  const maxQueued = Math.max(1, options.maxQueuedFragments ?? 16);
  const lag$ = new BehaviorSubject<Lag>({ app, queuedFragments: 0, millisBehindNow: null, msSinceServerTimestamp: null, lastHandled: null, lastCheckpointed: null });
  const source: FragmentSource = options.source ?? ((after) => {
    if (!clients) throw new TypeError("consume: give KvsClients or a source");
    return liveMedia(clients, stream, {
      ...options.live,
      from: options.from,
      after: after ? { fragmentNumber: after.fragmentNumber, continuationToken: after.continuationToken } : null,
      signal: stop.signal,
    });
  });

  let resumedFrom: string | null = null;
  let handled = 0;
  let checkpoints = 0;
  let overflows = 0;
  let leasesAcquired = 0;
  let lastCheckpoint: Checkpoint | null = null;
  let lastHandled: Checkpoint | null = null;
  let sinceCheckpoint = 0;
  let lastCheckpointAt = performance.now();
  const summary = (): ConsumerSummary => ({ app, resumedFrom, handled, checkpoints, lastCheckpoint: lastCheckpoint?.fragmentNumber ?? null, overflows, leasesAcquired });

  const writeCheckpoint = async (owner: string | undefined) => {
    if (!lastHandled || lastHandled === lastCheckpoint) return;
    await options.store.put(stream, app, lastHandled, owner === undefined ? undefined : { owner });
    lastCheckpoint = lastHandled;
    checkpoints++;
    sinceCheckpoint = 0;
    lastCheckpointAt = performance.now();
  };

  const runHandler = async (item: FragmentWithFrames) => {
    const policy = options.onHandlerError ?? "stop";
    const retries = policy === "stop" ? 0 : policy.retries;
    for (let attempt = 0; ; attempt++) {
      try {
        await options.handler(item);
        return;
      } catch (e) {
        if (attempt >= retries) throw e;
        await sleep(policy === "stop" ? 0 : (policy.delayMs ?? 100), stop.signal);
      }
    }
  };

  /** Reads while `active` is not aborted; resolves when it is, or rejects on a handler/store error. */
  const readWhile = async (active: AbortSignal, owner: string | undefined): Promise<void> => {
    const start = owner === undefined && lastHandled ? lastHandled : await options.store.get(stream, app);
    if (start && (!lastHandled || start.fragmentNumber !== lastHandled.fragmentNumber)) lastHandled = lastCheckpoint = start;
    if (resumedFrom === null) resumedFrom = start?.fragmentNumber ?? null;
    while (!active.aborted) {
      const queue: FragmentWithFrames[] = [];
      let wake: (() => void) | null = null;
      let ended = false;
      let failure: unknown;
      let overflowed = false;
      const notify = () => {
        const w = wake;
        wake = null;
        w?.();
      };
      const sub: Subscription = source(lastHandled).pipe(withFrames()).subscribe({
        next(item) {
          if (overflowed) return;
          queue.push(item);
          if (queue.length > maxQueued) {
            overflowed = true;
            queue.length = 0; // re-read after the last handled fragment: nothing is lost
            overflows++;
            queueMicrotask(() => sub.unsubscribe());
          }
          notify();
        },
        error(e: unknown) {
          failure = e;
          ended = true;
          notify();
        },
        complete() {
          ended = true;
          notify();
        },
      });
      const onAbort = () => notify();
      active.addEventListener("abort", onAbort, { once: true });
      try {
        while (!active.aborted) {
          const item = queue.shift();
          if (!item) {
            if (overflowed || ended) break;
            await new Promise<void>((r) => (wake = r));
            continue;
          }
          await runHandler(item);
          handled++;
          sinceCheckpoint++;
          const f = item.fragment;
          if (f.fragmentNumber !== null) lastHandled = { fragmentNumber: f.fragmentNumber, continuationToken: f.continuationToken, updatedAt: Date.now() };
          if (sinceCheckpoint >= everyN || (everyMs > 0 && performance.now() - lastCheckpointAt >= everyMs)) await writeCheckpoint(owner);
          lag$.next({
            app, queuedFragments: queue.length, millisBehindNow: f.millisBehindNow,
            msSinceServerTimestamp: f.serverTimestampMs === null ? null : Date.now() - f.serverTimestampMs,
            lastHandled: lastHandled?.fragmentNumber ?? null, lastCheckpointed: lastCheckpoint?.fragmentNumber ?? null,
          });
        }
      } finally {
        active.removeEventListener("abort", onAbort);
        sub.unsubscribe();
      }
      if (failure !== undefined) throw failure;
      if (ended && !overflowed) break;
    }
  };

  const run = async (): Promise<ConsumerSummary> => {
    try {
      if (!options.lease) {
        await readWhile(stop.signal, undefined);
        await writeCheckpoint(undefined);
        return summary();
      }
      const key = checkpointKey(stream, app);
      while (!stop.signal.aborted) {
        const lease = await acquireLease(options.lease.table, key, options.lease, stop.signal);
        if (!lease) break;
        leasesAcquired++;
        const active = AbortSignal.any([stop.signal, lease.signal]);
        try {
          await readWhile(active, lease.owner);
          if (!lease.signal.aborted) await writeCheckpoint(lease.owner);
        } catch (e) {
          if (!(e instanceof CheckpointConflictError)) throw e; // lost the lease while writing: re-acquire
        } finally {
          if (!lease.signal.aborted) await lease.release();
        }
      }
      return summary();
    } finally {
      lag$.complete();
    }
  };

  const done = run();
  done.catch(() => {});
  return {
    done,
    lag$: lag$.asObservable(),
    stop() {
      stop.abort();
      return done;
    },
  };
}
