/** When to checkpoint: after this many handled fragments and/or this much time (ms) since the last checkpoint. */
export interface CheckpointEvery {
  readonly fragments?: number;
  readonly ms?: number;
}

/** Decides after each handled fragment whether the checkpoint should be written now. */
export class CheckpointPolicy {
  private readonly everyN: number;
  private readonly everyMs: number;
  private since = 0;
  private lastAt = performance.now();

  /** Every fragment by default. */
  constructor(every: CheckpointEvery = {}) {
    this.everyN = Math.max(1, every.fragments ?? 1);
    this.everyMs = every.ms ?? 0;
  }

  /** Counts a handled fragment; true when a checkpoint is due. */
  handled(): boolean {
    this.since++;
    return this.since >= this.everyN || (this.everyMs > 0 && performance.now() - this.lastAt >= this.everyMs);
  }

  /** A checkpoint was written. */
  written(): void {
    this.since = 0;
    this.lastAt = performance.now();
  }
}
