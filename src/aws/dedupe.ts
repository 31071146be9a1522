import { MkvParseError } from "../ebml/errors.js";
import { KvsParserError } from "../ebml/kvs-parser-error.js";
import { compareFragmentNumbers, isFragmentNumber } from "../kvs/fragment-number.js";
import type { KvsEvent } from "../kvs/parser.js";
import { KvsTag, parseKvsTimestamp } from "../kvs/tags.js";

/** A fragment some of whose frames went out before its connection was cut. */
export interface PartialFragment {
  readonly number: string;
  /** Frames of it already delivered. */
  frames: number;
  /** Its SERVER_TIMESTAMP (from the tags before its Cluster), for restarting at it. */
  readonly serverTimestampMs: number | null;
}

/** Where a reader stands: the last fragment delivered whole, and the frames of the one in progress. */
export class ReadPosition {
  /** Number of the last fragment whose `fragment` event was delivered. */
  lastCompleted: string | null;
  /** Continuation token to resume after lastCompleted (null: resume by fragment number). */
  continuationToken: string | null;
  /** Server timestamp of lastCompleted, when known. */
  lastServerTimestampMs: number | null = null;
  /** The fragment being delivered and how many of its frames went out already. */
  partial: PartialFragment | null = null;
  /** Deliver from this fragment on, inclusive (a start AT a fragment number); cleared once it is delivered. */
  startAt: string | null = null;

  /** Starts after the given fragment (or at the beginning). */
  constructor(after: { fragmentNumber: string; continuationToken?: string | null } | null = null) {
    this.lastCompleted = after?.fragmentNumber ?? null;
    this.continuationToken = after?.continuationToken ?? null;
  }
}

/** A fragment the reader needed could not be read (an exception in its place, or absent from the response). */
export class FragmentUnavailable extends KvsParserError {
  override readonly name = "FragmentUnavailable";
  /** Always "FRAGMENT_UNAVAILABLE". */
  declare readonly code: "FRAGMENT_UNAVAILABLE";
  /** Fragment `fragmentNumber` could not be read, for `reason`. */
  constructor(
    readonly fragmentNumber: string,
    readonly reason: string,
  ) {
    super("FRAGMENT_UNAVAILABLE", `fragment ${fragmentNumber} is not available: ${reason}`, {
      action: "read it again, or go on from the next fragment (it may have expired)",
    });
  }
}

/** The service started after the fragment the reader must deliver first (the "after" reading of FRAGMENT_NUMBER). */
export class MissedStartFragment extends KvsParserError {
  override readonly name = "MissedStartFragment";
  /** Always "MISSED_START_FRAGMENT". */
  declare readonly code: "MISSED_START_FRAGMENT";
  /** The reader `wanted` to start at one fragment and the service started at another (`got`). */
  constructor(
    readonly wanted: string,
    readonly got: string,
  ) {
    super("MISSED_START_FRAGMENT", `asked to start at fragment ${wanted}, the service started at ${got}`, {
      action: "read the wanted fragment with GetMediaForFragmentList, then go on with GetMedia (liveMedia does this itself)",
    });
  }
}

const PENDING = 0;
const PASS = 1;
const DROP = 2;
const SKIP = 3;

/** Most events held while a fragment's number is not known yet (its header events). */
const MAX_PENDING = 4096;

/** Options of a {@link FragmentDeduper}. */
export interface DeduperOptions {
  /**
   * GetMedia output: every fragment ends with its CONTINUATION_TOKEN tags and carries a
   * FRAGMENT_NUMBER; one that does not was cut (or the bytes are bad) and is refused with an
   * MkvParseError, so the reader fetches it again instead of passing it on incomplete.
   */
  readonly requireClosingTags: boolean;
  /**
   * GetMediaForFragmentList output for these fragments, in this order: a fragment out of turn (one was
   * left out) or one reported with an exception raises {@link FragmentUnavailable} before anything after
   * it is delivered.
   */
  readonly expected?: readonly string[];
  /** A fragment cut by the previous connection is delivered again from its first frame (else: only its frames not yet delivered). */
  readonly restartCutFragments?: boolean;
}

/**
 * Filters the events of one connection (GetMedia or GetMediaForFragmentList) so that, across
 * reconnects, every fragment and frame is delivered exactly once: fragments at or before the last
 * completed one are dropped; the frames of a fragment cut off by the previous connection are skipped up
 * to the number already delivered. A FRAGMENT_NUMBER that is not a fragment number is refused with an
 * MkvParseError (bad bytes), never passed on.
 */
export class FragmentDeduper {
  private mode = PENDING;
  private pending: KvsEvent[] = [];
  private skipFrames = 0;
  private nextExpected = 0;

  /** Creates a filter that forwards what the app has not seen yet to `emit`. */
  constructor(
    private readonly position: ReadPosition,
    private readonly emit: (event: KvsEvent) => void,
    private readonly options: DeduperOptions = { requireClosingTags: false },
  ) {}

