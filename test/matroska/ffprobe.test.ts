import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EbmlReader } from "../../src/ebml/reader.js";
import { ID } from "../../src/ebml/schema.js";
import type { Frame } from "../../src/matroska/frame.js";
import type { ClusterEvent, SegmentStartEvent, TracksEvent } from "../../src/matroska/model.js";
import { fixturePath, parseChunked, readFixture, readJsonFixture } from "../helpers/fixtures.js";

// Media made by fixtures/make.sh (ffmpeg + mkvmerge) and the packets ffprobe reported for them.
interface Expected {
  file: string;
  tracks: { number: number; type: string; codec: string; width?: number; height?: number; samplingFrequency?: number; channels?: number }[];
  packets: { track: number; size: number; keyframe: boolean; ptsMs: number | null }[];
}
const files = readdirSync(fixturePath("generated")).filter((f) => /\.(mkv|webm)$/.test(f));

/** Lacing kinds (flag bits 0x06) and BlockGroup/ReferenceBlock use, read straight from the blocks. */
function blockKinds(bytes: Uint8Array): { lacing: Set<number>; blockGroups: number; references: number } {
  const lacing = new Set<number>();
  let blockGroups = 0;
  let references = 0;
  const reader = new EbmlReader({
    masterStart(id) { if (id === ID.BlockGroup) blockGroups++; },
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

describe("frames agree with ffprobe -show_packets on media from fixtures/make.sh", () => {
  it("the generated set is there", () => {
    expect(files.sort()).toEqual(["blockgroups.mkv", "h264_aac.mkv", "h264_aac_live.mkv", "laced_ebml.mkv", "laced_fixed.mkv", "laced_xiph.mkv", "vp9_opus.webm"]);
  });

  for (const file of files) {
    it(`${file}: same packets (track, size, keyframe) in the same order, same timestamps, same tracks`, () => {
      const exp = readJsonFixture<Expected>(`generated/${file}.expected.json`);
      const { events, error } = parseChunked(readFixture(`generated/${file}`), [4093]);
      expect(error).toBeUndefined();
      const frames = events.filter((e): e is Frame => e.type === "frame");
      expect(frames.map((f) => [f.track, f.size, f.keyframe])).toEqual(exp.packets.map((p) => [p.track, p.size, p.keyframe]));
      frames.forEach((f, i) => {
        const pts = exp.packets[i]!.ptsMs;
        if (pts !== null) expect(Math.abs(f.timestampMs - pts), `${file} packet ${i}`).toBeLessThanOrEqual(1);
      });
      const tracks = events.find((e): e is TracksEvent => e.type === "tracks")!.tracks;
      for (const t of exp.tracks) {
        const mine = tracks.find((x) => x.number === t.number)!;
        expect(mine.kind).toBe(t.type);
        if (t.width !== undefined) expect([mine.video?.pixelWidth, mine.video?.pixelHeight]).toEqual([t.width, t.height]);
        if (t.samplingFrequency !== undefined) expect([mine.audio?.samplingFrequency, mine.audio?.channels]).toEqual([t.samplingFrequency, t.channels]);
      }
    });
  }

  it("the lacing files really use fixed, Xiph and EBML lacing; blockgroups.mkv uses BlockGroups with ReferenceBlock", () => {
    expect(blockKinds(readFixture("generated/laced_fixed.mkv")).lacing.has(2)).toBe(true);
    expect(blockKinds(readFixture("generated/laced_xiph.mkv")).lacing.has(1)).toBe(true);
    expect(blockKinds(readFixture("generated/laced_ebml.mkv")).lacing.has(3)).toBe(true);
    const bg = blockKinds(readFixture("generated/blockgroups.mkv"));
    expect(bg.blockGroups).toBeGreaterThan(0);
    expect(bg.references).toBeGreaterThan(0);
  });

  it("h264_aac_live.mkv (ffmpeg -live 1 into a pipe) has an unknown-size Segment; ffmpeg still sizes each Cluster", () => {
    const { events } = parseChunked(readFixture("generated/h264_aac_live.mkv"));
    expect(events.find((e): e is SegmentStartEvent => e.type === "segmentStart")!.size).toBeNull();
    const clusters = events.filter((e): e is ClusterEvent => e.type === "cluster");
    expect(clusters.length).toBeGreaterThan(0);
    expect(clusters.every((c) => c.size !== null)).toBe(true); // unknown-size Clusters: test_mixed_tags.mkv and the round-trip property
  });
});
