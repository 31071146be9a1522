import { ListStreamsCommand, ListTagsForStreamCommand } from "@aws-sdk/client-kinesis-video";
import { BehaviorSubject, type Observable } from "rxjs";
import { linkedAbort } from "../aws/abort.js";
import { sleep } from "../aws/backoff.js";
import type { KvsClients } from "../aws/clients.js";
import type { StartFrom } from "../aws/get-media.js";
import type { LiveStatus } from "../aws/live-media.js";
import type { FragmentWithFrames } from "../rx/with-frames.js";
import { consume, type ConsumeOptions, type Consumer, type Lag } from "./consume.js";
import type { FleetLease, FleetLeaseTable } from "./lease.js";
import { checkpointKey, type CheckpointStore } from "./store.js";

/** Which streams a fleet reads: a fixed list, a function, or what ListStreams (and stream tags) select. */
export type StreamSelection =
  | readonly string[]
  | (() => Promise<readonly string[]>)
  | { readonly namePrefix?: string; readonly tags?: Readonly<Record<string, string>> };

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
  readonly leasesTaken: number;
  readonly leasesStolen: number;
  readonly leasesLost: number;
  readonly perStream: readonly StreamMetrics[];
}

/** Counts of a fleet worker's run. */
export interface FleetSummary {
  readonly worker: string;
  readonly handled: number;
  readonly leasesTaken: number;
  readonly leasesStolen: number;
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
  /** Null until it starts (a stolen stream starts two renew rounds later). */
  consumer: Consumer | null;
  lag: Lag | null;
  fragments: number;
  fragmentsAtLastTick: number;
  readonly reconnects: Record<string, number>;
  /** When the last claim or renewal that succeeded was sent (the lease was this worker's after it). */
  renewedAt: number;
}

