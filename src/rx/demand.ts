import { AsyncLocalStorage } from "node:async_hooks";
import type { Observable } from "rxjs";
import { defer } from "./rxjs-parts.js";
import type { ReadGate } from "./read-gate.js";

/** How one sink uses a {@link Demand}: what it holds, and whether it can free bytes by itself. */
export interface DemandAccount {
  /** The sink took `bytes` in. */
  hold(bytes: number): void;
  /** The sink is done with `bytes`: a waiting reader goes on once the budget allows. */
  release(bytes: number): void;
  /** The sink's state changed (what its `drains` or `full` say): a waiting reader goes on if it may now. */
  update(): void;
  /** The sink stopped (ended, failed or closed): it holds nothing and holds no reader back any more. */
  close(): void;
  /** Bytes this sink holds. */
  readonly heldBytes: number;
}

/** What a sink tells its {@link Demand} account. */
export interface DemandRules {
  /** True when the sink will release bytes without more input (it has work in hand); default true. */
  readonly drains?: () => boolean;
  /** True when the sink must not take more, whatever the bytes (outputs nobody took); default false. */
  readonly full?: () => boolean;
}

interface Account extends DemandAccount {
  held: number;
  closed: boolean;
  readonly rules: DemandRules;
}

/**
 * The one way sinks hold their reader back: a budget of bytes, shared by every sink of one reader. Each
 * sink holds what it takes in and releases what it is done with, in an account of its own; the reader
 * asks before each chunk (pass the Demand as its `gate`) and waits while more than `maxBytes` is held and
 * some sink holding bytes can free them by itself, or while a sink is full. So a slow sink slows the
 * reading instead of growing memory, and a sink that needs more input to move on is never starved.
 * Explicit, so it works through any operator between the reader and its sinks (filter, map, concatMap,
 * share: `const demand = new Demand(); const src = liveMedia(c, s, { gate: demand }).pipe(share());
 * src.pipe(images({ demand })); src.pipe(record({ …, demand }))`).
 */
export class Demand implements ReadGate {
  private readonly accounts = new Set<Account>();
  private held = 0;
  private space: { promise: Promise<void>; resolve: () => void } | null = null;
  private asked = false;

  /** A budget of `maxBytes` (default 32 MiB) for every sink of one reader together. */
  constructor(readonly maxBytes = 32 * 1024 * 1024) {}

  /** Bytes held by every sink together. */
  get heldBytes(): number {
    return this.held;
  }

  /** True once a reader was given this Demand (or joined it) or has asked it: the sinks are holding one back. */
  get holdsReader(): boolean {
    return this.asked;
  }

  /** A reader was given this Demand as its gate (it will ask before each chunk after its first). */
  attachReader(): void {
    this.asked = true;
  }

  /** An account for one sink, with its rules. */
  account(rules: DemandRules = {}): DemandAccount {
    const demand = this;
    const a: Account = {
      held: 0,
      closed: false,
      rules,
      get heldBytes() {
        return a.held;
      },
      hold(bytes) {
        if (a.closed) return;
        a.held += bytes;
        demand.held += bytes;
      },
      release(bytes) {
        if (a.closed) return;
        const n = Math.min(bytes, a.held);
        a.held -= n;
        demand.held -= n;
        demand.update();
      },
      update: () => demand.update(),
      close() {
        if (a.closed) return;
        demand.held -= a.held;
        a.held = 0;
        a.closed = true;
        demand.accounts.delete(a);
        demand.update();
      },
    };
    this.accounts.add(a);
    return a;
  }

  /** @inheritdoc */
  wait(): Promise<void> | null {
    this.asked = true;
    if (!this.blocked()) return null;
    if (this.space === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.space = { promise, resolve };
    }
    return this.space.promise;
  }

  private update(): void {
    if (this.space !== null && !this.blocked()) {
      const s = this.space;
      this.space = null;
      s.resolve();
    }
  }

  private blocked(): boolean {
    let draining = false;
    for (const a of this.accounts) {
      if (a.rules.full?.()) return true;
      if (a.held > 0 && (a.rules.drains?.() ?? true)) draining = true;
    }
    return draining && this.held > this.maxBytes;
  }
}

/** The gate of the sink subscribing now (set while it subscribes to its source). */
const subscribing = new AsyncLocalStorage<ReadGate>();

/**
 * Runs a sink's `subscribe` so that a reader up its chain, subscribed from it, is held by `gate` too
 * (through any operators in between that subscribe their source as they are subscribed: filter, map,
 * concatMap, …; after share() only the first sink's reaches the reader, so sinks of a shared reader
 * take one Demand explicitly).
 */
export function subscribeHolding<T>(gate: ReadGate, subscribe: () => T): T {
  return subscribing.run(gate, subscribe);
}

/**
 * A reader observable held by its `gate` option and by the gate of the sink that subscribes it (see
 * {@link subscribeHolding}); `make` builds it from the options with `gate` set to both.
 */
export function heldReader<O extends { readonly gate?: ReadGate }, T>(options: O, make: (options: O) => Observable<T>): Observable<T> {
  return defer(() => {
    const sink = subscribing.getStore();
    const given = options.gate;
    for (const g of [given, sink]) if (g instanceof Demand) g.attachReader();
    if (sink === undefined || sink === given) return make(options);
    return make({ ...options, gate: given === undefined ? sink : { wait: () => given.wait() ?? sink.wait() } });
  });
}
