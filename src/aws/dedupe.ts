import { compareFragmentNumbers } from "../kvs/fragment-number.js";
import type { KvsEvent } from "../kvs/parser.js";
import { KvsTag } from "../kvs/tags.js";

/** Where a reader stands: the last fragment delivered whole, and the frames of the one in progress. */
export class ReadPosition {
  /** Number of the last fragment whose `fragment` event was delivered. */
  lastCompleted: string | null;
  /** Continuation token to resume after lastCompleted. */
  continuationToken: string | null;
  /** The fragment being delivered and how many of its frames went out already. */
  partial: { number: string; frames: number } | null = null;

  /** Starts after the given fragment (or at the beginning). */
  constructor(after: { fragmentNumber: string; continuationToken?: string | null } | null = null) {
    this.lastCompleted = after?.fragmentNumber ?? null;
    this.continuationToken = after?.continuationToken ?? null;
  }
}

const enum Mode {
  Unknown,
  Pass,
  Drop,
  Skip,
}

/** Most events buffered while a fragment's number is not known yet (its header events). */
const MAX_PENDING = 4096;

/**
 * Filters the events of one GetMedia connection so that, across reconnects, every fragment and frame
 * is delivered exactly once: fragments at or before the last completed one are dropped; the frames of
 * a fragment cut off by the previous connection are skipped up to the number already delivered.
 */
export class FragmentDeduper {
  private mode = Mode.Unknown;
  private pending: KvsEvent[] = [];
  private skipFrames = 0;

  /** Creates a filter that forwards what the app has not seen yet to `emit`. */
  constructor(private readonly position: ReadPosition, private readonly emit: (event: KvsEvent) => void) {}

  /** Takes the next event of the connection. */
  push(ev: KvsEvent): void {
    if (ev.type === "ebmlHeader") {
      this.flushPending();
      this.mode = Mode.Unknown;
    }
    if (this.mode === Mode.Unknown) {
      const number = ev.type === "frame" ? ev.fragmentNumber : ev.type === "tags" ? findFragmentNumber(ev) : undefined;
      if (number) this.decide(number);
      else if (ev.type === "fragment" || ev.type === "frame" || this.pending.length >= MAX_PENDING) {
        this.flushPending(); // a fragment without a number (plain MKV, error document): nothing to dedupe
        this.mode = Mode.Pass;
      } else {
        this.pending.push(ev);
        return;
      }
    }
    switch (this.mode) {
      case Mode.Drop:
        return;
      case Mode.Skip:
        if (ev.type === "frame" && this.skipFrames > 0) {
          this.skipFrames--;
          return;
        }
        if (ev.type !== "frame" && ev.type !== "fragment") return; // headers, tags: already delivered
        this.mode = Mode.Pass;
        break;
    }
    this.deliver(ev);
  }

  private decide(number: string): void {
    const pos = this.position;
    if (pos.lastCompleted !== null && compareFragmentNumbers(number, pos.lastCompleted) <= 0) {
      this.pending = [];
      this.mode = Mode.Drop;
    } else if (pos.partial !== null && pos.partial.number === number) {
      this.pending = [];
      this.skipFrames = pos.partial.frames;
      this.mode = Mode.Skip;
    } else {
      this.mode = Mode.Pass;
      this.flushPending();
    }
  }

  private flushPending(): void {
    const p = this.pending;
    this.pending = [];
    for (const ev of p) this.deliver(ev);
  }

  private deliver(ev: KvsEvent): void {
    const pos = this.position;
    if (ev.type === "frame" && ev.fragmentNumber !== null) {
      if (pos.partial?.number === ev.fragmentNumber) pos.partial.frames++;
      else pos.partial = { number: ev.fragmentNumber, frames: 1 };
    } else if (ev.type === "fragment" && ev.fragmentNumber !== null) {
      pos.lastCompleted = ev.fragmentNumber;
      pos.continuationToken = ev.continuationToken ?? pos.continuationToken;
      pos.partial = null;
    }
    this.emit(ev);
  }
}

function findFragmentNumber(ev: Extract<KvsEvent, { type: "tags" }>): string | undefined {
  for (const tag of ev.tags) for (const st of tag.simpleTags) if (st.name === KvsTag.FragmentNumber && st.value) return st.value;
  return undefined;
}
