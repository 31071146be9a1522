import { BehaviorSubject, type Observable } from "rxjs";
import { linkedAbort } from "../aws/abort.js";
import { streamLabel, type KvsClients, type StreamRef } from "../aws/clients.js";
import type { StartFrom } from "../aws/get-media.js";
import type { FragmentSkippedEvent } from "../kvs/fragment.js";
import type { FragmentWithFrames } from "../rx/with-frames.js";
import { CheckpointPolicy, type CheckpointEvery } from "./checkpoint-policy.js";
import { runHandler, type HandlerErrorPolicy } from "./handler.js";
import { acquireLease, type LeaseOptions, type LeaseTable } from "./lease.js";
import { FragmentQueue } from "./queue.js";
import { liveSource, type FragmentSource, type LiveSourceOptions } from "./source.js";
import { CheckpointConflictError, checkpointKey, type Checkpoint, type CheckpointStore } from "./store.js";

/** How far behind an app is. */
export interface Lag {
  readonly app: string;
  /** Whole fragments received but not yet handled. */
  readonly queuedFragments: number;
  /** Bytes held in the app's queue. */
  readonly queuedBytes: number;
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
  /** Times a lease was acquired. */
  readonly leasesAcquired: number;
  /** Fragments the reader gave up on and the app passed over (with `onCorruptFragment: "skip"`), in order. */
  readonly skipped: readonly FragmentSkippedEvent[];
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
  readonly checkpointEvery?: CheckpointEvery;
  /** On a handler error: stop with it (default), or retry it this many times first. */
  readonly onHandlerError?: HandlerErrorPolicy;
  /** Several workers of one app: only the lease holder reads; another takes over when it dies. */
  readonly lease?: LeaseOptions & { readonly table: LeaseTable };
  /**
   * Bytes (frame payloads and their overhead) received ahead of the handler before the reading waits
   * for it (default 16 MiB); a single larger fragment still passes.
   */
  readonly maxQueuedBytes?: number;
  /** Where fragments come from (default: a liveMedia connection of the app's own); a FanOutHub passes its share. */
  readonly source?: FragmentSource;
  /** Options for the default liveMedia source. */
  readonly live?: LiveSourceOptions;
  /**
   * A fragment whose bytes do not parse on `live.maxCorruptAttempts` connections in a row (default 5):
   * "fail" (default) stops the app with a CORRUPT_MEDIA error naming it; "skip" passes over it, records it
   * (`onSkipped`, the summary's `skipped`) and moves the checkpoint past it, as if handled. For the
   * default source; a FanOutHub takes it in its own `live` options.
   */
  readonly onCorruptFragment?: "fail" | "skip";
  /** Called, in order with the handler's calls, for each fragment passed over (see onCorruptFragment). */
  readonly onSkipped?: (event: FragmentSkippedEvent) => void;
  readonly signal?: AbortSignal;
}

/**
 * A stream whose lease is held outside consume(), by a fleet (internal: fleet() passes it to
 * {@link consumeHeld}; not part of the package's API).
 */
export interface HeldLease {
  /**
   * The worker that holds the stream's lease: checkpoints are written only while it still holds it, and
   * a refused write (the lease moved on) ends the consumer quietly.
   */
  readonly owner: string;
  /**
   * Awaited before each fragment is handled (with the consumer's signal): a fleet holds a fragment here
   * while its lease is not known to be current. A fragment still waiting when the consumer is stopped is
   * neither handled nor checkpointed.
   */
  readonly fence: (signal: AbortSignal) => Promise<void>;
}

/** A running consumer. */
export interface Consumer {
  /** Resolves when stopped, rejects with the handler's (or the store's, or the reader's) error. */
  readonly done: Promise<ConsumerSummary>;
  /** The app's lag, updated after every handled fragment. */
  readonly lag$: Observable<Lag>;
  /** Stops reading, lets the running handler finish, writes the last checkpoint, releases the lease. */
  stop(): Promise<ConsumerSummary>;
}

/**
 * Runs an app on a stream: reads from its checkpoint (or `from`), calls `handler` for each fragment in
 * order, and checkpoints after the handler resolves: at-least-once, never skipping (a restart
 * re-delivers at most the fragments handled since the last checkpoint). The parts: a source (its own
 * liveMedia, or a FanOutHub share) → a queue bounded in bytes that holds the reading back while the
 * handler is busy → the handler (with its retry policy) → the checkpoint policy → the store; with
 * `lease`, all of it runs while this worker holds the app's lease.
 */
export function consume(clients: KvsClients, stream: StreamRef, options: ConsumeOptions): Consumer {
  return startConsumer(clients, stream, options, null);
}

/** {@link consume} on a stream whose lease a fleet holds (`held`), in place of `options.lease`. */
export function consumeHeld(clients: KvsClients, stream: StreamRef, options: Omit<ConsumeOptions, "lease">, held: HeldLease): Consumer {
  return startConsumer(clients, stream, options, held);
}

