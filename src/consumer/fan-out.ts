import { Observable, type Subscriber, type Subscription } from "rxjs";
import type { KvsClients, StreamRef } from "../aws/clients.js";
import type { StartFrom } from "../aws/get-media.js";
import { liveMedia, type LiveEvent, type LiveMediaOptions } from "../aws/live-media.js";
import type { ReadGate } from "../rx/read-gate.js";
import { compareFragmentNumbers } from "../kvs/fragment-number.js";
import type { FragmentSource, SourceRequest } from "./source.js";

/** Options of {@link FanOutHub}. */
export interface FanOutOptions {
  /** Bytes of completed fragments kept for apps that join, or rejoin after catching up (default 32 MiB). */
  readonly bufferBytes?: number;
  /** Options of the shared connection and of the catch-up connections of apps that fell behind. */
  readonly live?: Omit<LiveMediaOptions, "after" | "from" | "signal" | "gate" | "resumeCutFragments">;
}

interface BufferedFragment {
  readonly number: string;
  readonly token: string | null;
  readonly events: readonly LiveEvent[];
  readonly bytes: number;
}

/** One app attached to the hub. */
interface Tap {
  readonly subscriber: Subscriber<LiveEvent>;
  readonly gate: ReadGate;
  /** Last fragment handed to the app whole, and its continuation token. */
  last: string | null;
  token: string | null;
  /** The app's own catch-up connection while it is behind the shared one. */
  own: Subscription | null;
  closed: boolean;
}

const EVENT_OVERHEAD = 96;

function eventBytes(ev: LiveEvent): number {
  return ev.type === "frame" ? ev.data.length + EVENT_OVERHEAD : EVENT_OVERHEAD;
}

/**
 * Shares one GetMedia connection among the apps of one process (KVS allows 3 per stream). Each app
 * keeps its own cursor and queue. The hub keeps the last `bufferBytes` of completed fragments, so an
 * app that joins or rejoins within that window is served from memory. An app whose queue is full (a
 * slow handler) or that starts outside the window is moved to a catch-up connection of its own, held
 * back by its queue, and rejoins the shared one once it has caught up: a slow app never holds back the
 * others, nothing is dropped, and memory stays bounded in bytes.
 */
export class FanOutHub {
  private readonly buffer: BufferedFragment[] = [];
  private held = 0;
  private partial: LiveEvent[] = [];
  private readonly taps = new Set<Tap>();
  private connection: Subscription | null = null;
  private lastCompleted: string | null = null;
  /** Where the shared connection started, and whether the buffer still holds everything since. */
  private opened: { after: string | null; from: StartFrom } | null = null;
  private evicted = false;
  /** Counters for tests and metrics. */
  readonly stats = { shared: 0, ownConnections: 0, connections: 0, detached: 0, rejoined: 0 };

  /** A hub for one stream. */
  constructor(
    private readonly clients: KvsClients,
    private readonly stream: StreamRef,
    private readonly options: FanOutOptions = {},
  ) {}

  /** Bytes of completed fragments held for joining apps (bounded by `bufferBytes`, plus the newest fragment). */
  get bufferedBytes(): number {
    return this.held;
  }

  /** A {@link FragmentSource} for consume(): the app's fragments after its checkpoint, shared when possible. */
  source(): FragmentSource {
    return (request) => this.subscribe(request);
  }

  /**
   * Events after `request.after` (or from `request.from`). With no shared connection yet, it opens one
   * from this app's position. An app within the buffered window is served from memory; one further
   * back (or starting from EARLIEST or a timestamp) catches up on a connection of its own first.
   */
  subscribe(request: SourceRequest): Observable<LiveEvent> {
    return new Observable<LiveEvent>((subscriber) => {
      if (request.signal.aborted) {
        subscriber.complete();
        return;
      }
      const tap: Tap = {
        subscriber,
        gate: request.gate,
        last: request.after?.fragmentNumber ?? null,
        token: request.after?.continuationToken ?? null,
        own: null,
        closed: false,
      };
      const onAbort = () => this.leave(tap, true);
      request.signal.addEventListener("abort", onAbort, { once: true });
      if (this.connection === null) {
        this.connect(request.after ? { fragmentNumber: request.after.fragmentNumber, continuationToken: request.after.continuationToken } : null, request.from);
        this.attach(tap, false);
      } else if (tap.last === null && isNow(request.from)) {
        this.attach(tap, false); // NOW: from what the shared connection brings next
      } else if (this.servesFromStart(tap.last, request.from) || (tap.last !== null && this.inWindow(tap.last))) {
        this.attach(tap, true);
      } else this.catchUp(tap, request.from);
      return () => {
        request.signal.removeEventListener("abort", onAbort);
        this.leave(tap, false);
      };
    });
  }

  /** Closes the shared connection and every app's source (they complete). */
  close(): void {
    for (const tap of [...this.taps]) this.leave(tap, true);
    this.shutdown();
  }

  /** The shared connection started where this app wants to, and the buffer still holds all it read. */
  private servesFromStart(after: string | null, from: StartFrom): boolean {
    const o = this.opened;
    if (o === null || this.evicted || o.after !== after) return false;
    return after !== null || JSON.stringify(o.from) === JSON.stringify(from);
  }

