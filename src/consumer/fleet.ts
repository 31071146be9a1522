import { BehaviorSubject, type Observable } from "rxjs";
import { type LinkedAbort, linkedAbort, raceAbort } from "../aws/abort.js";
import { sleep } from "../aws/backoff.js";
import type { KvsClients } from "../aws/clients.js";
import type { StartFrom } from "../aws/get-media.js";
import { selectStreams, type StreamSelection } from "../aws/stream-selection.js";
import { type BalancePlan, type LeaseView, planBalance } from "./balancer.js";
import type { ConsumeOptions } from "./consume.js";
import { type FleetItem, HeldStream, type HeldStreamContext, type StreamMetrics } from "./fleet-stream.js";
import type { FleetLease, FleetLeaseTable } from "./lease.js";
import { checkpointKey, type CheckpointStore } from "./store.js";

export type { FleetItem, StreamMetrics } from "./fleet-stream.js";

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

/** What the listings showed of a lease: its holder and counter, and since when they stand as they are. */
interface Observed {
  readonly owner: string | null;
  readonly counter: number;
  /** Since when the holder and counter are unchanged (a holder whose counter stands still for the lease duration is dead). */
  readonly since: number;
  /** Since when the holder is unchanged (a stream that just moved is not moved again so soon). */
  readonly ownerSince: number;
}

/**
 * One worker of an app that reads a set of streams with any number of other workers (the Kinesis Client
 * Library's scheme, on a DynamoDB lease table; no coordinator of its own). The parts: the stream
 * selection (aws/stream-selection), the balancer (planBalance: pure, from the lease table alone), each
 * held stream (HeldStream: its consumer, its fence, its LoadMeter), and this runner, which renews its
 * leases every renewMs on a loop of its own, reporting each stream's load (handler time and bytes) with
 * the renewal, and every round (as often) takes free leases and asks
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
  const worker = new FleetWorker(clients, options);
  const done = worker.run();
  done.catch(() => {});
  return {
    done,
    metrics$: worker.metrics$.asObservable(),
    held: () => worker.heldStreams(),
    stop() {
      worker.stop.abort();
      return done;
    },
  };
}

/** The runner of {@link fleet}: its rounds, its renewals, and the moves of its streams. */
class FleetWorker {
  readonly stop: LinkedAbort;
  readonly metrics$: BehaviorSubject<FleetMetrics>;
  private readonly clients: KvsClients;
  private readonly options: FleetOptions;
  private readonly app: string;
  private readonly me: string;
  private readonly table: FleetLeaseTable;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly relistMs: number;
  /** How each held stream's consumer runs. */
  private readonly context: HeldStreamContext;
  private readonly held = new Map<string, HeldStream>();
  /** Keys being released or handed over: not adopted again while the table still names this worker. */
  private readonly leaving = new Set<string>();
  private readonly observed = new Map<string, Observed>();
  /** Consumers being stopped outside a round (lost, or handed over): the renewals do not wait for them. */
  private readonly stopping = new Set<Promise<void>>();
  private selected: string[] = [];
  private listedAt = -Infinity;
  private taken = 0;
  private stolen = 0;
  private handedOver = 0;
  private lost = 0;
  private handled = 0;
  private failure: { error: unknown } | null = null;
  private lastTickAt: number;
  /** Rounds in a row whose plan asked for streams. */
  private wanting = 0;
  private lastCpu: NodeJS.CpuUsage;

