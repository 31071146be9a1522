import { BehaviorSubject, type Observable } from "rxjs";
import { linkedAbort } from "../aws/abort.js";
import { sleep } from "../aws/backoff.js";
import type { KvsClients } from "../aws/clients.js";
import type { StartFrom } from "../aws/get-media.js";
import type { LiveStatus } from "../aws/live-media.js";
import { selectStreams, type StreamSelection } from "../aws/stream-selection.js";
import type { FragmentWithFrames } from "../rx/with-frames.js";
import { type LeaseView, planBalance } from "./balancer.js";
import { type ConsumeOptions, type Consumer, consumeHeld, type Lag } from "./consume.js";
import type { FleetLeaseTable } from "./lease.js";
import { checkpointKey, type CheckpointStore } from "./store.js";

/** A fragment handed to a fleet's handler: the consume() item, and the stream it came from. */
export interface FleetItem extends FragmentWithFrames {
  readonly stream: string;
}

/** Options of {@link fleet}. */
export interface FleetOptions {
  /** The app (consumer group): one checkpoint and one lease per (stream, app). */
  readonly app: string;
  /** This worker's name, unique among the app's workers (e.g. host and pid). */
  readonly worker: string;
  readonly streams: StreamSelection;
  /** How often the stream selection is listed again (default 60 000 ms). */
  readonly relistMs?: number;
  /** Leases of the app's streams (DynamoDbLeaseTable: the same table as a DynamoDbCheckpointStore). */
  readonly leases: FleetLeaseTable;
  /** Checkpoints, written only while this worker holds the stream's lease (DynamoDbCheckpointStore fences them). */
  readonly store: CheckpointStore;
  /** Called once per fragment of each held stream, in order per stream; as consume()'s handler. */
  readonly handler: (item: FleetItem) => Promise<void> | void;
  /** Where a stream without a checkpoint starts (default NOW). */
  readonly from?: StartFrom;
  /** How long a holder's lease counter must stand still before others take its streams (default 10 000 ms). */
  readonly leaseDurationMs?: number;
  /** How often leases are renewed and balanced (default leaseDurationMs / 3). */
  readonly renewMs?: number;
  /**
   * How far a worker's load (handler time and bytes of its streams, as they report it in the lease table)
   * may sit from the mean before streams move (default 0.1: ±10 %).
   */
  readonly balanceTolerance?: number;
  /** The rest of consume()'s options for each stream (queue, checkpoint policy, handler retries, reader). */
  readonly consume?: Pick<ConsumeOptions, "checkpointEvery" | "onHandlerError" | "maxQueuedBytes" | "live">;
  readonly signal?: AbortSignal;
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

/** A snapshot of a fleet worker. */
export interface FleetMetrics {
  readonly app: string;
  readonly worker: string;
  /** Streams selected (leases registered). */
  readonly streams: number;
  /** Live workers seen (holding an unexpired lease), this one included. */
  readonly workers: number;
  readonly leasesHeld: number;
  /** Free leases claimed (unowned, or a dead or stalled holder's). */
  readonly leasesTaken: number;
  /** Leases handed to this worker by a live holder it asked (to even out the load). */
  readonly leasesStolen: number;
  /** Leases this worker handed over when asked (after finishing and checkpointing). */
  readonly leasesHandedOver: number;
  readonly leasesLost: number;
  /** This worker's load (the sum of its streams') and the mean over live workers, in ms of work per second. */
  readonly load: number;
  readonly meanLoad: number;
  /** This process's CPU use over the last round, in % of one core. */
  readonly cpuPercent: number;
  readonly perStream: readonly StreamMetrics[];
}

/** Counts of a fleet worker's run. */
export interface FleetSummary {
  readonly worker: string;
  readonly handled: number;
  readonly leasesTaken: number;
  readonly leasesStolen: number;
  readonly leasesHandedOver: number;
  readonly leasesLost: number;
}

/** A running fleet worker. */
export interface Fleet {
  /** Resolves when stopped; rejects with a handler's (or the lease table's) error. */
  readonly done: Promise<FleetSummary>;
  /** A snapshot after every renew/balance round. */
  readonly metrics$: Observable<FleetMetrics>;
  /** Streams this worker holds now. */
  held(): string[];
  /** Stops reading, checkpoints every held stream, and hands its leases over at once. */
  stop(): Promise<FleetSummary>;
}

interface Held {
  readonly stream: string;
  readonly key: string;
  readonly abort: AbortController;
  consumer: Consumer | null;
  lag: Lag | null;
  fragments: number;
  fragmentsAtLastTick: number;
  readonly reconnects: Record<string, number>;
  /** When the last claim or renewal that succeeded was sent (the lease was this worker's after it). */
  renewedAt: number;
  /** Work since the last heartbeat: handler milliseconds and bytes handed to it. */
  busyMs: number;
  bytes: number;
  measuredAt: number;
  /** The stream's cost (ms of work per second), smoothed; null until measured over a second. */
  load: number | null;
  /** Measuring windows so far. */
  windows: number;
  /** Being handed to the worker that asked for it. */
  leaving: boolean;
}

/** A fleet's cost of a stream: its handler's time, 1 ms per MB read, and 1 ms per second for holding it at all. */
function costOf(busyMs: number, bytes: number, seconds: number): number {
  return 1 + (busyMs + bytes / 1e6) / seconds;
}

/** Seconds of a newly held stream whose cost is not measured (a backlog burst would look like load and move it again). */
const WARMUP_WINDOWS = 3;

/**
 * One worker of an app that reads a set of streams with any number of other workers (the Kinesis Client
 * Library's scheme, on a DynamoDB lease table; no coordinator of its own). The parts: the stream
 * selection (aws/stream-selection), the balancer (planBalance: pure, from the lease table alone), and
 * this runner, which renews its leases every renewMs on a loop of its own, reporting each stream's load
 * (handler time and bytes) with the renewal, and every round (as often) takes free leases and asks
 * busier workers for streams, so each worker's load ends up within the tolerance of the mean.
 * A stream moves from a live worker only by handoff, as KCL 3 does it: the holder learns from its
 * heartbeat that the stream is wanted, finishes the fragment in hand, checkpoints and hands the lease
 * over; the new holder starts from that checkpoint, so nothing is handled twice. Only a dead or stalled
 * worker's streams are taken without one, once its counters stand still for the lease duration (its
 * un-checkpointed fragments are then read again). A worker that stops checkpoints and releases its
 * leases at once. Each held stream runs consume() with the same handler contract, its checkpoints fenced
 * by the lease, and its handler too: a fragment is handled only within two renew rounds of the last
 * renewal that succeeded, so a stalled worker that has not yet found out its lease moved never handles
 * a fragment its successor has checkpointed.
 */
export function fleet(clients: KvsClients, options: FleetOptions): Fleet {
  const stop = linkedAbort(options.signal);
  const { app, worker: me, leases: table } = options;
  const leaseMs = options.leaseDurationMs ?? 10_000;
  const renewMs = options.renewMs ?? Math.max(50, Math.floor(leaseMs / 3));
  /** How long after its last renewal a lease lets fragments be handled. */
  const fenceMs = 2 * renewMs;
  const relistMs = options.relistMs ?? 60_000;
  const held = new Map<string, Held>();
  /** Keys being released or handed over: not adopted again while the table still names this worker. */
  const leaving = new Set<string>();
  const observed = new Map<string, { owner: string | null; counter: number; since: number; ownerSince: number }>();
  let selected: string[] = [];
  let listedAt = -Infinity;
  let taken = 0;
  let stolen = 0;
  let handedOver = 0;
  let lost = 0;
  let handled = 0;
  let failure: { error: unknown } | null = null;
  const metrics$ = new BehaviorSubject<FleetMetrics>({
    app,
    worker: me,
    streams: 0,
    workers: 1,
    leasesHeld: 0,
    leasesTaken: 0,
    leasesStolen: 0,
    leasesHandedOver: 0,
    leasesLost: 0,
    load: 0,
    meanLoad: 0,
    cpuPercent: 0,
    perStream: [],
  });
  let lastTickAt = performance.now();
  /** Rounds in a row whose plan asked for streams. */
  let wanting = 0;
  let lastCpu = process.cpuUsage();

  /** Runs a consumer for a stream whose lease this worker got at `since` (a claim or a handover). */
  const startStream = (lease: { stream: string; key: string; load?: number | null }, since: number) => {
    const abort = new AbortController();
    const entry: Held = {
      stream: lease.stream,
      key: lease.key,
      abort,
      consumer: null,
      lag: null,
      fragments: 0,
      fragmentsAtLastTick: 0,
      reconnects: {},
      renewedAt: since,
      busyMs: 0,
      bytes: 0,
      measuredAt: performance.now(),
      load: lease.load ?? null, // the previous holder's measure, until this one has its own
      windows: 0,
      leaving: false,
    };
    const live = options.consume?.live;
    const onStatus = (s: LiveStatus) => {
      if (s.type === "retrying") entry.reconnects[s.error.code] = (entry.reconnects[s.error.code] ?? 0) + 1;
      else if (s.type === "ended") entry.reconnects.idleEnd = (entry.reconnects.idleEnd ?? 0) + 1;
      live?.onStatus?.(s);
    };
    const consumer = consumeHeld(
      clients,
      lease.stream,
      {
        ...options.consume,
        live: { ...live, onStatus },
        app,
        store: options.store,
        from: options.from,
        signal: abort.signal,
        handler: async (item) => {
          const started = performance.now();
          try {
            await options.handler({ ...item, stream: lease.stream });
          } finally {
            entry.busyMs += performance.now() - started;
            for (const f of item.frames) entry.bytes += f.data.length;
          }
          entry.fragments++;
          handled++;
        },
      },
      {
        owner: me,
        fence: async (signal) => {
          while (!signal.aborted && performance.now() - entry.renewedAt >= fenceMs) await sleep(Math.min(50, renewMs), signal);
        },
      },
    );
    entry.consumer = consumer;
    consumer.lag$.subscribe((l) => (entry.lag = l));
    consumer.done.catch((e: unknown) => {
      // A handler (or store) error stops the whole worker, as it stops consume().
      failure ??= { error: e };
      stop.abort();
    });
    held.set(lease.stream, entry);
  };

  /** Stops a stream's consumer (it finishes the fragment in hand and checkpoints); then `after` passes the lease on. */
  const stopStream = async (entry: Held, after: ((key: string) => Promise<unknown>) | null) => {
    leaving.add(entry.key);
    try {
      entry.abort.abort();
      await entry.consumer?.done.catch(() => {});
      held.delete(entry.stream);
      if (after) await after(entry.key).catch(() => {});
    } finally {
      leaving.delete(entry.key);
    }
  };

  /** Consumers being stopped outside a round (lost, or handed over): the renewals do not wait for them. */
  const stopping = new Set<Promise<void>>();
  const background = (p: Promise<void>) => {
    stopping.add(p);
    void p.finally(() => stopping.delete(p));
  };
  const dropLost = (e: Held) => {
    if (held.get(e.stream) !== e || e.leaving) return; // already going
    e.leaving = true;
    lost++;
    held.delete(e.stream); // not ours: stop renewing it at once
    background(stopStream(e, null));
  };
  /** Asked for by `to`: finish and checkpoint (renewing meanwhile), then hand the lease over. */
  const handOff = (e: Held, to: string) => {
    if (e.leaving) return;
    e.leaving = true;
    background(
      stopStream(e, async (key) => {
        if (await table.handOver(key, me, to)) handedOver++;
      }),
    );
  };

  const heartbeat = async (e: Held) => {
    const now = performance.now();
    const seconds = (now - e.measuredAt) / 1000;
    if (seconds >= 1) {
      const cost = costOf(e.busyMs, e.bytes, seconds);
      // The first seconds of a stream here (its reader connecting, catching up from the checkpoint, a fresh
      // process warming up) are not its cost: until then it keeps the previous holder's measure.
      if (e.windows++ >= WARMUP_WINDOWS) e.load = e.load === null ? cost : 0.9 * e.load + 0.1 * cost;
      e.busyMs = 0;
      e.bytes = 0;
      e.measuredAt = now;
    }
    try {
      const sent = performance.now();
      const beat = await table.heartbeat(e.key, me, e.load);
      if (!beat.held)
        dropLost(e); // another worker holds it now
      else {
        e.renewedAt = sent;
        if (beat.wantedBy !== null && beat.wantedBy !== me) handOff(e, beat.wantedBy);
      }
    } catch {
      if (performance.now() - e.renewedAt >= leaseMs) dropLost(e); // could not renew in time: others may have taken it
    }
  };

  const renewAll = async () => {
    const entries = [...held.values()];
    for (let i = 0; i < entries.length; i += 16) await Promise.all(entries.slice(i, i + 16).map(heartbeat));
  };

  /**
   * Renews the held leases every renewMs on a loop of its own, apart from the balance rounds, so a long
   * round (a listing, hundreds of claims) never leaves a lease unrenewed long enough to close its fence.
   */
  const renewLoop = async (signal: AbortSignal) => {
    while (!signal.aborted) {
      await sleep(renewMs, signal);
      if (!signal.aborted) await renewAll();
    }
  };

  const tick = async () => {
    if (performance.now() - listedAt >= relistMs) {
      const names = await selectStreams(clients, options.streams, stop.signal);
      const known = new Set(selected);
      for (const n of names) if (!known.has(n)) await table.register(checkpointKey(n, app), app, n);
      selected = names;
      listedAt = performance.now();
      const wanted = new Set(names);
      for (const e of [...held.values()]) if (!wanted.has(e.stream)) await stopStream(e, (key) => table.release(key, me)); // deselected
    }
    const wanted = new Set(selected);
    const leases = (await table.list(app)).filter((l) => wanted.has(l.stream));
    const now = performance.now();
    for (const l of leases) {
      const o = observed.get(l.key);
      if (!o || o.owner !== l.owner || o.counter !== l.counter)
        observed.set(l.key, { owner: l.owner, counter: l.counter, since: now, ownerSince: o && o.owner === l.owner ? o.ownerSince : now });
    }
    // Handed over to this worker (or this worker's from before a restart): start it, once a conditional
    // renewal confirms it is still ours (the listing may predate this worker's own handover or release).
    for (const l of leases)
      if (l.owner === me && !held.has(l.stream) && !leaving.has(l.key) && !stop.signal.aborted) {
        const sent = performance.now();
        const beat = await table.heartbeat(l.key, me, l.load ?? null).catch(() => ({ held: false }));
        if (beat.held && !held.has(l.stream) && !leaving.has(l.key) && !stop.signal.aborted) {
          startStream(l, sent);
          stolen++;
        }
      }
    const views: LeaseView[] = leases.map((l) => {
      const o = observed.get(l.key)!;
      const mine = held.get(l.stream);
      return {
        key: l.key,
        owner: l.owner,
        live: l.owner === me || (l.owner !== null && now - o.since < leaseMs),
        load: mine ? mine.load : (l.load ?? null),
        wantedBy: l.wantedBy ?? null,
        settled: now - o.ownerSince >= leaseMs,
      };
    });
    const plan = planBalance(me, views, { tolerance: options.balanceTolerance });
    const byKey = new Map(leases.map((l) => [l.key, l]));
    for (const v of plan.take) {
      if (stop.signal.aborted) break;
      const l = byKey.get(v.key)!;
      const expected = l.owner === null && l.counter === 0 ? null : { owner: l.owner, counter: l.counter };
      const sent = performance.now();
      // A dead holder stopped handling: its fence closed two rounds after its last renewal, before its lease expired.
      if (await table.claim(l.key, me, expected)) {
        taken++;
        startStream(l, sent);
      }
    }
    // Streams move from live workers only for an imbalance seen three rounds running, not for a noisy measure.
    wanting = plan.request.length > 0 ? wanting + 1 : 0;
    for (const v of wanting >= 3 ? plan.request : []) {
      if (stop.signal.aborted) break;
      await table.requestHandoff(v.key, v.owner!, me);
    }
    const seconds = Math.max(0.001, (now - lastTickAt) / 1000);
    lastTickAt = now;
    const cpu = process.cpuUsage(lastCpu);
    lastCpu = process.cpuUsage();
    let load = 0;
    for (const e of held.values()) load += e.load ?? 0;
    metrics$.next({
      app,
      worker: me,
      streams: leases.length,
      workers: plan.workers,
      leasesHeld: held.size,
      leasesTaken: taken,
      leasesStolen: stolen,
      leasesHandedOver: handedOver,
      leasesLost: lost,
      load,
      meanLoad: plan.mean,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100,
      perStream: [...held.values()].map((e) => {
        const rate = (e.fragments - e.fragmentsAtLastTick) / seconds;
        e.fragmentsAtLastTick = e.fragments;
        return {
          stream: e.stream,
          millisBehindNow: e.lag?.millisBehindNow ?? null,
          queuedFragments: e.lag?.queuedFragments ?? 0,
          queuedBytes: e.lag?.queuedBytes ?? 0,
          fragments: e.fragments,
          fragmentsPerSecond: rate,
          reconnects: { ...e.reconnects },
          load: e.load,
        };
      }),
    });
  };

  const summary = (): FleetSummary => ({ worker: me, handled, leasesTaken: taken, leasesStolen: stolen, leasesHandedOver: handedOver, leasesLost: lost });
  const run = async (): Promise<FleetSummary> => {
    // Renewals go on until every lease is released: a slow shutdown must not let others take a stream
    // whose last fragment is still being checkpointed.
    const renewals = new AbortController();
    const renewing = renewLoop(renewals.signal);
    try {
      while (!stop.signal.aborted) {
        await tick();
        await sleep(renewMs, stop.signal);
      }
    } catch (e) {
      if (!stop.signal.aborted) failure ??= { error: e }; // (a stop aborts a listing or a sleep: not a failure)
    } finally {
      stop.abort();
      await Promise.all(stopping);
      // Graceful: every consumer writes its last checkpoint while still the owner, then the leases go.
      await Promise.all([...held.values()].map((e) => stopStream(e, (key) => table.release(key, me))));
      renewals.abort();
      await renewing;
      metrics$.complete();
    }
    if (failure) throw failure.error;
    return summary();
  };
  const done = run();
  done.catch(() => {});
  return {
    done,
    metrics$: metrics$.asObservable(),
    held: () => [...held.values()].filter((e) => !e.leaving).map((e) => e.stream),
    stop() {
      stop.abort();
      return done;
    },
  };
}
