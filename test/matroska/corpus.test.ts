import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EbmlReader } from "../../src/ebml/reader.js";
import { ID } from "../../src/ebml/schema.js";
import type { Frame } from "../../src/matroska/frame.js";
import type { ClusterEvent, SegmentStartEvent, TracksEvent } from "../../src/matroska/model.js";
import { fixturePath, parseChunked, readFixture, readJsonFixture } from "../helpers/fixtures.js";

// The conformance corpus made by fixtures/make.sh (ffmpeg, mkvmerge, and lib/rewrite.mjs for what no
// muxer here writes) with what ffprobe, mkvmerge -J and mkvinfo report for each file.
interface Expected {
  file: string;
  segments: number;
  tracks: { number: number; codecId: string; type: string; codec: string; width?: number; height?: number; samplingFrequency?: number; channels?: number }[];
  attachments: number;
  chapterAtoms: number;
  contentEncodings: number;
  packets: { track: number; size: number; keyframe: boolean; ptsMs: number | null; md5: string }[];
}
const files = readdirSync(fixturePath("generated"))
  .filter((f) => /\.(mkv|mka|webm)$/.test(f))
  .sort();
const md5 = (data: Uint8Array) => createHash("md5").update(data).digest("hex");

/** Lacing kinds (flag bits 0x06) and BlockGroup/ReferenceBlock use, read straight from the blocks. */
function blockKinds(bytes: Uint8Array): { lacing: Set<number>; blockGroups: number; references: number } {
  const lacing = new Set<number>();
  let blockGroups = 0;
  let references = 0;
  const reader = new EbmlReader({
    masterStart(id) {
      if (id === ID.BlockGroup) blockGroups++;
    },
    masterEnd() {},
    skipped() {},
    data(id, buf, s) {
      if (id === ID.SimpleBlock || id === ID.Block) lacing.add((buf[s + (Math.clz32(buf[s]!) - 23) + 2]! >> 1) & 3);
      if (id === ID.ReferenceBlock) references++;
    },
  });
  reader.push(bytes);
  reader.end();
  return { lacing, blockGroups, references };
}

describe("every frame of the conformance corpus agrees with ffprobe, mkvmerge and mkvinfo", () => {
  it("the corpus has at least 30 files covering the codecs and structures it should", () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
    const codecs = new Set(files.flatMap((f) => readJsonFixture<Expected>(`generated/${f}.expected.json`).tracks.map((t) => t.codecId)));
    for (const c of [
      "V_MPEG4/ISO/AVC",
      "V_MPEGH/ISO/HEVC",
      "V_AV1",
      "V_VP8",
      "V_VP9",
      "V_MJPEG",
      "A_FLAC",
      "A_PCM/INT/LIT",
      "A_PCM/FLOAT/IEEE",
      "A_AC3",
      "A_MPEG/L3",
      "A_VORBIS",
      "A_OPUS",
      "A_AAC",
      "S_TEXT/UTF8",
      "S_TEXT/ASS",
    ]) {
      expect(codecs, c).toContain(c);
    }
  });

  for (const file of files) {
    it(`${file}: same frames (track, size, MD5, keyframe) in order, timestamps within 1 ms, same tracks`, () => {
      const exp = readJsonFixture<Expected>(`generated/${file}.expected.json`);
      const { events, error } = parseChunked(readFixture(`generated/${file}`), [4093]);
      expect(error).toBeUndefined();
      const frames = events.filter((e): e is Frame => e.type === "frame");
      expect(frames.map((f) => [f.track, f.size, md5(f.data), f.keyframe])).toEqual(exp.packets.map((p) => [p.track, p.size, p.md5, p.keyframe]));
      const late = frames.flatMap((f, i) => {
        const pts = exp.packets[i]!.ptsMs;
        return pts !== null && Math.abs(f.timestampMs - pts) > 1 ? [`frame ${i}: ${f.timestampMs} vs ${pts}`] : [];
      });
      expect(late).toEqual([]);
      const trackLists = events.filter((e): e is TracksEvent => e.type === "tracks");
      expect(trackLists).toHaveLength(exp.segments);
      const tracks = trackLists[0]!.tracks;
      expect(tracks.map((t) => [t.number, t.codecId])).toEqual(exp.tracks.map((t) => [t.number, t.codecId]));
      for (const t of exp.tracks) {
        const mine = tracks.find((x) => x.number === t.number)!;
        expect(mine.kind).toBe(t.type);
        if (t.width !== undefined) expect([mine.video?.pixelWidth, mine.video?.pixelHeight]).toEqual([t.width, t.height]);
        if (t.samplingFrequency !== undefined) expect([mine.audio?.samplingFrequency, mine.audio?.channels]).toEqual([t.samplingFrequency, t.channels]);
      }
      expect(tracks.reduce((n, t) => n + t.contentEncodings.length, 0)).toBe(exp.contentEncodings);
    });
  }

  it("the lacing files really use fixed, Xiph and EBML lacing; blockgroups.mkv uses BlockGroups with ReferenceBlock", () => {
    expect(blockKinds(readFixture("generated/laced_fixed.mkv")).lacing.has(2)).toBe(true);
    expect(blockKinds(readFixture("generated/laced_xiph.mkv")).lacing.has(1)).toBe(true);
    expect(blockKinds(readFixture("generated/laced_ebml.mkv")).lacing.has(3)).toBe(true);
    for (const f of ["laced_aac_nodd.mka", "laced_mp3_nodd.mka", "laced_ac3_nodd.mka", "laced_pcm_nodd.mka", "laced_opus.mka"]) {
      expect(
        [...blockKinds(readFixture(`generated/${f}`)).lacing].some((l) => l !== 0),
        f,
      ).toBe(true);
    }
    const bg = blockKinds(readFixture("generated/blockgroups.mkv"));
    expect(bg.blockGroups).toBeGreaterThan(0);
    expect(bg.references).toBeGreaterThan(0);
  });

  it("unknown_size_clusters.mkv has unknown-size Clusters; h264_aac_live.mkv (ffmpeg -live 1) an unknown-size Segment", () => {
    const clusters = parseChunked(readFixture("generated/unknown_size_clusters.mkv")).events.filter((e): e is ClusterEvent => e.type === "cluster");
    expect(clusters.length).toBeGreaterThan(1);
    expect(clusters.every((c) => c.size === null)).toBe(true);
    const { events } = parseChunked(readFixture("generated/h264_aac_live.mkv"));
    expect(events.find((e): e is SegmentStartEvent => e.type === "segmentStart")!.size).toBeNull();
  });

  it("encrypted_mp3.mka: frames marked encrypted with the track's key ID, bytes as stored", () => {
    const frames = parseChunked(readFixture("generated/encrypted_mp3.mka")).events.filter((e): e is Frame => e.type === "frame");
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.every((f) => f.encrypted && Buffer.from(f.encryption!.keyId!).toString("hex") === "0102030405060708090a0b0c0d0e0f10")).toBe(true);
    expect(frames[0]!.encryption!.algorithm).toBe(5);
  });

  it("tracks stored as is stay zero-copy: every frame is a view into the chunk it came in", () => {
    const bytes = readFixture("generated/h264_aac.mkv");
    const frames = parseChunked(bytes, [bytes.length]).events.filter((e): e is Frame => e.type === "frame");
    expect(frames.every((f) => f.data.buffer === bytes.buffer)).toBe(true);
  });
});
