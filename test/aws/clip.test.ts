import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastValueFrom, toArray } from "rxjs";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { planClip, getClip } from "../../src/aws/clip.js";
import { getImages } from "../../src/aws/images.js";
import { KvsServiceError } from "../../src/aws/errors.js";
import { splitClusters, shiftCluster, writeKvsFragment } from "../../src/kvs/fragment-writer.js";
import type { Frame } from "../../src/matroska/frame.js";
import { concatBytes } from "../../src/ebml/writer.js";
import { ffmpeg } from "../helpers/ffmpeg.js";
import { parseChunked, readFixture } from "../helpers/fixtures.js";
import { type Harness, harness } from "../helpers/local-kvs.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A stream of `n` one-second fragments (clusters.mkv's 8 keyframe-led clusters, looped), server time from `t0`. */
function fill(h: Harness, stream: string, n: number, t0: number) {
  const clusters = splitClusters(readFixture("clusters.mkv"));
  const period = clusters.at(-1)!.timestampMs - clusters[0]!.timestampMs + (clusters[1]!.timestampMs - clusters[0]!.timestampMs);
  const looped = Array.from({ length: n }, (_, i) => shiftCluster(clusters[i % clusters.length]!, Math.floor(i / clusters.length) * period));
  h.kvs.createStream(stream);
  return h.kvs.appendClusters(stream, looped, { serverStartMs: t0 });
}

/** The video packets (size and CRC, decode order) of an MP4 or MKV file, as ffmpeg reads them without decoding. */
const packets = (path: string) =>
  ffmpeg(["-i", path, "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"])
    .toString()
    .split("\n")
    .filter((l) => /^0,/.test(l))
    .map((l) =>
      l
        .split(",")
        .slice(4)
        .map((x) => x.trim())
        .join(":"),
    );

