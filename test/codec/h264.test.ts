import { describe, expect, it } from "vitest";
import { MkvParseError } from "../../src/ebml/errors.js";
import { annexBNalTypes, avccToAnnexB, parseAvcDecoderConfig, splitAvccNalUnits } from "../../src/codec/h264.js";
import type { Frame } from "../../src/matroska/frame.js";
import type { TracksEvent } from "../../src/matroska/model.js";
import { parseChunked, readFixture } from "../helpers/fixtures.js";

describe("H.264 AVCC → Annex-B", () => {
  const { events } = parseChunked(readFixture("output_get_media.mkv"));
  const track = events.find((e): e is TracksEvent => e.type === "tracks")!.tracks[0]!;
  const config = parseAvcDecoderConfig(track.codecPrivate!);
  const frames = events.filter((e): e is Frame => e.type === "frame");

  it("reads the avcC of a KVS capture: Main profile 3.0, 4-byte lengths, one SPS and PPS", () => {
    expect(config).toMatchObject({ profile: 0x4d, level: 0x1e, nalLengthSize: 4 });
    expect(config.sps.map((s) => s[0]! & 0x1f)).toEqual([7]);
    expect(config.pps.map((s) => s[0]! & 0x1f)).toEqual([8]);
  });

  it("every frame splits exactly into NAL units; keyframes hold an IDR slice", () => {
    for (const f of frames) {
      const units = splitAvccNalUnits(f.data, config.nalLengthSize);
      expect(units.reduce((n, u) => n + 4 + u.length, 0)).toBe(f.size);
      expect(units.some((u) => (u[0]! & 0x1f) === 5)).toBe(f.keyframe);
    }
  });

  it("a keyframe converted with parameter sets starts SPS, PPS, then its own units", () => {
    const key = frames.find((f) => f.keyframe)!;
    const out = avccToAnnexB(key.data, config);
    const types = annexBNalTypes(out);
    expect(types.slice(0, 2)).toEqual([7, 8]);
    expect(types).toContain(5);
    expect(Array.from(out.subarray(0, 4))).toEqual([0, 0, 0, 1]);
  });

  it("rejects malformed input with MkvParseError", () => {
    expect(() => parseAvcDecoderConfig(Uint8Array.of(0, 1, 2))).toThrow(MkvParseError);
    expect(() => splitAvccNalUnits(Uint8Array.of(0, 0, 0, 9, 1), 4)).toThrow(MkvParseError);
  });
});