function startConsumer(clients: KvsClients, stream: StreamRef, options: ConsumeOptions, fleetLease: HeldLease | null): Consumer {
  const stop = linkedAbort(options.signal);
  const app = options.app;
  const name = streamLabel(stream);
  const maxBytes = Math.max(1, options.maxQueuedBytes ?? 16 * 1024 * 1024);
  const source =
    options.source ?? liveSource(clients, stream, { ...options.live, onCorruptFragment: options.onCorruptFragment ?? options.live?.onCorruptFragment });
  const from: StartFrom = options.from ?? "NOW";
  const progress = new Progress(options.store, name, app, options.checkpointEvery);
  const lag$ = new BehaviorSubject<Lag>({
    app,
    queuedFragments: 0,
    queuedBytes: 0,
    millisBehindNow: null,
    msSinceServerTimestamp: null,
    lastHandled: null,
    lastCheckpointed: null,
  });

  /** Reads and handles while `active` is not aborted; resolves when it is (or the source ends). */
  const readWhile = async (active: AbortSignal, owner: string | undefined): Promise<void> => {
    // A lease holder starts from the stored checkpoint (another worker may have moved it).
    progress.resume(owner === undefined && progress.lastHandled ? progress.lastHandled : await options.store.get(name, app));
    if (active.aborted) return;
    const queue = new FragmentQueue(maxBytes);
    const sub = source({ after: progress.lastHandled, from, gate: queue, signal: active }).subscribe({
      next: (ev) => queue.push(ev),
      error: (e: unknown) => queue.end(e),
      complete: () => queue.end(),
    });
    try {
      for (;;) {
        const item = await queue.take(active);
        if (item === null || active.aborted) break;
        if (fleetLease) {
          await fleetLease.fence(active);
          if (active.aborted) break;
        }
        if ("type" in item) {
          // A fragment the reader gave up on: recorded, and the checkpoint moves past it.
          progress.skipped.push(item);
          options.onSkipped?.(item);
          await progress.passed(item.fragmentNumber, item.fragmentNumber, owner);
          continue;
        }
        await runHandler(options.handler, item, options.onHandlerError ?? "stop", stop.signal);
        progress.handled++;
        const f = item.fragment;
        await progress.passed(f.fragmentNumber, f.continuationToken, owner);
        lag$.next({
          app,
          queuedFragments: queue.length,
          queuedBytes: queue.heldBytes,
          millisBehindNow: f.millisBehindNow,
          msSinceServerTimestamp: f.serverTimestampMs === null ? null : Date.now() - f.serverTimestampMs,
          lastHandled: progress.lastHandled?.fragmentNumber ?? null,
          lastCheckpointed: progress.lastCheckpoint?.fragmentNumber ?? null,
        });
      }
    } finally {
      sub.unsubscribe();
    }
  };

  /** The whole run while holding the app's lease, re-acquired after it is lost. */
  const runLeased = async (lease: LeaseOptions & { readonly table: LeaseTable }) => {
    const key = checkpointKey(name, app);
    while (!stop.signal.aborted) {
      const held = await acquireLease(lease.table, key, lease, stop.signal);
      if (!held) break;
      progress.leasesAcquired++;
      const active = AbortSignal.any([stop.signal, held.signal]);
      try {
        await readWhile(active, held.owner);
        if (!held.signal.aborted) await progress.write(held.owner);
      } catch (e) {
        if (!(e instanceof CheckpointConflictError)) throw e; // lost the lease while writing: re-acquire
      } finally {
        if (!held.signal.aborted) await held.release();
      }
    }
  };

  const run = async (): Promise<ConsumerSummary> => {
    try {
      if (options.lease) await runLeased(options.lease);
      else {
        try {
          await readWhile(stop.signal, fleetLease?.owner);
          await progress.write(fleetLease?.owner);
        } catch (e) {
          if (!(fleetLease && e instanceof CheckpointConflictError)) throw e; // the fleet moved the lease on
        }
      }
      return progress.summary();
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

/** Where a consumer's app is: the last fragment handled and the last checkpointed, and its counts. */
class Progress {
  lastHandled: Checkpoint | null = null;
  lastCheckpoint: Checkpoint | null = null;
  /** The checkpoint the first run started after (undefined: not started yet). */
  resumedFrom: string | null | undefined;
  handled = 0;
  checkpoints = 0;
  leasesAcquired = 0;
  readonly skipped: FragmentSkippedEvent[] = [];
  private readonly store: CheckpointStore;
  private readonly stream: string;
  private readonly app: string;
  private readonly policy: CheckpointPolicy;

  constructor(store: CheckpointStore, stream: string, app: string, every: CheckpointEvery | undefined) {
    this.store = store;
    this.stream = stream;
    this.app = app;
    this.policy = new CheckpointPolicy(every);
  }

  /** A run starts after `start` (the stored checkpoint, or where the last run stopped). */
  resume(start: Checkpoint | null): void {
    if (start && (!this.lastHandled || start.fragmentNumber !== this.lastHandled.fragmentNumber)) this.lastHandled = this.lastCheckpoint = start;
    if (this.resumedFrom === undefined) this.resumedFrom = start?.fragmentNumber ?? null;
  }

  /** The app is done with a fragment (handled, or passed over); the checkpoint is written when the policy says so. */
  async passed(fragmentNumber: string | null, continuationToken: string | null, owner: string | undefined): Promise<void> {
    if (fragmentNumber !== null) this.lastHandled = { fragmentNumber, continuationToken, updatedAt: Date.now() };
    if (this.policy.handled()) await this.write(owner);
  }

  /** Writes the checkpoint, if it moved (`owner`: only while that worker holds the lease). */
  async write(owner: string | undefined): Promise<void> {
    if (!this.lastHandled || this.lastHandled === this.lastCheckpoint) return;
    await this.store.put(this.stream, this.app, this.lastHandled, owner === undefined ? undefined : { owner });
    this.lastCheckpoint = this.lastHandled;
    this.checkpoints++;
    this.policy.written();
  }

  summary(): ConsumerSummary {
    return {
      app: this.app,
      resumedFrom: this.resumedFrom ?? null,
      handled: this.handled,
      checkpoints: this.checkpoints,
      lastCheckpoint: this.lastCheckpoint?.fragmentNumber ?? null,
      leasesAcquired: this.leasesAcquired,
      skipped: [...this.skipped],
    };
  }
}