  private inWindow(n: string): boolean {
    return n === this.lastCompleted || this.buffer.some((b) => b.number === n);
  }

  /** Serves `tap` from the shared connection, first replaying what it has not seen (after tap.last). */
  private attach(tap: Tap, replay: boolean): void {
    this.taps.add(tap);
    this.stats.shared++;
    if (replay) {
      for (const b of this.buffer) {
        if (tap.last !== null && compareFragmentNumbers(b.number, tap.last) <= 0) continue;
        for (const ev of b.events) tap.subscriber.next(ev);
        tap.last = b.number;
        tap.token = b.token;
        if (tap.closed) return;
        if (tap.gate.wait() !== null) {
          this.detach(tap); // its queue filled up during the replay
          return;
        }
      }
    }
    for (const ev of this.partial) tap.subscriber.next(ev);
  }

  /** Moves a tap whose queue is full to a connection of its own, after the last fragment it got whole. */
  private detach(tap: Tap): void {
    this.taps.delete(tap);
    this.stats.detached++;
    this.catchUp(tap, "NOW");
  }

  /** A catch-up connection for `tap`, held back by its queue, that hands it back to the hub once caught up. */
  private catchUp(tap: Tap, from: StartFrom): void {
    this.stats.ownConnections++;
    const after = tap.last === null ? null : { fragmentNumber: tap.last, continuationToken: tap.token };
    tap.own = liveMedia(this.clients, this.stream, { ...this.options.live, resumeCutFragments: "restart", from, after, gate: tap.gate }).subscribe({
      next: (ev) => {
        tap.subscriber.next(ev);
        if (ev.type !== "fragment" || ev.fragmentNumber === null) return;
        tap.last = ev.fragmentNumber;
        tap.token = ev.continuationToken;
        // Caught up to the shared window, with room in its queue: rejoin (replaying the rest from memory).
        if (this.connection !== null && this.inWindow(ev.fragmentNumber) && tap.gate.wait() === null) {
          tap.own?.unsubscribe();
          tap.own = null;
          this.stats.rejoined++;
          queueMicrotask(() => {
            if (!tap.closed) this.attach(tap, true);
          });
        }
      },
      error: (e: unknown) => tap.subscriber.error(e),
      complete: () => tap.subscriber.complete(),
    });
  }

  private leave(tap: Tap, complete: boolean): void {
    if (tap.closed) return;
    tap.closed = true;
    tap.own?.unsubscribe();
    tap.own = null;
    this.taps.delete(tap);
    if (complete) tap.subscriber.complete();
    if (this.taps.size === 0) this.shutdown();
  }

  private shutdown(): void {
    this.connection?.unsubscribe();
    this.connection = null;
    this.buffer.length = 0;
    this.held = 0;
    this.partial = [];
    this.lastCompleted = null;
    this.opened = null;
    this.evicted = false;
  }

  private connect(after: { fragmentNumber: string; continuationToken: string | null } | null, from: StartFrom): void {
    this.lastCompleted = after?.fragmentNumber ?? null;
    this.opened = { after: after?.fragmentNumber ?? null, from };
    this.evicted = false;
    this.stats.connections++;
    const maxBytes = Math.max(1, this.options.bufferBytes ?? 32 * 1024 * 1024);
    let partialBytes = 0;
    this.connection = liveMedia(this.clients, this.stream, { ...this.options.live, resumeCutFragments: "restart", from, after }).subscribe({
      next: (ev) => {
        if (ev.type === "fragmentDiscarded" || ev.type === "fragmentSkipped") {
          // The shared connection restarts a cut fragment, or gives up on one: its events so far are void, for everyone.
          this.partial = [];
          partialBytes = 0;
          for (const tap of [...this.taps]) tap.subscriber.next(ev);
          return;
        }
        this.partial.push(ev);
        partialBytes += eventBytes(ev);
        if (ev.type === "fragment" && ev.fragmentNumber !== null) {
          this.buffer.push({ number: ev.fragmentNumber, token: ev.continuationToken, events: this.partial, bytes: partialBytes });
          this.held += partialBytes;
          while (this.buffer.length > 1 && this.held > maxBytes) {
            this.held -= this.buffer.shift()!.bytes;
            this.evicted = true;
          }
          this.partial = [];
          partialBytes = 0;
          this.lastCompleted = ev.fragmentNumber;
        }
        for (const tap of [...this.taps]) {
          tap.subscriber.next(ev);
          if (ev.type === "fragment" && ev.fragmentNumber !== null) {
            tap.last = ev.fragmentNumber;
            tap.token = ev.continuationToken;
            if (!tap.closed && tap.gate.wait() !== null) this.detach(tap); // a slow app: off the shared path
          }
        }
      },
      error: (e: unknown) => {
        for (const tap of [...this.taps]) tap.subscriber.error(e);
        this.taps.clear();
        this.shutdown();
      },
      complete: () => {
        for (const tap of [...this.taps]) tap.subscriber.complete();
        this.taps.clear();
        this.shutdown();
      },
    });
  }
}

function isNow(from: StartFrom): boolean {
  return from === "NOW" || (typeof from === "object" && from.type === "NOW");
}