  /** Takes the next event of the connection. */
  push(ev: KvsEvent): void {
    if (ev.type === "ebmlHeader") {
      this.flushPending();
      this.mode = PENDING;
    }
    if (this.mode === PENDING) {
      const start = ev.type === "tags" ? fragmentStart(ev) : null;
      if (start !== null) this.decide(start.number, start.serverTimestampMs);
      else if (ev.type === "fragment" || ev.type === "frame" || this.pending.length >= MAX_PENDING) {
        if (this.options.requireClosingTags) throw new MkvParseError("INVALID_VALUE", "a fragment without AWS_KINESISVIDEO_FRAGMENT_NUMBER", eventOffset(ev));
        this.flushPending(); // plain MKV or an exception document: nothing to dedupe
        this.mode = PASS;
      } else {
        this.pending.push(ev);
        return;
      }
    }
    switch (this.mode) {
      case DROP:
        return;
      case SKIP:
        if (ev.type === "frame" && this.skipFrames > 0) {
          this.skipFrames--;
          return;
        }
        if (ev.type !== "frame" && ev.type !== "fragment") return; // headers, tags: already delivered
        this.mode = PASS;
        break;
    }
    this.deliver(ev);
  }

  private decide(number: string, serverTimestampMs: number | null): void {
    const pos = this.position;
    if (
      (pos.lastCompleted !== null && compareFragmentNumbers(number, pos.lastCompleted) <= 0) ||
      (pos.startAt !== null && compareFragmentNumbers(number, pos.startAt) < 0)
    ) {
      this.pending = [];
      this.mode = DROP;
      return;
    }
    if (pos.startAt !== null && number !== pos.startAt) throw new MissedStartFragment(pos.startAt, number);
    const expected = this.options.expected;
    if (expected !== undefined) {
      while (this.nextExpected < expected.length && pos.lastCompleted !== null && compareFragmentNumbers(expected[this.nextExpected]!, pos.lastCompleted) <= 0)
        this.nextExpected++;
      const want = expected[this.nextExpected];
      if (want !== number) throw new FragmentUnavailable(want ?? number, want === undefined ? "not requested" : `the response went on with ${number}`);
      this.nextExpected++;
    }
    if (pos.partial !== null && pos.partial.number === number && !this.options.restartCutFragments) {
      this.pending = [];
      this.skipFrames = pos.partial.frames;
      this.mode = SKIP;
      return;
    }
    pos.partial = { number, frames: 0, serverTimestampMs };
    this.mode = PASS;
    this.flushPending();
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
    } else if (ev.type === "fragment") {
      if (this.options.expected !== undefined && ev.error !== null)
        throw new FragmentUnavailable(ev.fragmentNumber ?? "(no number)", `${ev.error.code}${ev.error.message ? `: ${ev.error.message}` : ""}`);
      if (this.options.requireClosingTags && (ev.fragmentNumber === null || ev.continuationToken === null)) {
        throw new MkvParseError("TRUNCATED", `fragment ${ev.fragmentNumber ?? "(no number)"} ended without its closing CONTINUATION_TOKEN tags`, ev.endOffset);
      }
      if (ev.fragmentNumber !== null) {
        pos.lastCompleted = ev.fragmentNumber;
        pos.continuationToken = ev.continuationToken;
        pos.lastServerTimestampMs = ev.serverTimestampMs;
        pos.partial = null;
        if (pos.startAt === ev.fragmentNumber) pos.startAt = null;
      }
    }
    this.emit(ev);
  }
}

function eventOffset(ev: KvsEvent): number {
  return "offset" in ev && typeof ev.offset === "number" ? ev.offset : ev.type === "fragment" ? ev.startOffset : 0;
}

/** FRAGMENT_NUMBER (validated) and SERVER_TIMESTAMP of the tags that open a KVS fragment, or null. */
function fragmentStart(ev: Extract<KvsEvent, { type: "tags" }>): { number: string; serverTimestampMs: number | null } | null {
  let number: string | null = null;
  let server: number | null = null;
  for (const tag of ev.tags) {
    for (const st of tag.simpleTags) {
      if (st.name === KvsTag.FragmentNumber) number = st.value ?? "";
      else if (st.name === KvsTag.ServerTimestamp || st.name === KvsTag.ServerSideTimestamp) server = parseKvsTimestamp(st.value ?? "");
    }
  }
  if (number === null) return null;
  if (!isFragmentNumber(number))
    throw new MkvParseError("INVALID_VALUE", `AWS_KINESISVIDEO_FRAGMENT_NUMBER ${JSON.stringify(number.slice(0, 140))} is not a fragment number`, ev.offset, [
      "Segment",
      "Tags",
    ]);
  return { number, serverTimestampMs: server };
}
