/**
 * Counts of the frames a demuxer has built since the tally was last reset: the KVS layer reads each
 * fragment's from it when the fragment ends. The demuxer counts as it builds each frame, so a layer above
 * needs no call of its own per frame.
 */
export class FrameTally {
  /** Frames counted. */
  frames = 0;
  /** Key frames among them. */
  keyframes = 0;
  /** Their payload bytes. */
  payloadBytes = 0;
  /** Frames per track number below 1024 (dense: track numbers are small); see also `overflowTracks`. */
  readonly perTrack: number[] = [];
  /** Frames per track number of 1024 and above (made when one comes). */
  overflowTracks: Map<number, number> | null = null;
  /** Timestamp (ms) of the first frame counted, null before one. */
  firstTimestampMs: number | null = null;
  /** Timestamp (ms) of the last frame counted, null before one. */
  lastTimestampMs: number | null = null;
  /** Stream offset of the first frame's payload, -1 before one. */
  firstOffset = -1;

  /** Counts one frame. */
  add(track: number, keyframe: boolean, size: number, timestampMs: number, offset: number): void {
    if (this.frames++ === 0) {
      this.firstTimestampMs = timestampMs;
      this.firstOffset = offset;
    }
    if (keyframe) this.keyframes++;
    this.payloadBytes += size;
    this.lastTimestampMs = timestampMs;
    const per = this.perTrack;
    if (track < per.length) per[track]!++;
    else this.addTrack(track);
  }

  /** Forgets every count. */
  reset(): void {
    this.frames = 0;
    this.keyframes = 0;
    this.payloadBytes = 0;
    this.perTrack.fill(0);
    this.overflowTracks = null;
    this.firstTimestampMs = null;
    this.lastTimestampMs = null;
    this.firstOffset = -1;
  }

  /** Counts a frame of a track number the dense list does not reach yet. */
  private addTrack(track: number): void {
    if (track < 1024) {
      const per = this.perTrack;
      while (per.length <= track) per.push(0);
      per[track]!++;
    } else {
      this.overflowTracks ??= new Map();
      this.overflowTracks.set(track, (this.overflowTracks.get(track) ?? 0) + 1);
    }
  }
}
