import { sleep } from "../aws/backoff.js";
import type { KvsClients } from "../aws/clients.js";
import type { StartFrom } from "../aws/get-media.js";
import type { LiveStatus } from "../aws/live-media.js";
import type { FragmentWithFrames } from "../rx/with-frames.js";
import { type ConsumeOptions, type Consumer, consumeHeld, type Lag } from "./consume.js";
import { LoadMeter } from "./load-meter.js";
import type { CheckpointStore } from "./store.js";

/** A fragment handed to a fleet's handler: the consume() item, and the stream it came from. */
export interface FleetItem extends FragmentWithFrames {
  readonly stream: string;
}

/** What one stream of a fleet worker is doing. */
export interface StreamMetrics {
  readonly stream: string;
  /** MILLIS_BEHIND_NOW of the last handled fragment. */
  readonly millisBehindNow: number | null;
  readonly queuedFragments: number;
  readonly queuedBytes: number;
  readonly fragments: number;
  /** Over the last metrics period. */
  readonly fragmentsPerSecond: number;
  /** Reconnects of the stream's reader, by cause (the error code, or "idleEnd" for a response the service ended). */
  readonly reconnects: Readonly<Record<string, number>>;
  /** What the stream costs (ms of work per second: handler time, plus 1 ms per MB read, plus 1), as reported for balancing. */
  readonly load: number | null;
}

/** What the streams of one fleet worker share: how each one's consumer runs, and whom it tells. */
export interface HeldStreamContext {
  readonly clients: KvsClients;
  readonly app: string;
  /** This worker, the lease holder its consumers' checkpoints are fenced by. */
  readonly worker: string;
  readonly store: CheckpointStore;
  readonly from: StartFrom | undefined;
  readonly consume: Pick<ConsumeOptions, "checkpointEvery" | "onHandlerError" | "maxQueuedBytes" | "live"> | undefined;
  readonly handler: (item: FleetItem) => Promise<void> | void;
  /** How long after its last renewal a lease lets fragments be handled. */
  readonly fenceMs: number;
  /** How often leases are renewed (a fenced fragment looks again at least this often, at most every 50 ms). */
  readonly renewMs: number;
  /** After each fragment handled. */
  readonly onHandled: () => void;
  /** A consumer failed (its handler's or the store's error): the worker stops with it. */
  readonly onFailure: (error: unknown) => void;
}

/**
 * One stream a fleet worker holds: its consumer, whose fragments are handled only within `fenceMs` of the
 * last renewal of the lease that succeeded (`renewedAt`), its load meter, and what the metrics say of it.
 */
export class HeldStream {
  readonly stream: string;
  readonly key: string;
  readonly consumer: Consumer;
  readonly meter: LoadMeter;
  /** When the last claim or renewal that succeeded was sent (the lease was this worker's after it). */
  renewedAt: number;
  /** Being handed to the worker that asked for it, or dropped as lost. */
  leaving = false;
  /** A renewal of its lease is under way (a new one is not sent beside it). */
  renewing = false;
  private readonly abort = new AbortController();
  private lag: Lag | null = null;
  private fragments = 0;
  private fragmentsAtLastTick = 0;
  private readonly reconnects: Record<string, number> = {};

  /** Starts the consumer of a stream whose lease this worker got at `since` (a claim or a handover). */
  constructor(lease: { readonly stream: string; readonly key: string; readonly load?: number | null }, since: number, ctx: HeldStreamContext) {
    this.stream = lease.stream;
    this.key = lease.key;
    this.renewedAt = since;
    this.meter = new LoadMeter(lease.load ?? null, performance.now()); // the previous holder's measure, until this one has its own
    const live = ctx.consume?.live;
    const onStatus = (s: LiveStatus) => {
      if (s.type === "retrying") this.reconnects[s.error.code] = (this.reconnects[s.error.code] ?? 0) + 1;
      else if (s.type === "ended") this.reconnects.idleEnd = (this.reconnects.idleEnd ?? 0) + 1;
      live?.onStatus?.(s);
    };
    const options = {
      ...ctx.consume,
      live: { ...live, onStatus },
      app: ctx.app,
      store: ctx.store,
      from: ctx.from,
      signal: this.abort.signal,
      handler: async (item: FragmentWithFrames) => {
        const started = performance.now();
        try {
          // A handler that returns no promise is timed as it returns: awaiting it first would add the work
          // of whatever else was queued to run first (other streams'), a noise that moved streams between workers.
          const done = ctx.handler({ ...item, stream: this.stream });
          if (done !== undefined) await done;
        } finally {
          let bytes = 0;
          for (const f of item.frames) bytes += f.data.length;
          this.meter.add(performance.now() - started, bytes);
        }
        this.fragments++;
        ctx.onHandled();
      },
    };
    const fence = async (signal: AbortSignal) => {
      while (!signal.aborted && performance.now() - this.renewedAt >= ctx.fenceMs) await sleep(Math.min(50, ctx.renewMs), signal);
    };
    this.consumer = consumeHeld(ctx.clients, this.stream, options, { owner: ctx.worker, fence });
    this.consumer.lag$.subscribe((l) => (this.lag = l));
    this.consumer.done.catch((e: unknown) => ctx.onFailure(e));
  }

  /** The stream's cost as last measured (see {@link LoadMeter}). */
  get load(): number | null {
    return this.meter.load;
  }

  /** Stops the consumer: it finishes the fragment in hand and checkpoints (resolves either way). */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.consumer.done.catch(() => {});
  }

  /** The stream's metrics over the `seconds` since the last call. */
  metrics(seconds: number): StreamMetrics {
    const rate = (this.fragments - this.fragmentsAtLastTick) / seconds;
    this.fragmentsAtLastTick = this.fragments;
    return {
      stream: this.stream,
      millisBehindNow: this.lag?.millisBehindNow ?? null,
      queuedFragments: this.lag?.queuedFragments ?? 0,
      queuedBytes: this.lag?.queuedBytes ?? 0,
      fragments: this.fragments,
      fragmentsPerSecond: rate,
      reconnects: { ...this.reconnects },
      load: this.load,
    };
  }
}
