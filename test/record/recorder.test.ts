import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { lastValueFrom, Subject, takeWhile, toArray } from "rxjs";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { liveMedia } from "../../src/aws/live-media.js";
import { concatBytes } from "../../src/ebml/writer.js";
import { writeKvsFragment } from "../../src/kvs/fragment-writer.js";
import { layoutOf } from "../../src/kvs/merge.js";
import { ID } from "../../src/ebml/schema.js";
import { recordingInfo } from "../../src/record/segment-info.js";
import type { KvsEvent } from "../../src/kvs/parser.js";
import type { Frame } from "../../src/matroska/frame.js";
import { record } from "../../src/record/recorder.js";
import { parseMkv } from "../../src/rx/parse-mkv.js";
import { startCamera } from "../../src/testing/camera.js";
import { ffmpeg, ffmpegPath } from "../helpers/ffmpeg.js";
import { checksum, parseChunked, readFixture } from "../helpers/fixtures.js";
import { type Harness, harness } from "../helpers/local-kvs.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "kvs-record-"));
  dirs.push(d);
  return d;
};
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const frameKey = (f: Frame) => `${f.track}/${f.timestampMs}/${f.keyframe ? "k" : "d"}/${checksum(f.data)}`;
const framesOf = (bytes: Uint8Array) => {
  const { events, error } = parseChunked(bytes);
  expect(error).toBeUndefined();
  return events.filter((e): e is Frame => e.type === "frame");
};
/** Packets ffmpeg reads from a file without decoding (stream copy), per stream index. */
const packetCount = (path: string) =>
  ffmpeg(["-i", path, "-map", "0", "-c", "copy", "-f", "framecrc", "-"])
    .toString()
    .split("\n")
    .filter((l) => /^\d+,/.test(l)).length;
const decodedVideoFrames = (path: string) =>
  ffmpeg(["-i", path, "-map", "0:v:0", "-f", "framecrc", "-"])
    .toString()
    .split("\n")
    .filter((l) => /^0,/.test(l)).length;

