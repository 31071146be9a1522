import { sleep } from "../aws/backoff.js";
import { KvsParserError } from "../ebml/kvs-parser-error.js";

/** The lease record of one (stream, app): who holds it and its heartbeat counter. */
export interface LeaseState {
  readonly owner: string | null;
  readonly counter: number;
}

/** Storage for leases with conditional (compare-and-set) writes. */
export interface LeaseTable {
  /** The current lease record, or null when there is none. */
  read(key: string): Promise<LeaseState | null>;
  /** Sets `owner` and bumps the counter if the record still equals `expected`; true on success. */
  claim(key: string, owner: string, expected: LeaseState | null): Promise<boolean>;
  /** Bumps the counter if `owner` still holds the lease; false when it was lost. */
  renew(key: string, owner: string): Promise<boolean>;
  /** Gives the lease up if `owner` holds it. */
  release(key: string, owner: string): Promise<void>;
}

/** One lease of an app's fleet: a stream, who holds it and its heartbeat counter. */
export interface FleetLease extends LeaseState {
  readonly key: string;
  readonly stream: string;
  /** A worker that asked the holder to hand the stream over (null: none). */
  readonly wantedBy?: string | null;
  /** What the stream costs its holder, as the holder last reported it (ms of work per second). */
  readonly load?: number | null;
}

/** What a holder's heartbeat learns. */
export interface Heartbeat {
  /** False when the lease is no longer this worker's. */
  readonly held: boolean;
  /** A worker that asked for the stream (the holder finishes, checkpoints and hands it over). */
  readonly wantedBy: string | null;
}

/** A lease table that can also list and register the leases of an app, and hand leases over (for fleets of workers). */
export interface FleetLeaseTable extends LeaseTable {
  /** Every lease registered for `app`. */
  list(app: string): Promise<FleetLease[]>;
  /** Makes sure the lease record of (stream, app) exists (idempotent; an existing owner is kept). */
  register(key: string, app: string, stream: string): Promise<void>;
  /** Renews as `owner` and records the stream's `load`; says whether a worker asked for the stream. */
  heartbeat(key: string, owner: string, load: number | null): Promise<Heartbeat>;
  /** Asks the holder `owner` to hand the lease to `to`, if `owner` still holds it and nobody asked first; true on success. */
  requestHandoff(key: string, owner: string, to: string): Promise<boolean>;
  /** Passes the lease from `owner` to `to` (bumping the counter, clearing the request); true if `owner` still held it. */
  handOver(key: string, owner: string, to: string): Promise<boolean>;
}

/** Timing of a lease. */
export interface LeaseOptions {
  /** Who this worker is (unique per process). */
  readonly owner: string;
  /** How long a holder's counter must stand still before another worker takes over (default 10 000 ms). */
  readonly failoverMs?: number;
  /** How often the holder renews and others look (default failoverMs / 3). */
  readonly renewMs?: number;
}

/** A lease this worker held is gone: another worker took it, or it could not be renewed in time (see `cause`). */
export class LeaseLostError extends KvsParserError {
  override readonly name = "LeaseLostError";
  /** Always "LEASE_LOST". */
  declare readonly code: "LEASE_LOST";
  /** The lease `key` held by `owner` is gone, for the reason in `message` (and `cause`). */
  constructor(
    readonly key: string,
    readonly owner: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super("LEASE_LOST", `lease ${key} lost by ${owner}: ${message}`, {
      ...options,
      action: "stop working on what the lease covered (another worker has it now); acquire it again to resume",
    });
  }
}

/** A held lease: renewed in the background until released or lost. */
export interface Lease {
  readonly key: string;
  readonly owner: string;
  /** Aborted when the lease is lost (reason: a {@link LeaseLostError}) or released. */
  readonly signal: AbortSignal;
  /** Stops renewing and gives the lease up. */
  release(): Promise<void>;
}

/**
 * Waits until this worker holds the lease for `key` (KCL style: a holder proves it is alive by bumping
 * a counter; a counter that stands still for failoverMs lets another worker take over with a
 * conditional write), then keeps renewing it. Resolves null if `signal` aborts first; rejects with the
 * table's own error (access denied, say) rather than hiding it as "lease lost".
 */
export async function acquireLease(table: LeaseTable, key: string, options: LeaseOptions, signal?: AbortSignal): Promise<Lease | null> {
  const failoverMs = options.failoverMs ?? 10_000;
  const renewMs = options.renewMs ?? Math.max(50, Math.floor(failoverMs / 3));
  let observed: LeaseState | null = null;
  let observedAt = 0;
  while (!signal?.aborted) {
    const current = await table.read(key);
    const now = performance.now();
    let take = false;
    if (current === null || current.owner === null || current.owner === options.owner) take = true;
    else if (observed && observed.owner === current.owner && observed.counter === current.counter) take = now - observedAt >= failoverMs;
    else {
      observed = current;
      observedAt = now;
    }
    const sent = performance.now();
    if (take && (await table.claim(key, options.owner, current))) return holdLease(table, key, options.owner, renewMs, failoverMs, sent);
    // The next look comes renewMs on, or just after the counter seen would have stood still for failoverMs.
    await sleep(take ? renewMs : Math.max(1, Math.min(renewMs, observedAt + failoverMs - now + 1)), signal);
  }
  return null;
}

