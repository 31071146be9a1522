import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { concatBytes } from "../../src/ebml/writer.js";
import type { Frame } from "../../src/matroska/frame.js";
import type { Track } from "../../src/matroska/model.js";
import { avccToAnnexB, parseAvcDecoderConfig } from "../../src/codec/h264.js";
import { hvccToAnnexB, parseHevcDecoderConfig } from "../../src/codec/h265.js";
import { framesSource } from "../../src/produce/frame-source.js";
import { Fragmenter, type ProducerFragment } from "../../src/produce/fragmenter.js";
import { ffmpeg, ffmpegPath, frameCrcs } from "../helpers/ffmpeg.js";
import { fixturePath, parseChunked, readFixture } from "../helpers/fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "kvs-fragmenter-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fragment(file: string, options: ConstructorParameters<typeof Fragmenter>[1] = {}) {
  const events = parseChunked(readFixture(file)).events;
  const tracks = (events.find((e) => e.type === "tracks") as { tracks: readonly Track[] }).tracks;
  const frames = events.filter((e): e is Frame => e.type === "frame");
  const writer = new Fragmenter(tracks, options);
  const out: ProducerFragment[] = [];
  for (const f of frames) {
    const done = writer.push(f);
    if (done) out.push(done);
  }
  out.push(writer.flush()!);
  return { writer, frames, fragments: out, bytes: concatBytes([writer.header(), ...out.map((f) => f.bytes)]) };
}