describe("Recorder: streaming merge to rolling files", () => {
  it("packClusters over the sparse capture, streamed to a sink with stream time kept, is the Java golden output byte for byte but for its own Info, however it is chunked", async () => {
    const input = readFixture("output_get_media_sparse_fragments.mkv");
    const golden = readFixture("output_get_media_sparse_fragments_merged.mkv");
    // The same but the Info: a recording writes its own (no source Duration; on a sink, none at all).
    const info = layoutOf(golden)[0]!.children.find((c) => c.id === ID.Info)!;
    const goldenWithOwnInfo = concatBytes([
      golden.subarray(0, info.start),
      recordingInfo(golden.subarray(info.start, info.end)).bytes,
      golden.subarray(info.end),
    ]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 8 }), async (sizes) => {
        const parts: Uint8Array[] = [];
        let closed = 0;
        const chunks: Uint8Array[] = [];
        for (let at = 0, k = 0; at < input.length; k++) chunks.push(input.subarray(at, (at += sizes[k % sizes.length]!)));
        const files = await lastValueFrom(
          parseMkv(chunks, { keepBytes: true }).pipe(
            record({
              packClusters: true,
              keepStreamTime: true,
              sink: () => ({ write: (b: Uint8Array) => void parts.push(b.slice()), close: () => void closed++ }),
            }),
            toArray(),
          ),
        );
        expect(files).toHaveLength(1);
        expect(closed).toBe(1);
        expect(Buffer.from(concatBytes(parts)).equals(Buffer.from(goldenWithOwnInfo))).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it("to a directory: one whole file (its Segment size written at close) holding every frame, that ffmpeg plays", async () => {
    const dir = tempDir();
    const input = readFixture("output_get_media.mkv");
    const [file] = await lastValueFrom(parseMkv(input, { keepBytes: true }).pipe(record({ dir, keepStreamTime: true }), toArray()));
    expect(file).toMatchObject({ index: 0, format: "mkv", fragments: 5, frames: 300 });
    const bytes = new Uint8Array(readFileSync(file!.path!));
    expect(bytes.length).toBe(file!.bytes);
    expect(framesOf(bytes).map(frameKey)).toEqual(framesOf(input).map(frameKey));
    // The Segment has a known size that ends at the end of the file.
    const segment = bytes.indexOf(0x18, 0);
    expect([...bytes.subarray(segment, segment + 5)]).toEqual([0x18, 0x53, 0x80, 0x67, 0x01]);
    expect(Buffer.from(bytes.subarray(segment + 5, segment + 12)).readUIntBE(1, 6) + segment + 12).toBe(bytes.length);
    expect(decodedVideoFrames(file!.path!)).toBe(300);
  });

  it("a live stream with faults, cut into 10 s files: together they hold every frame exactly once, each file plays", async () => {
    h = await harness({ streams: { cam: {} }, idleEndMs: 300 });
    const kvs = h.kvs;
    const dir = tempDir();
    // 40 fragments of ~0.5 s, ~12 times faster than real time; a fault every ~0.5 s of wall time (~6 s of media).
    const camera = startCamera(kvs, "cam", readFixture("generated/h264_aac_live.mkv"), { intervalMs: 40, fragments: 40 });
    const stopFaults = kvs.randomFaults({ seed: 3, everyMs: 500, kinds: ["reset", "truncate", "corrupt", "cutBlock", "http5xx"] });
    const recording = lastValueFrom(
      liveMedia(h.clients, "cam", { from: "EARLIEST", keepBytes: true, retry: { baseMs: 20, maxMs: 200, limitBaseMs: 50 } }).pipe(
        takeWhile((ev) => !(ev.type === "fragment" && ev.fragmentNumber === kvs.fragments("cam")[39]?.fragmentNumber), true),
        record({ dir, maxDurationMs: 10_000, keepStreamTime: true }),
        toArray(),
      ),
    );
    await camera.done;
    const files = await recording;
    stopFaults();
    expect(kvs.stats.requests.getMedia).toBeGreaterThan(1); // the faults made it reconnect
    const source = kvs
      .fragments("cam")
      .flatMap((f) =>
        framesOf(
          writeKvsFragment(f.cluster, { fragmentNumber: f.fragmentNumber, serverTimestampMs: f.serverTimestampMs, producerTimestampMs: f.producerTimestampMs }),
        ),
      );
    expect(source).toHaveLength(10 * 145); // 40 fragments: the 4-cluster clip 10 times
    expect(files.length).toBeGreaterThanOrEqual(2);
    expect(readdirSync(dir).sort()).toEqual(files.map((f) => f.path!.slice(dir.length + 1)).sort());
    const recorded = files.flatMap((f) => framesOf(new Uint8Array(readFileSync(f.path!))));
    expect(recorded.map(frameKey)).toEqual(source.map(frameKey));
    for (const f of files) {
      expect(f.endMs! - f.startMs!).toBeLessThan(10_000 + 2_100); // cut at the first fragment after 10 s that starts on a keyframe
      expect(framesOf(new Uint8Array(readFileSync(f.path!))).find((x) => x.track === 1)?.keyframe).toBe(true);
      expect(packetCount(f.path!)).toBe(f.frames);
    }
    expect(files.reduce((n, f) => n + f.frames, 0)).toBe(source.length);
  }, 60_000);

  it("a recorded MKV starts at 0 and carries its own duration, written when it is closed (ffmpeg reads both); keepStreamTime keeps the stream's time", async () => {
    // output_get_media.mkv from its third fragment: 3 fragments (6 s) of a 30 fps stream starting 4 s in.
    const whole = readFixture("output_get_media.mkv");
    const third = parseChunked(whole).events.filter((e) => e.type === "fragment")[2]!;
    const input = whole.subarray(third.startOffset);
    const source = framesOf(input);
    expect(source[0]!.timestampMs).toBeGreaterThan(3000);
    const expectedMs = source.at(-1)!.timestampMs - source[0]!.timestampMs + (source[1]!.timestampMs - source[0]!.timestampMs);
    const probe = (path: string) => {
      // ffmpeg -i with no output prints what it read on stderr (and exits 1).
      const text = spawnSync(ffmpegPath, ["-hide_banner", "-i", path], { encoding: "utf8" }).stderr;
      const m = /Duration: (\d+):(\d+):([\d.]+), start: ([\d.]+)/.exec(text);
      expect(m, text).not.toBeNull();
      return { durationMs: (Number(m![1]) * 3600 + Number(m![2]) * 60 + Number(m![3])) * 1000, startMs: Number(m![4]) * 1000 };
    };
    const [file] = await lastValueFrom(parseMkv(input, { keepBytes: true }).pipe(record({ dir: tempDir() }), toArray()));
    const rebased = probe(file!.path!);
    expect(rebased.startMs).toBe(0);
    expect(Math.abs(rebased.durationMs - expectedMs)).toBeLessThanOrEqual(10); // ffmpeg prints centiseconds
    const frames = framesOf(new Uint8Array(readFileSync(file!.path!)));
    expect(frames.map((f) => f.timestampMs)).toEqual(source.map((f) => f.timestampMs - source[0]!.timestampMs));
    expect(packetCount(file!.path!)).toBe(source.length);

    const [kept] = await lastValueFrom(parseMkv(input, { keepBytes: true }).pipe(record({ dir: tempDir(), keepStreamTime: true }), toArray()));
    const stream = probe(kept!.path!);
    expect(Math.abs(stream.startMs - source[0]!.timestampMs)).toBeLessThanOrEqual(1);
    expect(Math.abs(stream.durationMs - expectedMs)).toBeLessThanOrEqual(10);

    // A file still being written (a sink cannot be written back) has no Duration, rather than a wrong one.
    const parts: Uint8Array[] = [];
    await lastValueFrom(
      parseMkv(input, { keepBytes: true }).pipe(record({ sink: () => ({ write: (b: Uint8Array) => void parts.push(b.slice()), close() {} }) }), toArray()),
    );
    const infoEvent = parseChunked(concatBytes(parts)).events.find((e) => e.type === "info");
    expect(infoEvent).toMatchObject({ type: "info", durationMs: null });
  });

  it("a new file starts where the tracks change", async () => {
    const a = readFixture("output_get_media.mkv");
    const b = readFixture("generated/h264_aac.mkv");
    const files = await lastValueFrom(parseMkv(concatBytes([a, b, a]), { keepBytes: true }).pipe(record({ dir: tempDir() }), toArray()));
    expect(files.map((f) => f.frames)).toEqual([300, 145, 300]);
    for (const f of files) expect(packetCount(f.path!)).toBe(f.frames);
  });

  it("closes a playable file when the stream stops mid-way (unsubscribed)", async () => {
    const dir = tempDir();
    const { events } = parseChunked(readFixture("output_get_media.mkv"), [65536], { keepBytes: true });
    const third = events.filter((e) => e.type === "fragment")[2]!;
    const source = new Subject<KvsEvent>();
    const sub = source.pipe(record({ dir })).subscribe();
    for (const ev of events.slice(0, events.indexOf(third) + 5)) source.next(ev); // 3 fragments and a few frames of the 4th
    sub.unsubscribe();
    let frames: Frame[] = [];
    let name: string | undefined;
    for (let i = 0; i < 100 && frames.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      name = readdirSync(dir)[0];
      if (name === undefined) continue;
      const bytes = new Uint8Array(readFileSync(join(dir, name!)));
      const { events: got, error } = parseChunked(bytes);
      if (error === undefined && bytes[bytes.indexOf(0x67, 0) + 1] === 0x01 && bytes[bytes.indexOf(0x67, 0) + 2] === 0)
        frames = got.filter((e): e is Frame => e.type === "frame");
    }
    expect(frames).toHaveLength(180);
    expect(decodedVideoFrames(join(dir, name!))).toBe(180);
  });
});
