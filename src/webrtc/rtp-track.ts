import { avcDecoderConfigRecord, h264NalType } from "../codec/h264.js";
import { joinLengthPrefixed } from "../codec/nal.js";
import { sameBytes } from "../ebml/values.js";
import { Frame } from "../matroska/frame.js";
import type { Track } from "../matroska/model.js";
import { type AssemblerSink, RtpFrameAssembler, type RtpPacketLike } from "./rtp-assembler.js";
import { h264IsKeyframe, h264NalUnits, h264StartsFrame, vp8Frame, vp8IsKeyframe, vp8StartsFrame } from "./rtp-payload.js";

/** The codecs a WebRTC track carries that this library turns into frames. */
export type RtpCodec = "H264" | "VP8" | "OPUS";

/** What one received track is. */
export interface RtpTrackInfo {
  /** The Frame track number it gets (1 video, 2 audio by default). */
  readonly number: number;
  readonly codec: RtpCodec;
  /** RTP clock rate (90,000 for video, 48,000 for Opus). */
  readonly clockRate: number;
  /** Opus channels (2 in WebRTC's SDP). */
  readonly channels?: number;
}

/** What an {@link RtpTrackReader} hands out. */
export interface RtpTrackSink {
  /** The track changed (first frame, new SPS/PPS): its Matroska description. */
  track(track: Track): void;
  frame(frame: Frame): void;
  /** Frames not handed out (lost packets, or waiting for a keyframe after a loss). */
  dropped(frames: number, reason: "loss" | "awaitingKeyframe"): void;
  /** A keyframe should be asked for (PLI). */
  needKeyframe(): void;
}

const CODEC_IDS: Record<RtpCodec, string> = { H264: "V_MPEG4/ISO/AVC", VP8: "V_VP8", OPUS: "A_OPUS" };

/** The OpusHead a Matroska A_OPUS track carries as CodecPrivate (RFC 7845 §5.1): 48 kHz, 312 samples of pre-skip. */
function opusHead(channels: number): Uint8Array {
  const b = Buffer.alloc(19);
  b.write("OpusHead", 0, "latin1");
  b[8] = 1;
  b[9] = channels;
  b.writeUInt16LE(312, 10);
  b.writeUInt32LE(48_000, 12);
  return b;
}

/** How far 32-bit RTP time `ts` is from `from` (only its low 32 bits count), past a wrap: within ±2^31. */
function rtpDelta(ts: number, from: number): number {
  return ((ts - (from >>> 0) + 0x80000000) >>> 0) - 0x80000000;
}

/** RFC 3550 NTP time (64-bit, seconds since 1900 and a binary fraction) in ms since the Unix epoch. */
export function ntpToUnixMs(ntp: bigint): number {
  return (Number(ntp >> 32n) - 2_208_988_800) * 1000 + (Number(ntp & 0xffffffffn) / 2 ** 32) * 1000;
}

/**
 * One received track: its RTP packets become whole {@link Frame}s (see {@link RtpFrameAssembler}) with
 * the parser's shape: H.264 length-prefixed with an avcC CodecPrivate taken from its in-band SPS and
 * PPS, VP8 and Opus as they are. `timestampMs` counts from the track's first frame on its RTP clock;
 * `producerTimestampMs` is the sender's wall clock, mapped through its RTCP Sender Reports (null until
 * the first one).
 */
export class RtpTrackReader {
  private readonly assembler: RtpFrameAssembler;
  private firstTs: number | null = null;
  private lastExtTs = 0;
  private sr: { rtp: number; wallMs: number } | null = null;
  private described: Track | null = null;
  private sps: Uint8Array | null = null;
  private pps: Uint8Array | null = null;
  private bytes = 0;

  /**
   * A reader of one track, handing out to `sink`; `maxWaitMs` bounds the wait for a retransmission;
   * frame times start at `startMs` (a new connection's track continues the old one's time).
   */
  constructor(
    readonly info: RtpTrackInfo,
    private readonly sink: RtpTrackSink,
    maxWaitMs?: number,
    private readonly startMs = 0,
  ) {
    const audio = info.codec === "OPUS";
    const isKeyframe = info.codec === "H264" ? h264IsKeyframe : info.codec === "VP8" ? vp8IsKeyframe : () => true;
    const startsFrame = info.codec === "H264" ? h264StartsFrame : vp8StartsFrame;
    const toSink: AssemblerSink = {
      frame: (packets) => this.frame(packets),
      dropped: (n, reason) => sink.dropped(n, reason),
      needKeyframe: () => sink.needKeyframe(),
    };
    this.assembler = new RtpFrameAssembler({ audio, isKeyframe, startsFrame, ...(maxWaitMs !== undefined ? { maxWaitMs } : {}) }, toSink);
    if (audio) this.describe(opusHead(info.channels ?? 2));
  }