/** Lists the streams a selection names. */
async function selectStreams(clients: KvsClients, selection: StreamSelection, signal: AbortSignal): Promise<string[]> {
  if (Array.isArray(selection)) return [...(selection as readonly string[])];
  if (typeof selection === "function") return [...(await selection())];
  const { namePrefix, tags } = selection as { namePrefix?: string; tags?: Readonly<Record<string, string>> };
  const names: { name: string; arn: string }[] = [];
  let next: string | undefined;
  do {
    const page = await clients.control.send(
      new ListStreamsCommand({
        MaxResults: 10000,
        NextToken: next,
        StreamNameCondition: namePrefix ? { ComparisonOperator: "BEGINS_WITH", ComparisonValue: namePrefix } : undefined,
      }),
      { abortSignal: signal },
    );
    for (const s of page.StreamInfoList ?? []) if (s.StreamName && s.Status !== "DELETING") names.push({ name: s.StreamName, arn: s.StreamARN ?? "" });
    next = page.NextToken || undefined;
  } while (next !== undefined);
  if (!tags || Object.keys(tags).length === 0) return names.map((n) => n.name);
  const out: string[] = [];
  for (const n of names) {
    const r = await clients.control.send(new ListTagsForStreamCommand({ StreamName: n.name }), { abortSignal: signal });
    if (Object.entries(tags).every(([k, v]) => r.Tags?.[k] === v)) out.push(n.name);
  }
  return out;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * One worker of an app that reads a set of streams with any number of other workers (the Kinesis Client
 * Library's scheme, on a DynamoDB lease table; no coordinator of its own). It renews its leases every
 * renewMs, and every round (as often) takes unowned or expired ones and steals one from the busiest
 * worker while it holds two fewer, so each worker ends up with about total/workers (±1). A dead
 * worker's streams are taken over once its counters stand still for the lease duration; a worker that
 * stops checkpoints and releases its leases at once. Each held stream runs consume() with the same
 * handler contract, its checkpoints fenced by the lease, and its handler too: a fragment is handled only
 * within two renew rounds of the last renewal that succeeded, and a stolen stream starts two renew
 * rounds after its claim, so a worker that has not yet found out its lease was stolen never handles a
 * fragment its thief has checkpointed.
 */
export function fleet(clients: KvsClients, options: FleetOptions): Fleet {
  const stop = linkedAbort(options.signal);
  const { app, worker: me, leases: table } = options;
  const leaseMs = options.leaseDurationMs ?? 10_000;
  const renewMs = options.renewMs ?? Math.max(50, Math.floor(leaseMs / 3));
  /** How long after its last renewal a lease lets fragments be handled, and how long a thief waits. */
  const fenceMs = 2 * renewMs;
  const relistMs = options.relistMs ?? 60_000;
  const held = new Map<string, Held>();
  const observed = new Map<string, { owner: string | null; counter: number; since: number }>();
  let selected: string[] = [];
  let listedAt = -Infinity;
  let taken = 0;
  let stolen = 0;
  let lost = 0;
  let handled = 0;
  let workers = 1;
  let failure: { error: unknown } | null = null;
  const metrics$ = new BehaviorSubject<FleetMetrics>({
    app,
    worker: me,
    streams: 0,
    workers: 1,
    leasesHeld: 0,
    leasesTaken: 0,
    leasesStolen: 0,
    leasesLost: 0,
    perStream: [],
  });
  let lastTickAt = performance.now();

  /**
   * Runs a consumer for a stream whose lease this worker claimed at `claimedAt`. A stolen stream starts
   * `fenceMs` later: by then its previous holder has stopped handling (its last renewal was sent before
   * this claim, and it handles only within `fenceMs` of one), so it does not handle fragments the new
   * holder checkpoints.
   */
  const startStream = (lease: FleetLease, delayMs: number, claimedAt: number) => {
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
      renewedAt: claimedAt,
    };
    const live = options.consume?.live;
    const onStatus = (s: LiveStatus) => {
      if (s.type === "retrying") entry.reconnects[s.error.code] = (entry.reconnects[s.error.code] ?? 0) + 1;
      else if (s.type === "ended") entry.reconnects.idleEnd = (entry.reconnects.idleEnd ?? 0) + 1;
      live?.onStatus?.(s);
    };
    const begin = () => {
      if (abort.signal.aborted) return;
      const consumer = consume(clients, lease.stream, {
        ...options.consume,
        live: { ...live, onStatus },
        app,
        store: options.store,
        owner: me,
        from: options.from,
        signal: abort.signal,
        fence: async (signal) => {
          while (!signal.aborted && performance.now() - entry.renewedAt >= fenceMs) await sleep(Math.min(50, renewMs), signal);
        },
        handler: async (item) => {
          await options.handler({ ...item, stream: lease.stream });
          entry.fragments++;
          handled++;
        },
      });
      entry.consumer = consumer;
      consumer.lag$.subscribe((l) => (entry.lag = l));
      consumer.done.catch((e: unknown) => {
        // A handler (or store) error stops the whole worker, as it stops consume().
        failure ??= { error: e };
        stop.abort();
      });
    };
    if (delayMs > 0) {
      const timer = setTimeout(begin, delayMs);
      abort.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
    } else begin();
    held.set(lease.stream, entry);
  };

  /** Stops a stream's consumer; `release` hands the lease over at once (graceful), else it was lost. */
  const stopStream = async (entry: Held, release: boolean) => {
    held.delete(entry.stream);
    entry.abort.abort();
    await entry.consumer?.done.catch(() => {});
    if (release) await table.release(entry.key, me).catch(() => {});
  };

  /** Consumers of lost leases still finishing: the renewals do not wait for them (one slow handler must not hold up the others). */
  const stopping = new Set<Promise<void>>();
  const dropLost = (e: Held) => {
    if (held.get(e.stream) !== e) return; // already stopped (released, or lost in an earlier round)
    lost++;
    const p = stopStream(e, false);
    stopping.add(p);
    void p.finally(() => stopping.delete(p));
  };

  const renewAll = async () => {
    const entries = [...held.values()];
    for (let i = 0; i < entries.length; i += 16) {
      await Promise.all(
        entries.slice(i, i + 16).map(async (e) => {
          try {
            const sent = performance.now();
            if (await table.renew(e.key, me)) e.renewedAt = sent;
            else dropLost(e); // another worker holds it now
          } catch {
            if (performance.now() - e.renewedAt >= leaseMs) dropLost(e); // could not renew in time: others may have taken it
          }
        }),
      );
    }
  };

  /**
   * Renews the held leases every renewMs on a loop of its own, apart from the balance rounds, so a long
   * round (a listing, hundreds of claims) never leaves a lease unrenewed long enough to close its fence.
   */
  const renewLoop = async () => {
    while (!stop.signal.aborted) {
      await sleep(renewMs, stop.signal);
      if (!stop.signal.aborted) await renewAll();
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
      for (const e of [...held.values()]) if (!wanted.has(e.stream)) await stopStream(e, true); // deselected
    }
    const wanted = new Set(selected);
    const leases = (await table.list(app)).filter((l) => wanted.has(l.stream));
    const now = performance.now();
    for (const l of leases) {
      const o = observed.get(l.key);
      if (!o || o.owner !== l.owner || o.counter !== l.counter) observed.set(l.key, { owner: l.owner, counter: l.counter, since: now });
    }
    const expired = (l: FleetLease) => l.owner === null || (l.owner !== me && now - observed.get(l.key)!.since >= leaseMs);
    const load = new Map<string, FleetLease[]>([[me, []]]);
    for (const l of leases) {
      if (held.has(l.stream)) load.get(me)!.push(l);
      else if (!expired(l) && l.owner !== me) load.set(l.owner!, [...(load.get(l.owner!) ?? []), l]);
    }
    workers = load.size;
    const target = Math.ceil(leases.length / workers);
    const claim = async (l: FleetLease): Promise<boolean> => {
      const expected = l.owner === null && l.counter === 0 ? null : { owner: l.owner, counter: l.counter };
      const sent = performance.now();
      if (!(await table.claim(l.key, me, expected))) return false;
      startStream(l, l.owner !== null && !expired(l) ? fenceMs : 0, sent); // stolen from a live worker: wait until it has stopped handling
      return true;
    };
    for (const l of shuffle(leases.filter((x) => !held.has(x.stream) && expired(x)))) {
      if (held.size >= target || stop.signal.aborted) break;
      if (await claim(l)) taken++;
    }
    // Balance: below the floor share, take from workers above it; then take one from the busiest while
    // it holds at least two more than this one. Claims are conditional: concurrent thieves cannot both win.
    const lo = Math.floor(leases.length / workers);
    const others = [...load.entries()].filter(([w]) => w !== me).sort((a, b) => b[1].length - a[1].length);
    const steal = async (from: FleetLease[]) => {
      const victim = from.splice(Math.floor(Math.random() * from.length), 1)[0]!;
      if (await claim(victim)) stolen++;
    };
    for (const [, theirs] of others) while (held.size < lo && theirs.length > lo && !stop.signal.aborted) await steal(theirs);
    const busiest = others.sort((a, b) => b[1].length - a[1].length)[0];
    if (busiest && busiest[1].length - held.size >= 2 && !stop.signal.aborted) await steal(busiest[1]);
    const seconds = Math.max(0.001, (now - lastTickAt) / 1000);
    lastTickAt = now;
    metrics$.next({
      app,
      worker: me,
      streams: leases.length,
      workers,
      leasesHeld: held.size,
      leasesTaken: taken,
      leasesStolen: stolen,
      leasesLost: lost,
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
        };
      }),
    });
  };

  const summary = (): FleetSummary => ({ worker: me, handled, leasesTaken: taken, leasesStolen: stolen, leasesLost: lost });
  const run = async (): Promise<FleetSummary> => {
    const renewing = renewLoop();
    try {
      while (!stop.signal.aborted) {
        await tick();
        await sleep(renewMs, stop.signal);
      }
    } catch (e) {
      if (!stop.signal.aborted) failure ??= { error: e }; // (a stop aborts a listing or a sleep: not a failure)
    } finally {
      stop.abort(); // (a failed round ends the renewals too)
      await renewing;
      await Promise.all(stopping);
      // Graceful: every consumer writes its last checkpoint while still the owner, then the leases go.
      await Promise.all([...held.values()].map((e) => stopStream(e, true)));
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
    held: () => [...held.keys()],
    stop() {
      stop.abort();
      return done;
    },
  };
}
