import { Observable, type Subscriber, type Subscription } from "rxjs";
import { compareFragmentNumbers } from "../kvs/fragment-number.js";
import type { KvsEvent } from "../kvs/parser.js";
import type { KvsClients } from "../aws/clients.js";
import type { StartFrom } from "../aws/get-media.js";
import { liveMedia, type LiveMediaOptions } from "../aws/live-media.js";
import type { FragmentSource } from "./consume.js";
import type { Checkpoint } from "./store.js";

/** Options of {@link FanOutHub}. */
export interface FanOutOptions {
  /** Completed fragments kept for apps that join or re-join a little behind (default 64). */
  readonly bufferFragments?: number;
  /** Where the shared connection starts when its first app has no checkpoint (default NOW). */
  readonly from?: StartFrom;
  /** Options of the shared liveMedia connection. */
  readonly live?: Omit<LiveMediaOptions, "after" | "from">;
}

interface BufferedFragment {
  readonly number: string;
  readonly events: readonly KvsEvent[];
}

/**
 * Shares one GetMedia connection among the apps of one process (KVS allows 3 per stream). Each app
 * keeps its own cursor; the hub keeps the last `bufferFragments` fragments, so an app that joins, or
 * re-joins after falling behind, within that window is served from memory. An app further behind than
 * the window (or started from an older checkpoint) gets a connection of its own (liveMedia from its
 * checkpoint), so a slow app never holds back the others and memory stays bounded.
 */
export class FanOutHub {
  private readonly buffer: BufferedFragment[] = [];
  private partial: KvsEvent[] = [];
  private readonly subscribers = new Set<Subscriber<KvsEvent>>();
  private connection: Subscription | null = null;
  private startedAfter: string | null = null;
  private lastCompleted: string | null = null;
  /** Apps served by the shared connection / by connections of their own (counters for tests and metrics). */
  readonly stats = { shared: 0, ownConnections: 0, connections: 0 };

  /** A hub for one stream. */
  constructor(private readonly clients: KvsClients, private readonly stream: string, private readonly options: FanOutOptions = {}) {}

  /** A {@link FragmentSource} for consume(): events after the app's checkpoint, shared when possible. */
  source(): FragmentSource {
    return (after) => this.subscribe(after);
  }

  /**
   * Events after `after`. With null (an app without checkpoint) the app gets the fragments still in the
   * buffer and everything after; the first subscriber opens the shared connection from its own position.
   */
  subscribe(after: Checkpoint | null): Observable<KvsEvent> {
    return new Observable<KvsEvent>((subscriber) => {
      const n = after?.fragmentNumber ?? null;
      if (this.connection === null) {
        this.connect(n, after);
        this.attach(subscriber);
        return () => this.detach(subscriber);
      }
      if (n === null || n === this.startedAfter || n === this.lastCompleted || this.buffer.some((b) => b.number === n)) {
        for (const b of this.buffer) {
          if (n === null || compareFragmentNumbers(b.number, n) > 0) for (const ev of b.events) subscriber.next(ev);
        }
        if (n === null || this.lastCompleted === null || compareFragmentNumbers(this.lastCompleted, n) >= 0) {
          for (const ev of this.partial) subscriber.next(ev);
        }
        this.attach(subscriber);
        return () => this.detach(subscriber);
      }
      // Too far behind for the shared window: a connection of its own.
      this.stats.ownConnections++;
      return liveMedia(this.clients, this.stream, { ...this.options.live, after: { fragmentNumber: n, continuationToken: after?.continuationToken ?? null } }).subscribe(subscriber);
    });
  }

  /** Closes the shared connection (apps' sources complete). */
  close(): void {
    this.connection?.unsubscribe();
    this.connection = null;
    for (const s of [...this.subscribers]) s.complete();
    this.subscribers.clear();
  }

  private attach(s: Subscriber<KvsEvent>): void {
    this.subscribers.add(s);
    this.stats.shared++;
  }

  private detach(s: Subscriber<KvsEvent>): void {
    this.subscribers.delete(s);
    if (this.subscribers.size === 0) {
      this.connection?.unsubscribe();
      this.connection = null;
      this.buffer.length = 0;
      this.partial = [];
      this.lastCompleted = null;
    }
  }

  private connect(afterNumber: string | null, after: Checkpoint | null): void {
    this.startedAfter = afterNumber;
    this.lastCompleted = afterNumber;
    this.stats.connections++;
    const max = Math.max(1, this.options.bufferFragments ?? 64);
    this.connection = liveMedia(this.clients, this.stream, {
      ...this.options.live,
      from: this.options.from,
      after: after ? { fragmentNumber: after.fragmentNumber, continuationToken: after.continuationToken } : null,
    }).subscribe({
      next: (ev) => {
        this.partial.push(ev);
        if (ev.type === "fragment" && ev.fragmentNumber !== null) {
          this.buffer.push({ number: ev.fragmentNumber, events: this.partial });
          if (this.buffer.length > max) this.buffer.shift();
          this.partial = [];
          this.lastCompleted = ev.fragmentNumber;
        }
        for (const s of this.subscribers) s.next(ev);
      },
      error: (e: unknown) => {
        for (const s of [...this.subscribers]) s.error(e);
        this.subscribers.clear();
        this.connection = null;
      },
      complete: () => {
        for (const s of [...this.subscribers]) s.complete();
        this.subscribers.clear();
        this.connection = null;
      },
    });
  }
}