  /** Takes one RTP packet. */
  push(packet: RtpPacketLike, nowMs: number): void {
    this.assembler.push(packet, nowMs);
    this.assembler.flush(nowMs);
  }

  /** Gives up on gaps that waited too long (call on a timer). */
  flush(nowMs: number): void {
    this.assembler.flush(nowMs);
  }

  /** Takes an RTCP Sender Report of this track: its NTP time and the RTP time that goes with it. */
  senderReport(ntp: bigint, rtpTimestamp: number): void {
    this.sr = { rtp: rtpTimestamp >>> 0, wallMs: ntpToUnixMs(ntp) };
  }

  /** Frame payload bytes handed out. */
  get payloadBytes(): number {
    return this.bytes;
  }

  private frame(packets: readonly RtpPacketLike[]): void {
    const ts = packets[0]!.timestamp >>> 0;
    let data: Uint8Array;
    let keyframe: boolean;
    if (this.info.codec === "H264") {
      const units = h264NalUnits(packets).filter((u) => h264NalType(u) !== 9); // access unit delimiters dropped
      keyframe = units.some((u) => h264NalType(u) === 5);
      const sps = units.find((u) => h264NalType(u) === 7);
      const pps = units.find((u) => h264NalType(u) === 8);
      if (sps && pps && (!sameBytes(sps, this.sps) || !sameBytes(pps, this.pps))) {
        this.sps = Uint8Array.from(sps);
        this.pps = Uint8Array.from(pps);
        this.describe(avcDecoderConfigRecord([this.sps], [this.pps]));
      }
      if (this.described === null) return; // nothing can decode it before the SPS and PPS
      data = joinLengthPrefixed(units);
    } else if (this.info.codec === "VP8") {
      keyframe = vp8IsKeyframe(packets);
      if (this.described === null) this.describe(null);
      data = vp8Frame(packets);
    } else {
      keyframe = true;
      data = packets[0]!.payload;
    }
    // The RTP clock, unwrapped past 2^32 and counted from the first frame.
    if (this.firstTs === null) {
      this.firstTs = ts;
      this.lastExtTs = ts;
    } else {
      this.lastExtTs += rtpDelta(ts, this.lastExtTs);
    }
    const rate = this.info.clockRate;
    const timestampMs = this.startMs + ((this.lastExtTs - this.firstTs) * 1000) / rate;
    let producerTimestampMs: number | null = null;
    if (this.sr !== null) {
      producerTimestampMs = Math.round(this.sr.wallMs + (rtpDelta(ts, this.sr.rtp) * 1000) / rate);
    }
    this.bytes += data.length;
    this.sink.frame(
      new Frame({
        track: this.info.number,
        timestampMs,
        keyframe,
        data,
        offset: 0,
        durationMs: this.info.codec === "OPUS" ? 20 : null,
        producerTimestampMs,
      }),
    );
  }

  private describe(codecPrivate: Uint8Array | null): void {
    const video = this.info.codec !== "OPUS";
    this.described = {
      number: this.info.number,
      uid: String(this.info.number),
      kind: video ? "video" : "audio",
      typeCode: video ? 1 : 2,
      codecId: CODEC_IDS[this.info.codec],
      codecPrivate,
      codecName: null,
      name: null,
      language: null,
      defaultDurationNs: null,
      codecDelayNs: video ? null : 6_500_000,
      seekPreRollNs: video ? null : 80_000_000,
      enabled: true,
      isDefault: true,
      lacing: false,
      contentEncodings: [],
      video: video ? { pixelWidth: null, pixelHeight: null, displayWidth: null, displayHeight: null, interlaced: null, frameRate: null } : null,
      audio: video ? null : { samplingFrequency: 48_000, outputSamplingFrequency: null, channels: this.info.channels ?? 2, bitDepth: null },
    };
    this.sink.track(this.described);
  }
}
