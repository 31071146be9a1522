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
  /** A frame went out or was dropped: the start can no longer move back. */
  private handedOut = false;
  private askedAtStart = false;
  /** Timestamps of frames already counted as dropped (since the last frame out): their late packets are not counted again. */
  private readonly counted = new Set<number>();

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
    if (this.held.has(ext)) return; // a duplicate
    if (this.next !== null && ext < this.next) {
      // Late: given up on or out already, unless nothing went out yet (then the start may move back).
      if (this.handedOut) return;
      this.hold(ext, packet, nowMs);
      const b = this.boundary();
      if (b !== null && b < this.next) this.next = b;
      this.emitReady();
      return;
    }
    this.hold(ext, packet, nowMs);
    if (this.next === null) {
      // Not yet at a frame boundary: audio starts at any packet; video at the first packet held that
      // surely starts a frame or follows a marker, at once when nothing is held before it (else once
      // the wait is over: earlier packets may still come).
      if (this.options.audio) this.startAt(ext);
      else {
        const b = this.boundary();
        if (b === null || b !== Math.min(...this.held.keys())) return;
        this.startAt(b);
      }
    }
    this.emitReady();
    if (this.held.size > (this.options.maxPending ?? 4096)) this.giveUp();
  }

  private hold(ext: number, packet: RtpPacketLike, nowMs: number): void {
    this.held.set(ext, { packet, atMs: nowMs });
    if (nowMs < this.oldestMs) this.oldestMs = nowMs;
  }

  /** Declares a gap lost once it waited `maxWaitMs` (call on a timer and after pushes). */
  flush(nowMs: number): void {
    const wait = this.options.maxWaitMs ?? 100;
    // What is held after emitReady() is the front frame's incomplete part and what follows it.
    while (this.held.size > 0 && nowMs - this.oldestMs >= wait) {
      if (this.next === null) {
        // The wait is over: begin at the first frame start held, else after the last marker (else drop all).
        let start = this.boundary();
        if (start === null) for (const [k, h] of this.held) if (h.packet.marker && (start === null || k + 1 > start)) start = k + 1;
        this.startAt(start ?? Number.POSITIVE_INFINITY);
        if (start === null) this.next = null;
        this.emitReady();
        continue;
      }
      this.giveUp();
    }
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
        if (!this.askedAtStart) {
          this.askedAtStart = true; // joined between keyframes: ask for one rather than wait for the next
          this.sink.needKeyframe();
        }
        continue;
      }
      this.awaitingKeyframe = false;
      this.counted.clear();
      this.sink.frame(packets);
    }
  }

  /** The first packet held (after `after`) that surely starts a frame: one the sender marks so, or one after a marker. */
  private boundary(after = Number.NEGATIVE_INFINITY): number | null {
    let best: number | null = null;
    for (const [k, h] of this.held) {
      if (k <= after || (best !== null && k >= best)) continue;
      if (this.options.startsFrame?.(h.packet) || this.held.get(k - 1)?.packet.marker) best = k;
    }
    return best;
  }

  /** Reports the frames of `stamps` not reported yet as lost (at least `atLeast`). */
  private countDropped(stamps: Set<number>, atLeast: number): void {
    let n = 0;
    for (const ts of stamps) {
      if (this.counted.has(ts)) continue;
      this.counted.add(ts);
      n++;
    }
    if (Math.max(n, atLeast) > 0) this.sink.dropped(Math.max(n, atLeast), "loss");
  }

  /** The first frame starts at `ext`: what is held before it is let go (counted: frames that cannot be whole). */
  private startAt(ext: number): void {
    const stamps = new Set<number>();
    for (const [k, h] of [...this.held]) {
      if (k >= ext) continue;
      stamps.add(h.packet.timestamp);
      this.held.delete(k);
    }
    if (stamps.size > 0) this.handedOut = true;
    this.countDropped(stamps, 0);
    this.next = ext;
    this.resetOldest();
  }

  private resetOldest(): void {
    this.oldestMs = Number.POSITIVE_INFINITY;
    for (const h of this.held.values()) if (h.atMs < this.oldestMs) this.oldestMs = h.atMs;
  }

  /** Forgets packets start..end and moves past them. */
  private take(start: number, end: number): void {
    for (let s = start; s <= end; s++) this.held.delete(s);
    this.next = end + 1;
    this.handedOut = true;
    // Packets held from before the start (reordered past it at the start) can no longer make a frame.
    let stale: Set<number> | null = null;
    for (const [k, h] of this.held)
      if (k < start) {
        (stale ??= new Set()).add(h.packet.timestamp);
        this.held.delete(k);
      }
    if (stale !== null) this.countDropped(stale, 0);
    this.resetOldest();
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
    // Resume at the first frame start held after the front; what lies before it is lost: the frames
    // held in part, or at least one frame of which nothing came.
    const b = this.boundary(this.next!);
    const stamps = new Set<number>();
    for (const [k, h] of this.held) if (b === null || k < b) stamps.add(h.packet.timestamp);
    this.countDropped(stamps, 1);
    this.sink.needKeyframe();
    this.awaitingKeyframe = true;
    this.handedOut = true;
    if (b === null) {
      // No frame start held: wait for one.
      this.held.clear();
      this.oldestMs = Number.POSITIVE_INFINITY;
      this.next = null;
      return;
    }
    for (const k of [...this.held.keys()]) if (k < b) this.held.delete(k);
    this.next = b;
    this.resetOldest();
    this.emitReady();
  }
}