  constructor(clients: KvsClients, options: FleetOptions) {
    this.stop = linkedAbort(options.signal);
    this.clients = clients;
    this.options = options;
    this.app = options.app;
    this.me = options.worker;
    this.table = options.leases;
    this.leaseMs = options.leaseDurationMs ?? 10_000;
    this.renewMs = options.renewMs ?? Math.max(50, Math.floor(this.leaseMs / 3));
    this.relistMs = options.relistMs ?? 60_000;
    this.context = {
      clients,
      app: this.app,
      worker: this.me,
      store: options.store,
      from: options.from,
      consume: options.consume,
      handler: options.handler,
      fenceMs: 2 * this.renewMs, // how long after its last renewal a lease lets fragments be handled
      renewMs: this.renewMs,
      onHandled: () => {
        this.handled++;
      },
      onFailure: (e) => {
        // A handler (or store) error stops the whole worker, as it stops consume().
        this.failure ??= { error: e };
        this.stop.abort();
      },
    };
    this.metrics$ = new BehaviorSubject<FleetMetrics>({
      app: this.app,
      worker: this.me,
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
    this.lastTickAt = performance.now();
    this.lastCpu = process.cpuUsage();
  }

  /** Streams held and not being handed over or dropped. */
  heldStreams(): string[] {
    return [...this.held.values()].filter((e) => !e.leaving).map((e) => e.stream);
  }

  /** Rounds until stopped (or failed), then a graceful end: every stream checkpointed, every lease released. */
  async run(): Promise<FleetSummary> {
    // Renewals go on until every lease is released: a slow shutdown must not let others take a stream
    // whose last fragment is still being checkpointed.
    const renewals = new AbortController();
    const renewing = this.renewLoop(renewals.signal);
    try {
      while (!this.stop.signal.aborted) {
        const began = performance.now();
        await raceAbort(this.tick(), this.stop.signal); // a stop does not wait for a table call that never answers
        await sleep(this.untilNextRound(began), this.stop.signal);
      }
    } catch (e) {
      if (!this.stop.signal.aborted) this.failure ??= { error: e }; // (a stop aborts a listing or a sleep: not a failure)
    } finally {
      this.stop.abort();
      await Promise.all(this.stopping);
      // Graceful: every consumer writes its last checkpoint while still the owner, then the leases go.
      await Promise.all([...this.held.values()].map((e) => this.stopStream(e, (key) => this.table.release(key, this.me))));
      renewals.abort();
      await renewing;
      this.metrics$.complete();
    }
    if (this.failure) throw this.failure.error;
    return this.summary();
  }

  private summary(): FleetSummary {
    const { me: worker, handled, taken, stolen, handedOver, lost } = this;
    return { worker, handled, leasesTaken: taken, leasesStolen: stolen, leasesHandedOver: handedOver, leasesLost: lost };
  }

  /** Runs a consumer for a stream whose lease this worker got at `since` (a claim or a handover). */
  private startStream(lease: FleetLease, since: number): void {
    this.held.set(lease.stream, new HeldStream(lease, since, this.context));
  }

  /** Stops a stream's consumer (it finishes the fragment in hand and checkpoints); then `after` passes the lease on. */
  private async stopStream(entry: HeldStream, after: ((key: string) => Promise<unknown>) | null): Promise<void> {
    this.leaving.add(entry.key);
    try {
      await entry.stop();
      this.held.delete(entry.stream);
      if (after) await after(entry.key).catch(() => {});
    } finally {
      this.leaving.delete(entry.key);
    }
  }

  private background(p: Promise<void>): void {
    this.stopping.add(p);
    void p.finally(() => this.stopping.delete(p));
  }

  private dropLost(e: HeldStream): void {
    if (this.held.get(e.stream) !== e || e.leaving) return; // already going
    e.leaving = true;
    this.lost++;
    this.held.delete(e.stream); // not ours: stop renewing it at once
    this.background(this.stopStream(e, null));
  }

  /** Asked for by `to`: finish and checkpoint (renewing meanwhile), then hand the lease over. */
  private handOff(e: HeldStream, to: string): void {
    if (e.leaving) return;
    e.leaving = true;
    this.background(
      this.stopStream(e, async (key) => {
        if (await this.table.handOver(key, this.me, to)) this.handedOver++;
      }),
    );
  }

  /** Renews one lease, reporting the stream's load; learns from the answer whether it was lost or is wanted. */
  private async heartbeat(e: HeldStream): Promise<void> {
    const load = e.meter.sample(performance.now());
    e.renewing = true;
    try {
      const sent = performance.now();
      const beat = await this.table.heartbeat(e.key, this.me, load);
      if (!beat.held)
        this.dropLost(e); // another worker holds it now
      else {
        e.renewedAt = sent;
        if (beat.wantedBy !== null && beat.wantedBy !== this.me) this.handOff(e, beat.wantedBy);
      }
    } catch {
      if (performance.now() - e.renewedAt >= this.leaseMs) this.dropLost(e); // could not renew in time: others may have taken it
    } finally {
      e.renewing = false;
    }
  }

  /**
   * Renews every held lease, 16 side by side. A renewal not answered within renewMs is left to finish
   * on its own, so one that never answers holds back none of the others; its lease gets no second renewal
   * beside it, and is given up once the lease duration has passed since its last renewal that succeeded.
   */
  private async renewAll(): Promise<void> {
    const now = performance.now();
    const due: HeldStream[] = [];
    for (const e of this.held.values()) {
      if (!e.renewing) due.push(e);
      else if (now - e.renewedAt >= this.leaseMs) this.dropLost(e); // its renewal hangs: others may have taken it
    }
    await inBatches(due, (e) => within(this.heartbeat(e), this.renewMs, undefined));
  }

  /**
   * How long until the next round: renewMs after this one `began` (a quarter of it at least, when a round
   * runs long), or sooner, just after the first lease another worker holds expires, so that a dead
   * holder's stream is claimed when its lease runs out, not up to a round later.
   */
  private untilNextRound(began: number): number {
    const now = performance.now();
    let next = Math.max(this.renewMs / 4, began + this.renewMs - now);
    for (const o of this.observed.values()) {
      const expiresIn = o.since + this.leaseMs - now;
      if (o.owner !== null && o.owner !== this.me && expiresIn > 0) next = Math.min(next, expiresIn + 1);
    }
    return Math.max(1, next);
  }

  /**
   * Renews the held leases every renewMs on a loop of its own, apart from the balance rounds, so a long
   * round (a listing, hundreds of claims) never leaves a lease unrenewed long enough to close its fence.
   */
  private async renewLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.renewMs, signal);
      if (!signal.aborted) await this.renewAll();
    }
  }

  /** One round: the selection listed again when due, the lease table read, streams adopted, taken and asked for; then the metrics. */
  private async tick(): Promise<void> {
    if (performance.now() - this.listedAt >= this.relistMs) await this.relist();
    const wanted = new Set(this.selected);
    const leases = (await this.table.list(this.app)).filter((l) => wanted.has(l.stream));
    const now = performance.now();
    this.observe(leases, now);
    await this.adoptHandedOver(leases);
    const plan = await this.balance(leases, now);
    this.publishMetrics(leases.length, plan, now);
  }

  /** Lists the stream selection: registers the new streams' leases, releases the streams no longer selected. */
  private async relist(): Promise<void> {
    const names = await selectStreams(this.clients, this.options.streams, this.stop.signal);
    const known = new Set(this.selected);
    for (const n of names) if (!known.has(n)) await this.table.register(checkpointKey(n, this.app), this.app, n);
    this.selected = names;
    this.listedAt = performance.now();
    const wanted = new Set(names);
    for (const e of [...this.held.values()]) if (!wanted.has(e.stream)) await this.stopStream(e, (key) => this.table.release(key, this.me)); // deselected
  }

  private observe(leases: readonly FleetLease[], now: number): void {
    for (const l of leases) {
      const o = this.observed.get(l.key);
      if (!o || o.owner !== l.owner || o.counter !== l.counter)
        this.observed.set(l.key, { owner: l.owner, counter: l.counter, since: now, ownerSince: o && o.owner === l.owner ? o.ownerSince : now });
    }
  }

  /**
   * Handed over to this worker (or this worker's from before a restart): starts it, once a conditional
   * renewal confirms it is still ours (the listing may predate this worker's own handover or release).
   */
  private async adoptHandedOver(leases: readonly FleetLease[]): Promise<void> {
    const { held, leaving, stop, me } = this;
    for (const l of leases)
      if (l.owner === me && !held.has(l.stream) && !leaving.has(l.key) && !stop.signal.aborted) {
        const sent = performance.now();
        // Not answered within a renewal's time: not adopted this round (the round goes on; a hung call holds nothing back).
        const notHeld = { held: false };
        const beat = await within(
          this.table.heartbeat(l.key, me, l.load ?? null).catch(() => notHeld),
          this.renewMs,
          notHeld,
        );
        if (beat.held && !held.has(l.stream) && !leaving.has(l.key) && !stop.signal.aborted) {
          this.startStream(l, sent);
          this.stolen++;
        }
      }
  }

  /** Plans the round from the lease table ({@link planBalance}) and carries it out: free leases claimed, busier workers asked. */
  private async balance(leases: readonly FleetLease[], now: number): Promise<BalancePlan> {
    const views: LeaseView[] = leases.map((l) => {
      const o = this.observed.get(l.key)!;
      const mine = this.held.get(l.stream);
      return {
        key: l.key,
        owner: l.owner,
        live: l.owner === this.me || (l.owner !== null && now - o.since < this.leaseMs),
        load: mine ? mine.load : (l.load ?? null),
        wantedBy: l.wantedBy ?? null,
        settled: now - o.ownerSince >= this.leaseMs,
      };
    });
    const plan = planBalance(this.me, views, { tolerance: this.options.balanceTolerance });
    const byKey = new Map(leases.map((l) => [l.key, l]));
    // Claimed side by side: a dead worker's streams are all read again at once, not one table write after another.
    await inBatches(plan.take, async (v) => {
      if (this.stop.signal.aborted) return;
      const l = byKey.get(v.key)!;
      const expected = l.owner === null && l.counter === 0 ? null : { owner: l.owner, counter: l.counter };
      const sent = performance.now();
      // A dead holder stopped handling: its fence closed two rounds after its last renewal, before its lease expired.
      if (await this.table.claim(l.key, this.me, expected)) {
        if (this.stop.signal.aborted) {
          await this.table.release(l.key, this.me).catch(() => {}); // won after the worker stopped (answered late): given back, not started
          return;
        }
        this.taken++;
        this.startStream(l, sent);
      }
    });
    // Streams move from live workers only for an imbalance seen three rounds running, not for a noisy measure.
    this.wanting = plan.request.length > 0 ? this.wanting + 1 : 0;
    for (const v of this.wanting >= 3 ? plan.request : []) {
      if (this.stop.signal.aborted) break;
      await this.table.requestHandoff(v.key, v.owner!, this.me);
    }
    return plan;
  }

  /** The round's snapshot: `streams` leases selected, the round's `plan`, taken at `now`. */
  private publishMetrics(streams: number, plan: BalancePlan, now: number): void {
    const seconds = Math.max(0.001, (now - this.lastTickAt) / 1000);
    this.lastTickAt = now;
    const cpu = process.cpuUsage(this.lastCpu);
    this.lastCpu = process.cpuUsage();
    let load = 0;
    for (const e of this.held.values()) load += e.load ?? 0;
    this.metrics$.next({
      app: this.app,
      worker: this.me,
      streams,
      workers: plan.workers,
      leasesHeld: this.held.size,
      leasesTaken: this.taken,
      leasesStolen: this.stolen,
      leasesHandedOver: this.handedOver,
      leasesLost: this.lost,
      load,
      meanLoad: plan.mean,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100,
      perStream: [...this.held.values()].map((e) => e.metrics(seconds)),
    });
  }
}

/** `work`'s value (it must not reject), or `late` once `ms` have passed without one; the work goes on, unwaited. */
function within<T>(work: Promise<T>, ms: number, late: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((r) => (timer = setTimeout(() => r(late), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Runs `f` on every item, 16 at a time (the lease table's writes side by side, but not hundreds at once);
 * every call settles before the first failure is thrown, so none finishes behind the caller's back.
 */
async function inBatches<T>(items: readonly T[], f: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += 16) {
    const failed = (await Promise.allSettled(items.slice(i, i + 16).map(f))).find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
  }
}
