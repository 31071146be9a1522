/** A fleet's cost of a stream: its handler's time, 1 ms per MB read, and 1 ms per second for holding it at all. */
export function costOf(busyMs: number, bytes: number, seconds: number): number {
  return 1 + (busyMs + bytes / 1e6) / seconds;
}

/** Seconds of a newly held stream whose cost is not measured (a backlog burst would look like load and move it again). */
export const WARMUP_WINDOWS = 3;

/**
 * What one stream held by a fleet worker costs it (ms of work per second), as reported for balancing:
 * work is added as it is done and measured over windows of a second or more (one closes when the meter is
 * sampled after it), smoothed so that each window weighs 0.1 (about 10 s). The first WARMUP_WINDOWS
 * windows (its reader connecting, catching up from the checkpoint, a fresh process warming up) are not its
 * cost: until then the load stays the previous holder's measure.
 */
export class LoadMeter {
  /** The stream's cost, smoothed; null until measured when no previous holder's measure was given. */
  load: number | null;
  private busyMs = 0;
  private bytes = 0;
  private measuredAt: number;
  private windows = 0;

  /** A meter whose first window starts at `now` (performance.now() ms), its load the previous holder's `previous`. */
  constructor(previous: number | null, now: number) {
    this.load = previous;
    this.measuredAt = now;
  }

  /** Work done for the stream: `busyMs` of handler time on `bytes` of frames. */
  add(busyMs: number, bytes: number): void {
    this.busyMs += busyMs;
    this.bytes += bytes;
  }

  /** Closes the window at `now` if it is a second old or more; the load to report. */
  sample(now: number): number | null {
    const seconds = (now - this.measuredAt) / 1000;
    if (seconds >= 1) {
      const cost = costOf(this.busyMs, this.bytes, seconds);
      if (this.windows++ >= WARMUP_WINDOWS) this.load = this.load === null ? cost : 0.9 * this.load + 0.1 * cost;
      this.busyMs = 0;
      this.bytes = 0;
      this.measuredAt = now;
    }
    return this.load;
  }
}