/**
 * Renews a lease claimed at `claimedAt` every renewMs. It is lost failoverMs after the last renewal that
 * succeeded was sent, by a timer, even while a renewal hangs: others take it failoverMs after they saw
 * that renewal (which was written after it was sent), so the holder always knows first.
 */
function holdLease(table: LeaseTable, key: string, owner: string, renewMs: number, failoverMs: number, claimedAt: number): Lease {
  const ctl = new AbortController();
  let lastError: unknown;
  let expiry: NodeJS.Timeout | undefined;
  // The lease ends failoverMs after a renewal (or the claim) sent at `sent` that succeeded, unless another one succeeds first.
  const expireAfter = (sent: number) => {
    clearTimeout(expiry);
    expiry = setTimeout(
      () => ctl.abort(new LeaseLostError(key, owner, `not renewed for ${failoverMs} ms`, { cause: lastError })),
      Math.max(0, sent + failoverMs - performance.now()),
    );
  };
  expireAfter(claimedAt);
  void (async () => {
    while (!ctl.signal.aborted) {
      await sleep(renewMs, ctl.signal);
      if (ctl.signal.aborted) break;
      const sent = performance.now();
      try {
        if (!(await table.renew(key, owner))) {
          ctl.abort(new LeaseLostError(key, owner, "another worker holds it now"));
          break;
        }
        if (!ctl.signal.aborted) expireAfter(sent);
      } catch (e) {
        lastError = e; // throttling or a network error: keep trying until the lease runs out
      }
    }
    clearTimeout(expiry);
  })();
  return {
    key,
    owner,
    signal: ctl.signal,
    async release() {
      // Not waiting for a renewal under way: it may never answer, and once released it finds the lease not ours.
      ctl.abort();
      clearTimeout(expiry);
      await table.release(key, owner);
    },
  };
}

/** Leases in memory (tests, several workers in one process). */
export class MemoryLeaseTable implements FleetLeaseTable {
  private readonly items = new Map<string, { owner: string | null; counter: number; wantedBy: string | null; load: number | null }>();
  private readonly registered = new Map<string, { app: string; stream: string }>();
  /** @inheritdoc */
  async list(app: string): Promise<FleetLease[]> {
    const out: FleetLease[] = [];
    for (const [key, r] of this.registered) {
      if (r.app !== app) continue;
      const s = this.items.get(key);
      out.push({ key, stream: r.stream, owner: s?.owner ?? null, counter: s?.counter ?? 0, wantedBy: s?.wantedBy ?? null, load: s?.load ?? null });
    }
    return out;
  }
  /** @inheritdoc */
  async register(key: string, app: string, stream: string): Promise<void> {
    this.registered.set(key, { app, stream });
  }
  /** @inheritdoc */
  async read(key: string): Promise<LeaseState | null> {
    const s = this.items.get(key);
    return s ? { owner: s.owner, counter: s.counter } : null;
  }
  /** @inheritdoc */
  async claim(key: string, owner: string, expected: LeaseState | null): Promise<boolean> {
    const cur = this.items.get(key) ?? null;
    if ((cur?.owner ?? null) !== (expected?.owner ?? null) || (cur?.counter ?? 0) !== (expected?.counter ?? 0)) return false;
    this.items.set(key, { owner, counter: (cur?.counter ?? 0) + 1, wantedBy: null, load: cur?.load ?? null });
    return true;
  }
  /** @inheritdoc */
  async renew(key: string, owner: string): Promise<boolean> {
    return (await this.heartbeat(key, owner, this.items.get(key)?.load ?? null)).held;
  }
  /** @inheritdoc */
  async heartbeat(key: string, owner: string, load: number | null): Promise<Heartbeat> {
    const cur = this.items.get(key);
    if (!cur || cur.owner !== owner) return { held: false, wantedBy: null };
    this.items.set(key, { ...cur, counter: cur.counter + 1, load: load ?? cur.load });
    return { held: true, wantedBy: cur.wantedBy };
  }
  /** @inheritdoc */
  async requestHandoff(key: string, owner: string, to: string): Promise<boolean> {
    const cur = this.items.get(key);
    if (!cur || cur.owner !== owner || cur.wantedBy !== null) return false;
    this.items.set(key, { ...cur, wantedBy: to });
    return true;
  }
  /** @inheritdoc */
  async handOver(key: string, owner: string, to: string): Promise<boolean> {
    const cur = this.items.get(key);
    if (!cur || cur.owner !== owner) return false;
    this.items.set(key, { ...cur, owner: to, counter: cur.counter + 1, wantedBy: null });
    return true;
  }
  /** @inheritdoc */
  async release(key: string, owner: string): Promise<void> {
    const cur = this.items.get(key);
    if (cur?.owner === owner) this.items.set(key, { ...cur, owner: null, counter: cur.counter + 1, wantedBy: null });
  }
}