describe("GetClip", () => {
  it("a clip of 500 fragments, over the service's 200 per call, comes out whole as one MP4", async () => {
    h = await harness();
    const t0 = Date.UTC(2026, 10, 1);
    const stored = fill(h, "cam", 500, t0);
    const dir = mkdtempSync(join(tmpdir(), "kvs-clip-"));
    dirs.push(dir);
    const path = join(dir, "clip.mp4");
    const range = { start: new Date(t0), end: new Date(stored.at(-1)!.serverTimestampMs) };
    const result = await getClip(h.clients, "cam", { range, target: { kind: "file", path } });
    expect(result.fragments).toBe(500);
    expect(result.pieces).toBe(3); // 200 + 200 + 100
    expect(h.kvs.stats.requests.getClip).toBe(3);
    const source = concatBytes(
      stored.map((f) =>
        writeKvsFragment(f.cluster, { fragmentNumber: f.fragmentNumber, serverTimestampMs: f.serverTimestampMs, producerTimestampMs: f.producerTimestampMs }),
      ),
    );
    const frames = parseChunked(source).events.filter((e): e is Frame => e.type === "frame");
    expect(result.videoPackets).toBe(frames.length);
    const mkv = join(dir, "source.mkv");
    writeFileSync(mkv, source);
    expect(packets(path)).toEqual(packets(mkv));
    // Times run on across the pieces: the last packet's time is the source's.
    const last = ffmpeg(["-i", path, "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"]).toString();
    const tb = /#tb 0: (\d+)\/(\d+)/.exec(last)!;
    const maxPts = Math.max(
      ...last
        .split("\n")
        .filter((l) => /^0,/.test(l))
        .map((l) => Number(l.split(",")[2])),
    );
    const firstTs = frames[0]!.timestampMs;
    const lastTs = Math.max(...frames.map((f) => f.timestampMs));
    expect(Math.abs((maxPts * 1000 * Number(tb[1])) / Number(tb[2]) - (lastTs - firstTs))).toBeLessThanOrEqual(2);
  }, 120_000);

  it("pieces never split fragments that share a start time and respect the byte limit", () => {
    const at = (ms: number, size = 10) => ({
      fragmentNumber: String(ms),
      sizeBytes: size,
      producerTimestamp: new Date(ms),
      serverTimestamp: new Date(ms),
      lengthMs: 1000,
    });
    const pieces = planClip([at(0), at(1000), at(1000), at(2000), at(3000, 100)], "SERVER_TIMESTAMP", { maxFragmentsPerCall: 2, maxBytesPerCall: 50 });
    expect(pieces.map((p) => p.fragments.map((f) => f.fragmentNumber))).toEqual([["0"], ["1000", "1000"], ["2000"], ["3000"]]);
    expect(pieces.map((p) => p.offsetMs)).toEqual([0, 1000, 2000, 3000]);
  });

  it("a range without fragments is a typed error", async () => {
    h = await harness();
    fill(h, "cam", 3, Date.UTC(2026, 10, 1));
    const err = await getClip(h.clients, "cam", {
      range: { start: new Date(0), end: new Date(1000) },
      target: { kind: "fragments", onInit: () => {}, onFragment: () => {} },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KvsServiceError);
    expect((err as KvsServiceError).code).toBe("RESOURCE_NOT_FOUND");
  });
});

describe("GetImages", () => {
  it("every sampled timestamp is answered in time order, across pages and 300 s windows, NO_MEDIA where nothing was recorded", async () => {
    h = await harness();
    const t0 = Date.UTC(2026, 10, 1);
    const stored = fill(h, "cam", 16, t0); // ~30 s of media, then nothing
    const lastStart = stored.at(-1)!.serverTimestampMs;
    const images = await lastValueFrom(
      getImages(h.clients, "cam", { range: { start: new Date(t0), end: new Date(t0 + 40_000) }, samplingIntervalMs: 500, widthPixels: 160 }).pipe(toArray()),
    );
    expect(images).toHaveLength(80); // 40 s every 500 ms: 4 pages of 25 or fewer
    expect(h.kvs.stats.requests.getImages).toBe(4);
    expect(images.map((i) => i.timestamp.getTime())).toEqual(Array.from({ length: 80 }, (_, i) => t0 + i * 500));
    const withMedia = images.filter((i) => i.image !== null);
    // Media (clusters.mkv's 15 s, twice, 16 s apart) at each time up to 15 s, and from 16 s to 31 s; NO_MEDIA in the gap and after.
    const at = (ms: number) => images[ms / 500]!;
    for (const ms of [0, 7000, 15000, 16000, 22500, 31000]) expect(at(ms).image).not.toBeNull();
    expect(at(15500).error).toBe("NO_MEDIA");
    expect(images.filter((i) => i.timestamp.getTime() >= lastStart + 2500).every((i) => i.error === "NO_MEDIA" && i.image === null)).toBe(true);
    expect(images.filter((i) => i.error === "NO_MEDIA").length).toBeGreaterThanOrEqual(15);
    const jpeg = withMedia[0]!.image!;
    expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
  }, 60_000);

  it("a range over 300 s is asked for in windows", async () => {
    h = await harness();
    const t0 = Date.UTC(2026, 10, 1);
    fill(h, "cam", 2, t0);
    const images = await lastValueFrom(
      getImages(h.clients, "cam", { range: { start: new Date(t0), end: new Date(t0 + 700_000) }, samplingIntervalMs: 20_000 }).pipe(toArray()),
    );
    expect(images).toHaveLength(35);
    expect(h.kvs.stats.requests.getImages).toBe(3); // 300 s + 300 s + 100 s
    expect(images.map((i) => i.timestamp.getTime())).toEqual(Array.from({ length: 35 }, (_, i) => t0 + i * 20_000));
    expect(images[0]!.image).not.toBeNull();
    expect(images.slice(1).every((i) => i.error === "NO_MEDIA")).toBe(true);
  });
});