describe("Fragmenter: frames in, one Cluster per fragment out", () => {
  it("H.264 + AAC: fragments cut at the first keyframe after 2 s, every frame kept; ffmpeg reads the file with no warning and as many packets", () => {
    const { frames, fragments, bytes } = fragment("vogels_480.mkv", { startMs: Date.UTC(2026, 0, 1) });
    const back = parseChunked(bytes).events.filter((e): e is Frame => e.type === "frame");
    expect(back.map((f) => `${f.track}/${f.keyframe}/${f.data.length}`)).toEqual(frames.map((f) => `${f.track}/${f.keyframe}/${f.data.length}`));
    for (const f of fragments.slice(0, -1)) {
      expect(f.keyframe).toBe(true);
      expect(f.durationMs).toBeGreaterThanOrEqual(2000 - 40);
    }
    for (let i = 1; i < fragments.length; i++) expect(fragments[i]!.timecodeMs).toBeGreaterThan(fragments[i - 1]!.timecodeMs);
    const path = join(dir, "vogels.mkv");
    writeFileSync(path, bytes);
    const probe = spawnSync(ffmpegPath, ["-hide_banner", "-v", "warning", "-i", path, "-map", "0", "-c", "copy", "-f", "framecrc", "-"], { encoding: "utf8" });
    expect(probe.stderr).toBe("");
    expect(probe.stdout.split("\n").filter((l) => /^\d+,/.test(l)).length).toBe(frames.length);
  });

  it("a fragment is cut before a block's 16-bit time offset overflows, even with no keyframe to cut at", () => {
    const track: Track = {
      ...(parseChunked(readFixture("vogels_480.mkv")).events.find((e) => e.type === "tracks") as { tracks: readonly Track[] }).tracks[1]!,
    };
    const writer = new Fragmenter([track], { fragmentDurationMs: 1_000_000, timecodeType: "RELATIVE" });
    const out: ProducerFragment[] = [];
    for (let t = 0; t <= 70_000; t += 1000) {
      const done = writer.push({ track: track.number, timestampMs: t, keyframe: false, data: Uint8Array.of(t & 0xff) });
      if (done) out.push(done);
    }
    out.push(writer.flush()!);
    expect(out.map((f) => f.timecodeMs)).toEqual([0, 33_000, 66_000]);
    const back = parseChunked(concatBytes([writer.header(), ...out.map((f) => f.bytes)])).events.filter((e): e is Frame => e.type === "frame");
    expect(back.map((f) => f.timestampMs)).toEqual(Array.from({ length: 71 }, (_, i) => i * 1000));
  });

  it("metadata: one-off tags go with the next fragment only, persistent ones with every fragment until removed", () => {
    const events = parseChunked(readFixture("vogels_480.mkv")).events;
    const tracks = (events.find((e) => e.type === "tracks") as { tracks: readonly Track[] }).tracks;
    const writer = new Fragmenter(tracks, { fragmentDurationMs: 0 });
    writer.putMetadata("site", "north", true);
    writer.putMetadata("event", "door");
    const frames = events.filter((e): e is Frame => e.type === "frame" && e.track === 1);
    const out: ProducerFragment[] = [];
    for (const f of frames) {
      const done = writer.push(f);
      if (done) {
        out.push(done);
        if (out.length === 2) writer.putMetadata("site", "", true);
        if (out.length === 3) break;
      }
    }
    expect(out).toHaveLength(3);
    const names = out.slice(0, 3).map((f) =>
      parseChunked(concatBytes([writer.header(), f.bytes]))
        .events.filter((e) => e.type === "tags")
        .flatMap((e) => (e.type === "tags" ? e.tags.flatMap((t) => t.simpleTags.map((s) => `${s.name}=${s.value}`)) : [])),
    );
    expect(names).toEqual([["site=north", "event=door"], ["site=north"], []]);
    expect(() => writer.putMetadata("AWS_KINESISVIDEO_X", "y")).toThrow(/service's/);
  });
});

describe("framesSource: frames made by code", () => {
  it("H.264 as Annex-B with no CodecPrivate: the SPS and PPS become the avcC, frames are written length-prefixed, and ffmpeg decodes every frame as it decodes the source", async () => {
    const events = parseChunked(readFixture("vogels_480.mkv")).events;
    const tracks = (events.find((e) => e.type === "tracks") as { tracks: readonly Track[] }).tracks;
    const video = tracks.find((t) => t.kind === "video")!;
    const config = parseAvcDecoderConfig(video.codecPrivate!);
    const frames = events.filter((e): e is Frame => e.type === "frame" && e.track === video.number);
    // What an encoder hands out: Annex-B access units, SPS and PPS before the first keyframe.
    const annexB = frames.map((f, i) => ({
      track: f.track,
      timestampMs: f.timestampMs,
      keyframe: f.keyframe,
      data: avccToAnnexB(f.data, config, { parameterSets: i === 0 }),
    }));
    const src = framesSource([{ ...video, codecPrivate: null }], annexB, { startMs: Date.UTC(2026, 0, 1) });
    const parts: Uint8Array[] = [];
    for await (const f of src.fragments) parts.push(f.bytes);
    const file = join(dir, "annexb.mkv");
    writeFileSync(file, concatBytes([src.header(), ...parts]));
    expect(src.dropped()).toBe(0);
    expect(frameCrcs(["-i", file])).toEqual(frameCrcs(["-i", fixturePath("vogels_480.mkv")]));
  });
});

describe("framesSource: H.265 as Annex-B", () => {
  it("the VPS, SPS and PPS become the hvcC, and ffmpeg decodes every frame as it decodes the source", async () => {
    const source = join(dir, "hevc-source.mkv");
    ffmpeg([
      "-f",
      "lavfi",
      "-i",
      "testsrc=size=320x240:rate=25",
      "-t",
      "2",
      "-c:v",
      "libx265",
      "-x265-params",
      "log-level=error:keyint=25",
      "-pix_fmt",
      "yuv420p",
      "-y",
      source,
    ]);
    const events = parseChunked(new Uint8Array(readFileSync(source))).events;
    const tracks = (events.find((e) => e.type === "tracks") as { tracks: readonly Track[] }).tracks;
    const video = tracks[0]!;
    expect(video.codecId).toBe("V_MPEGH/ISO/HEVC");
    const config = parseHevcDecoderConfig(video.codecPrivate!);
    const frames = events.filter((e): e is Frame => e.type === "frame");
    const annexB = frames.map((f, i) => ({
      track: f.track,
      timestampMs: f.timestampMs,
      keyframe: f.keyframe,
      data: hvccToAnnexB(f.data, config, { parameterSets: i === 0 }),
    }));
    const src = framesSource([{ ...video, codecPrivate: null }], annexB, { startMs: Date.UTC(2026, 0, 1) });
    const parts: Uint8Array[] = [];
    for await (const f of src.fragments) parts.push(f.bytes);
    const file = join(dir, "hevc.mkv");
    writeFileSync(file, concatBytes([src.header(), ...parts]));
    const record = parseHevcDecoderConfig(
      (parseChunked(new Uint8Array(readFileSync(file))).events.find((e) => e.type === "tracks") as { tracks: readonly Track[] }).tracks[0]!.codecPrivate!,
    );
    expect({ profile: record.profile, tier: record.tier, level: record.level, vps: record.vps.length }).toEqual({
      profile: config.profile,
      tier: config.tier,
      level: config.level,
      vps: 1,
    });
    expect(frameCrcs(["-i", file])).toEqual(frameCrcs(["-i", source]));
  });
});
