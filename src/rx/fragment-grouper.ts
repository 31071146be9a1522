import type { FragmentEvent } from "../kvs/fragment.js";
import type { Frame } from "../matroska/frame.js";
import { type StreamEvent, voidsPendingFrames } from "./stream-event.js";

/** A fragment with the frames it holds (views into the stream's chunks; see Frame.copy). */
export interface FragmentWithFrames {
  readonly fragment: FragmentEvent;
  readonly frames: readonly Frame[];
}

/** What a {@link FragmentGrouper} reports. */
export interface GrouperEvents {
  /** A fragment closed, with its frames and what they were counted at. */
  onFragment(group: FragmentWithFrames, bytes: number): void;
  /** The frames gathered so far were voided (a cut fragment restarts, or was given up on); `ev` says which. */
  onVoid?(ev: StreamEvent, bytes: number): void;
  /** What a frame counts for (default: nothing is counted). */
  frameBytes?(frame: Frame): number;
}

/**
 * The one rule for grouping frames into fragments (withFrames(), the consumer's queue and the recorder
 * use it): frames gather until their `fragment` event closes them; a `fragmentDiscarded` or
 * `fragmentSkipped` event voids what was gathered (its frames come again, or never).
 */
export class FragmentGrouper {
  private frames: Frame[] = [];
  private bytes = 0;

  /** A grouper that reports to `events`. */
  constructor(private readonly events: GrouperEvents) {}

  /** Bytes of the frames gathered for the fragment not yet closed. */
  get pendingBytes(): number {
    return this.bytes;
  }

  /** Takes the next event of the stream. */
  push(ev: StreamEvent): void {
    if (ev.type === "frame") {
      this.frames.push(ev);
      if (this.events.frameBytes) this.bytes += this.events.frameBytes(ev);
    } else if (voidsPendingFrames(ev)) {
      const bytes = this.bytes;
      this.frames = [];
      this.bytes = 0;
      this.events.onVoid?.(ev, bytes);
    } else if (ev.type === "fragment") {
      const group = { fragment: ev, frames: this.frames };
      const bytes = this.bytes;
      this.frames = [];
      this.bytes = 0;
      this.events.onFragment(group, bytes);
    }
  }
}
