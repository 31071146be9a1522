/** What the assembler needs of an RTP packet. */
export interface RtpPacketLike {
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly marker: boolean;
  readonly payload: Uint8Array;
}

/** Where whole frames and losses go. */
export interface AssemblerSink {
  /** The packets of one whole frame, in sequence order (none missing). */
  frame(packets: readonly RtpPacketLike[]): void;
  /** Frames given up: `frames` of them (whole or not) were not handed out, for `reason`. */
  dropped(frames: number, reason: "loss" | "awaitingKeyframe"): void;
  /** A video frame was lost: ask the sender for a keyframe (PLI). */
  needKeyframe(): void;
}

/** Options of {@link RtpFrameAssembler}. */
export interface RtpAssemblerOptions {
  /** Audio: every packet is a frame, a loss costs only the lost packets. Video: frames end at the marker and a loss waits for a keyframe. */
  readonly audio: boolean;
  /** True when a whole video frame's packets make a keyframe. */
  readonly isKeyframe: (packets: readonly RtpPacketLike[]) => boolean;
  /** True when a packet surely begins a frame (lets video start before the first marker). */
  readonly startsFrame?: (packet: RtpPacketLike) => boolean;
  /** How long a gap may wait for a retransmission (NACK) before its frame counts as lost (default 100 ms). */
  readonly maxWaitMs?: number;
  /** Packets held at most while waiting (default 4,096); past it the oldest gap counts as lost at once. */
  readonly maxPending?: number;
}

interface Held {
  readonly packet: RtpPacketLike;
  readonly atMs: number;
}

/**
 * Turns the RTP packets of one track (in any order, duplicated or missing) into whole frames: a video
 * frame goes out only when every packet from the one after the previous frame's marker to its own
 * marker is there, so a frame with missing packets is never handed out as whole. A gap waits up to
 * `maxWaitMs` for its retransmission; then its frame is dropped, a keyframe is asked for, and video
 * frames are dropped until that keyframe (each drop counted). Plain synchronous code, no timers: the
 * caller calls {@link RtpFrameAssembler.flush} now and then.
 */
export class RtpFrameAssembler {
  private readonly held = new Map<number, Held>();
  /** Extended sequence number of the next frame's first packet; null until the first frame boundary is seen. */
  private next: number | null = null;
  private highest: number | null = null;
  private awaitingKeyframe = true;
  private oldestMs = Number.POSITIVE_INFINITY;

  /** An assembler for one track. */
  constructor(
    private readonly options: RtpAssemblerOptions,
    private readonly sink: AssemblerSink,
  ) {
    if (options.audio) this.awaitingKeyframe = false;
  }

  /** Takes one packet, received at `nowMs`. */
  push(packet: RtpPacketLike, nowMs: number): void {
    const ext = this.extend(packet.sequenceNumber);
    if (this.next === null) {
      // Not yet at a frame boundary: audio starts at any packet; video after the first marker.
      if (this.options.audio || this.options.startsFrame?.(packet)) this.next = ext;
      else {
        if (packet.marker) this.next = ext + 1;
        return;
      }
    }
    if (ext < this.next || this.held.has(ext)) return; // late (already given up or out) or a duplicate
    this.held.set(ext, { packet, atMs: nowMs });
    if (nowMs < this.oldestMs) this.oldestMs = nowMs;
    this.emitReady();
    if (this.held.size > (this.options.maxPending ?? 4096)) this.giveUp();
  }

  /** Declares a gap lost once it waited `maxWaitMs` (call on a timer and after pushes). */
  flush(nowMs: number): void {
    while (this.held.size > 0 && this.next !== null && !this.held.has(this.next) && nowMs - this.oldestMs >= (this.options.maxWaitMs ?? 100)) this.giveUp();
  }

  /** Packets held, waiting for a gap to fill. */
  get pending(): number {
    return this.held.size;
  }

  /** The 16-bit sequence number extended past its wrap, nearest to the highest seen. */
  private extend(seq: number): number {
    if (this.highest === null) {
      this.highest = seq + 0x10000; // room below for packets older than the first
      return this.highest;
    }
    const d = ((seq - (this.highest & 0xffff) + 0x8000) & 0xffff) - 0x8000;
    const ext = this.highest + d;
    if (ext > this.highest) this.highest = ext;
    return ext;
  }

  /** Hands out every frame now complete at the front. */
  private emitReady(): void {
    for (;;) {
      const start = this.next!;
      if (!this.held.has(start)) return;
      if (this.options.audio) {
        const h = this.held.get(start)!;
        this.take(start, start);
        this.sink.frame([h.packet]);
        continue;
      }
      let end = start;
      for (;;) {
        const h = this.held.get(end)!;
        if (h.packet.marker) break;
        const after = this.held.get(end + 1);
        if (after === undefined) return; // the rest of the frame has not come yet
        if (after.packet.timestamp !== h.packet.timestamp) break; // a new timestamp: the frame ended (a sender without markers)
        end++;
      }
      const packets: RtpPacketLike[] = [];
      for (let s = start; s <= end; s++) packets.push(this.held.get(s)!.packet);
      this.take(start, end);
      if (this.awaitingKeyframe && !this.options.isKeyframe(packets)) {
        this.sink.dropped(1, "awaitingKeyframe");
        continue;
      }
      this.awaitingKeyframe = false;
      this.sink.frame(packets);
    }
  }

  /** Forgets packets start..end and moves past them. */
  private take(start: number, end: number): void {
    for (let s = start; s <= end; s++) this.held.delete(s);
    this.next = end + 1;
    this.oldestMs = Number.POSITIVE_INFINITY;
    for (const h of this.held.values()) if (h.atMs < this.oldestMs) this.oldestMs = h.atMs;
  }

  /** The gap at the front is lost: skip to the next frame boundary held, dropping what lies before it. */
  private giveUp(): void {
    const seqs = [...this.held.keys()].sort((a, b) => a - b);
    if (this.options.audio) {
      this.sink.dropped(seqs[0]! - this.next!, "loss"); // one lost packet is one lost frame
      this.take(this.next!, seqs[0]! - 1);
      this.emitReady();
      return;
    }
    // Frames touched by the gap: the timestamps held before the next marker, at least the one lost.
    const marker = seqs.find((s) => this.held.get(s)!.packet.marker);
    const upTo = marker ?? seqs.at(-1)!;
    const stamps = new Set<number>();
    for (const s of seqs) if (s <= upTo) stamps.add(this.held.get(s)!.packet.timestamp);
    this.sink.dropped(Math.max(1, stamps.size), "loss");
    this.sink.needKeyframe();
    this.awaitingKeyframe = true;
    if (marker === undefined) {
      // No frame boundary held: start over at the next marker.
      this.held.clear();
      this.oldestMs = Number.POSITIVE_INFINITY;
      this.next = null;
      return;
    }
    this.take(this.next!, marker);
    this.emitReady();
  }
}
