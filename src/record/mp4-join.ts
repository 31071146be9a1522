import { BufferSource, EncodedPacketSink, Input, type InputAudioTrack, type InputVideoTrack, MP4 } from "mediabunny";
import { Mp4CodecError, type Mp4Sample, type Mp4Target, type Mp4Track, Mp4Remuxer } from "./mp4.js";

/** One MP4 (a GetClip answer, say) and where it starts in the whole, in ms from the first piece's start. */
export interface Mp4Piece {
  readonly bytes: Uint8Array;
  readonly offsetMs: number;
}

/** What {@link joinMp4} wrote. */
export interface JoinedMp4 {
  readonly pieces: number;
  /** Packets per track kind. */
  readonly videoPackets: number;
  readonly audioPackets: number;
}

const VIDEO_CODEC_IDS: Record<string, string> = { avc: "V_MPEG4/ISO/AVC", hevc: "V_MPEGH/ISO/HEVC" };
const AUDIO_CODEC_IDS: Record<string, string> = { aac: "A_AAC", opus: "A_OPUS" };

async function videoTrackOf(t: InputVideoTrack): Promise<Mp4Track> {
  const config = await t.getDecoderConfig();
  const codecId = VIDEO_CODEC_IDS[t.codec ?? ""];
  if (!codecId || !config?.description) throw new Mp4CodecError(`an MP4 piece has video MP4 output cannot hold: ${t.codec ?? "unknown codec"}`);
  return {
    number: 1,
    kind: "video",
    codecId,
    codecPrivate: bytesOf(config.description),
    video: { pixelWidth: t.codedWidth, pixelHeight: t.codedHeight },
    audio: null,
  };
}

async function audioTrackOf(t: InputAudioTrack): Promise<Mp4Track> {
  const config = await t.getDecoderConfig();
  const codecId = AUDIO_CODEC_IDS[t.codec ?? ""];
  if (!codecId || !config?.description) throw new Mp4CodecError(`an MP4 piece has audio MP4 output cannot hold: ${t.codec ?? "unknown codec"}`);
  return {
    number: 2,
    kind: "audio",
    codecId,
    codecPrivate: bytesOf(config.description),
    video: null,
    audio: { channels: t.numberOfChannels, samplingFrequency: t.sampleRate },
  };
}

function bytesOf(d: AllowSharedBufferSource): Uint8Array {
  return d instanceof Uint8Array ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);
}

const sameConfig = (a: readonly Mp4Track[], b: readonly Mp4Track[]) =>
  a.length === b.length && a.every((t, i) => t.codecId === b[i]!.codecId && Buffer.from(t.codecPrivate!).equals(Buffer.from(b[i]!.codecPrivate!)));

/**
 * Joins MP4 pieces into one MP4, one piece in memory at a time: each piece is demuxed (mediabunny) and
 * its packets go, unchanged, into one output at the piece's offset. Fragmented output gets one
 * moof+mdat per GOP as it goes. The pieces must share their codec configuration (GetClip refuses a range
 * where it changes); a piece that does not throws Mp4CodecError.
 */
export async function joinMp4(pieces: AsyncIterable<Mp4Piece> | Iterable<Mp4Piece>, target: Mp4Target): Promise<JoinedMp4> {
  let remuxer: Mp4Remuxer | null = null;
  let tracks: Mp4Track[] = [];
  let count = 0;
  let videoPackets = 0;
  let audioPackets = 0;
  try {
    for await (const piece of pieces) {
      const input = new Input({ source: new BufferSource(piece.bytes), formats: [MP4] });
      try {
        const video = await input.getPrimaryVideoTrack();
        const audio = await input.getPrimaryAudioTrack();
        const pieceTracks = [...(video ? [await videoTrackOf(video)] : []), ...(audio ? [await audioTrackOf(audio)] : [])];
        if (pieceTracks.length === 0) throw new Mp4CodecError(`MP4 piece ${count} has no track`);
        if (remuxer === null) {
          tracks = pieceTracks;
          remuxer = new Mp4Remuxer(tracks, target, { originMs: 0 });
        } else if (!sameConfig(tracks, pieceTracks)) throw new Mp4CodecError(`MP4 piece ${count} changes the tracks or their codec configuration`);
        const read = async (t: InputVideoTrack | InputAudioTrack | null, number: number): Promise<Mp4Sample[]> => {
          const out: Mp4Sample[] = [];
          if (!t) return out;
          for await (const p of new EncodedPacketSink(t).packets())
            out.push({ track: number, timestampMs: p.timestamp * 1000, durationMs: p.duration * 1000, keyframe: p.type === "key", data: p.data });
          return out;
        };
        const v = await read(video, 1);
        const a = await read(audio, 2);
        const start = Math.min(...v.map((s) => s.timestampMs), ...a.map((s) => s.timestampMs));
        const shift = (s: Mp4Sample): Mp4Sample => ({ ...s, timestampMs: s.timestampMs - start + piece.offsetMs });
        // One output fragment per GOP: the video from a keyframe to the next, with the audio of that time.
        const keys = v.filter((s) => s.keyframe).map((s) => s.timestampMs);
        if (keys.length === 0) await remuxer.addFragment([...v, ...a].map(shift));
        else {
          let vi = 0;
          let ai = 0;
          for (let g = 0; g < keys.length; g++) {
            const gop: Mp4Sample[] = [];
            const last = g === keys.length - 1;
            do gop.push(shift(v[vi++]!));
            while (vi < v.length && (last || !v[vi]!.keyframe));
            const until = last ? Number.POSITIVE_INFINITY : keys[g + 1]!;
            while (ai < a.length && a[ai]!.timestampMs < until) gop.push(shift(a[ai++]!));
            await remuxer.addFragment(gop);
          }
        }
        videoPackets += v.length;
        audioPackets += a.length;
        count++;
      } finally {
        input.dispose();
      }
    }
    if (remuxer === null) throw new Mp4CodecError("no MP4 piece to join");
    await remuxer.finalize();
  } catch (e) {
    await remuxer?.cancel();
    throw e;
  }
  return { pieces: count, videoPackets, audioPackets };
}
