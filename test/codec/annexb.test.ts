import { describe, expect, it } from "vitest";
import { annexBNalTypes, avccToAnnexB, parseAvcDecoderConfig } from "../../src/codec/h264.js";
import { annexBHevcNalTypes, hvccToAnnexB, parseHevcDecoderConfig } from "../../src/codec/h265.js";
import { concatBytes } from "../../src/ebml/writer.js";
import { MkvParseError } from "../../src/ebml/errors.js";
import type { Frame } from "../../src/matroska/frame.js";
import type { TracksEvent } from "../../src/matroska/model.js";
import { frameCrcs } from "../helpers/ffmpeg.js";
import { fixturePath, parseChunked, readFixture } from "../helpers/fixtures.js";

function videoOf(file: string) {
  const { events } = parseChunked(readFixture(file));
  const track = events.find((e): e is TracksEvent => e.type === "tracks")!.tracks.find((t) => t.kind === "video")!;
  const frames = events.filter((e): e is Frame => e.type === "frame" && e.track === track.number);
  return { track, frames };
}

describe("length-prefixed video to Annex-B", () => {
  it("H.264: the Annex-B stream decodes frame for frame as ffmpeg decodes the file itself (same CRCs)", () => {
    for (const file of ["generated/h264_aac.mkv", "output_get_media.mkv"]) {
      const { track, frames } = videoOf(file);
      const config = parseAvcDecoderConfig(track.codecPrivate!);
      const annexB = concatBytes(frames.map((f) => avccToAnnexB(f.data, config)));
      expect(frameCrcs(["-f", "h264", "-i", "pipe:0"], annexB), file).toEqual(frameCrcs(["-i", fixturePath(file)]));
    }
  });

  it("H.265: parses hvcC (VPS, SPS, PPS) and the Annex-B stream decodes frame for frame with ffmpeg -f hevc", () => {
    const { track, frames } = videoOf("generated/h265_aac.mkv");
    const config = parseHevcDecoderConfig(track.codecPrivate!);
    expect(config.vps.length).toBeGreaterThan(0);
    expect(config.sps.length).toBeGreaterThan(0);
    expect(config.pps.length).toBeGreaterThan(0);
    expect(config.nalLengthSize).toBe(4);
    const annexB = concatBytes(frames.map((f) => hvccToAnnexB(f.data, config)));
    expect(frameCrcs(["-f", "hevc", "-i", "pipe:0"], annexB)).toEqual(frameCrcs(["-i", fixturePath("generated/h265_aac.mkv")]));
  });

  it("keyframes get their parameter sets in front (once), so each decodes alone; other frames do not", () => {
    const h264 = videoOf("generated/h264_aac.mkv");
    const avc = parseAvcDecoderConfig(h264.track.codecPrivate!);
    for (const f of h264.frames) {
      const types = annexBNalTypes(avccToAnnexB(f.data, avc));
      expect(types.filter((t) => t === 7).length, `${f.timestampMs}`).toBe(f.keyframe ? 1 : 0);
    }
    const h265 = videoOf("generated/h265_aac.mkv");
    const hevc = parseHevcDecoderConfig(h265.track.codecPrivate!);
    for (const f of h265.frames) {
      const types = annexBHevcNalTypes(hvccToAnnexB(f.data, hevc));
      expect(types.slice(0, 3)).toEqual(f.keyframe ? [32, 33, 34] : types.slice(0, 3));
      if (!f.keyframe) expect(types).not.toContain(33);
    }
    for (const [file, toAnnexB, fmt] of [
      ["generated/h264_aac.mkv", (f: Frame) => avccToAnnexB(f.data, avc), "h264"],
      ["generated/h265_aac.mkv", (f: Frame) => hvccToAnnexB(f.data, hevc), "hevc"],
    ] as const) {
      const key = videoOf(file).frames.find((f) => f.keyframe)!;
      expect(frameCrcs(["-f", fmt, "-i", "pipe:0"], toAnnexB(key))).toHaveLength(1);
    }
  });

  it("rejects a malformed hvcC with MkvParseError", () => {
    expect(() => parseHevcDecoderConfig(Uint8Array.of(1, 2, 3))).toThrow(MkvParseError);
    const cp = videoOf("generated/h265_aac.mkv").track.codecPrivate!;
    expect(() => parseHevcDecoderConfig(cp.subarray(0, cp.length - 5))).toThrow(/runs past the end/);
  });
});
