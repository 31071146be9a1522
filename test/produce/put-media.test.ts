import { createHash } from "node:crypto";
import { lastValueFrom, Observable, toArray } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { getMedia } from "../../src/aws/get-media.js";
import type { KvsServiceError } from "../../src/aws/errors.js";
import type { FragmentEvent } from "../../src/kvs/fragment.js";
import type { Frame } from "../../src/matroska/frame.js";
import type { PutMediaAck } from "../../src/produce/acks.js";
import { type FrameInput, Fragmenter, type ProducerFragment } from "../../src/produce/fragmenter.js";
import type { Track } from "../../src/matroska/model.js";
import { ffmpegSource } from "../../src/produce/ffmpeg-source.js";
import { framesSource } from "../../src/produce/frame-source.js";
import { mkvSource } from "../../src/produce/mkv-source.js";
import { type PutMediaEvent, type PutMediaOptions, type PutMediaSource, putMedia } from "../../src/produce/put-media.js";
import { ffmpegPath } from "../helpers/ffmpeg.js";
import { parseChunked, readFixture } from "../helpers/fixtures.js";
import { type Harness, harness } from "../helpers/local-kvs.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const FILE = "vogels_480.mkv"; // H.264 + AAC, 2334 frames
const source = parseChunked(readFixture(FILE)).events.filter((e): e is Frame => e.type === "frame");
const hash = (b: Uint8Array) => createHash("sha1").update(b).digest("hex").slice(0, 12);
const key = (f: { track: number; data: Uint8Array; keyframe: boolean }) => `${f.track}/${f.data.length}/${hash(f.data)}/${f.keyframe ? "k" : "d"}`;
const fast: PutMediaOptions = { retry: { baseMs: 20, maxMs: 200 }, connectionStalenessMs: 1000 };
const START = Date.UTC(2026, 11, 1, 10, 0, 0);

async function put(stream: string, src: PutMediaSource, options: PutMediaOptions = {}) {
  const events: PutMediaEvent[] = [];
  let error: unknown;
  await new Promise<void>((resolve) =>
    putMedia(h!.clients, stream, src, { ...fast, ...options }).subscribe({
      next: (ev) => events.push(ev),
      error: (e: unknown) => {
        error = e;
        resolve();
      },
      complete: resolve,
    }),
  );
  const acks = events.filter((e): e is PutMediaAck => e.type === "ack");
  const done = events.find((e) => e.type === "done");
  return { events, acks, error, stats: done?.type === "done" ? done.stats : null };
}

/** What GetMedia gives back from EARLIEST: the frames, and the fragments. */
async function readBack(stream: string) {
  const events = await lastValueFrom(getMedia(h!.clients, stream, { from: "EARLIEST", idleTimeoutMs: 3000 }).pipe(toArray()));
  return { frames: events.filter((e): e is Frame => e.type === "frame"), fragments: events.filter((e): e is FragmentEvent => e.type === "fragment") };
}

describe("putMedia() to the local endpoint's ingest, read back with GetMedia", () => {
  it("a file put and read back from EARLIEST: the same frames (track, size, payload, keyframe), producer time ±1 ms, metadata tags; an acknowledgement of each kind per fragment", async () => {
    h = await harness({ streams: { cam: {} }, idleEndMs: 300 });
    const src = mkvSource(readFixture(FILE), { startMs: START, metadata: { site: "north" } });
    const got = await put("cam", src);
    expect(got.error).toBeUndefined();
    const stored = h.kvs.fragments("cam");
    expect(stored.length).toBeGreaterThan(1);
    for (const kind of ["BUFFERING", "RECEIVED", "PERSISTED"]) expect(got.acks.filter((a) => a.event === kind)).toHaveLength(stored.length);
    expect(got.acks.filter((a) => a.event === "PERSISTED").map((a) => a.fragmentNumber)).toEqual(stored.map((f) => f.fragmentNumber));
    expect(got.stats).toMatchObject({ fragmentsPersisted: stored.length, duplicates: 0, connections: 1 });

    const back = await readBack("cam");
    expect(back.frames.map(key)).toEqual(source.map(key));
    for (let i = 0; i < source.length; i++)
      expect(Math.abs(back.frames[i]!.producerTimestampMs! - (START + source[i]!.timestampMs - source[0]!.timestampMs))).toBeLessThanOrEqual(1);
    for (const f of back.fragments) expect(f.tags.find((t) => t.name === "site")?.value).toBe("north");
    // Fragments cut at keyframes, about 2 s each.
    for (const f of back.fragments) expect(back.frames.find((x) => x.fragmentNumber === f.fragmentNumber && x.track === 1)?.keyframe).toBe(true);
  });

  it("resets, stalls and a retryable ERROR mid-upload: every frame arrives, nothing is lost; what was sent again is counted", async () => {
    h = await harness({ streams: { cam: {} }, idleEndMs: 300 });
    h.kvs.injectPutFault("cam", { kind: "reset", afterFragments: 2 });
    h.kvs.injectPutFault("cam", { kind: "stall", afterFragments: 1 });
    h.kvs.injectPutFault("cam", { kind: "errorAck", errorId: 5000, afterFragments: 1 });
    const got = await put("cam", mkvSource(readFixture(FILE), { startMs: START }));
    expect(got.error).toBeUndefined();
    expect(got.stats!.connections).toBe(4);
    const retried = got.events.filter((e) => e.type === "retrying").map((e) => (e.type === "retrying" ? (e.error as { code?: string }).code : ""));
    expect(retried).toEqual(["NETWORK_ERROR", "CONNECTION_STALE", "INTERNAL_ERROR"]);
    const back = await readBack("cam");
    // Each frame at least once; a fragment stored twice (sent again after its acknowledgement was lost) comes twice.
    const unique = new Map(back.frames.map((f) => [`${f.producerTimestampMs}/${key(f)}`, f]));
    expect([...unique.values()].map(key)).toEqual(source.map(key));
    const storedTwice = back.fragments.length - new Set(back.fragments.map((f) => f.producerTimestampMs)).size;
    expect(storedTwice).toBeLessThanOrEqual(got.stats!.fragmentsSent - got.stats!.fragmentsPersisted + got.stats!.duplicates);
  });

  it("non-retryable errors end the upload with a typed error naming the fragment: timecodes going back (4004), bytes that are not MKV (4006)", async () => {
    h = await harness({ streams: { cam: {}, other: {} }, idleEndMs: 300 });
    const tracks = parseChunked(readFixture(FILE)).events.find((e) => e.type === "tracks")!;
    const fragmenter = new Fragmenter(tracks.type === "tracks" ? tracks.tracks : [], { startMs: START });
    const fragments: ProducerFragment[] = [];
    for (const f of source) {
      const done = fragmenter.push(f);
      if (done) fragments.push(done);
      if (fragments.length === 3) break;
    }
    expect(fragments).toHaveLength(3);
    // The second fragment again, after the third: its timecode goes back.
    const backwards: PutMediaSource = { header: () => fragmenter.header(), fragments: [fragments[0]!, fragments[2]!, fragments[1]!] };
    const got = await put("cam", backwards);
    expect(got.error).toMatchObject({
      name: "PutMediaError",
      code: "FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS",
      errorId: 4004,
      retryable: false,
      fragmentTimecode: fragments[1]!.timecodeMs,
    });
    expect(h.kvs.fragments("cam")).toHaveLength(2);

    const notMkv: PutMediaSource = { header: () => new TextEncoder().encode("this is not matroska at all"), fragments: [fragments[0]!] };
    const bad = await put("other", notMkv);
    expect(bad.error).toMatchObject({ name: "PutMediaError", code: "INVALID_MKV_DATA", errorId: 4006, retryable: false });
  });

  it("a connection past maxConnectionMs takes no new fragment and hands over to a new one: no retry, nothing sent twice; frames from an Observable", async () => {
    h = await harness({ streams: { cam: {} }, idleEndMs: 300 });
    const tracks = (parseChunked(readFixture(FILE)).events.find((e) => e.type === "tracks") as { tracks: readonly Track[] }).tracks;
    const paced = new Observable<Frame>((subscriber) => {
      let i = 0;
      const timer = setInterval(() => {
        for (let k = 0; k < 60 && i < source.length; k++) subscriber.next(source[i++]!);
        if (i >= source.length) {
          clearInterval(timer);
          subscriber.complete();
        }
      }, 20);
      return () => clearInterval(timer);
    });
    const got = await put("cam", framesSource(tracks, paced, { startMs: START }), { maxConnectionMs: 150 });
    expect(got.error).toBeUndefined();
    expect(got.stats!.connections).toBeGreaterThan(1);
    expect(got.events.filter((e) => e.type === "retrying")).toEqual([]);
    expect(got.stats).toMatchObject({ duplicates: 0, fragmentsPersisted: h.kvs.fragments("cam").length });
    expect((await readBack("cam")).frames.map(key)).toEqual(source.map(key));
  });

  it("the ingest's own limits: a fragment over 10 s (4002) and over 50 MB (4001) end the upload with the typed error; the service's 4008 and KMS errors too", async () => {
    h = await harness({ streams: { long: {}, big: {}, gone: {}, kms: {} }, idleEndMs: 300 });
    const audio = (parseChunked(readFixture(FILE)).events.find((e) => e.type === "tracks") as { tracks: readonly Track[] }).tracks.filter(
      (t) => t.kind === "audio",
    );
    const one = (frames: FrameInput[]) => {
      const writer = new Fragmenter(audio, { fragmentDurationMs: 60_000, startMs: START });
      for (const f of frames) writer.push(f);
      return { header: () => writer.header(), fragments: [writer.flush()!] };
    };
    const long = await put(
      "long",
      one(Array.from({ length: 13 }, (_, i) => ({ track: audio[0]!.number, timestampMs: i * 1000, keyframe: true, data: Uint8Array.of(1) }))),
    );
    expect(long.error).toMatchObject({
      name: "PutMediaError",
      code: "MAX_FRAGMENT_DURATION_REACHED",
      errorId: 4002,
      retryable: false,
      fragmentTimecode: START,
    });
    const big = await put("big", one([{ track: audio[0]!.number, timestampMs: 0, keyframe: true, data: new Uint8Array(51 * 1024 * 1024) }]));
    expect(big.error).toMatchObject({ name: "PutMediaError", code: "MAX_FRAGMENT_SIZE_REACHED", errorId: 4001, retryable: false });
    for (const [stream, errorId, code] of [
      ["gone", 4008, "STREAM_NOT_ACTIVE"],
      ["kms", 4500, "KMS_KEY_ACCESS_DENIED"],
    ] as const) {
      h.kvs.injectPutFault(stream, { kind: "errorAck", errorId, afterFragments: 0 });
      const got = await put(stream, mkvSource(readFixture(FILE), { startMs: START }));
      expect(got.error).toMatchObject({ name: "PutMediaError", code, errorId, retryable: false });
      expect(got.events.filter((e) => e.type === "connected")).toHaveLength(1); // not retried
    }
  });

  it("a live ffmpeg process as the source (testsrc encoded to H.264): every frame it made is put and read back", async () => {
    h = await harness({ streams: { cam: {} }, idleEndMs: 300 });
    const src = ffmpegSource(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", "3", "-c:v", "libx264", "-g", "30", "-pix_fmt", "yuv420p"], {
      ffmpegPath,
      fragmentDurationMs: 1000,
    });
    const got = await put("cam", src, { onBufferFull: "dropOldest" });
    expect(got.error).toBeUndefined();
    expect(await src.exited).toBe(0);
    expect(got.stats).toMatchObject({ dropped: 0, duplicates: 0 });
    const back = await readBack("cam");
    expect(back.frames).toHaveLength(90);
    expect(back.fragments.length).toBe(3);
    expect(back.frames.filter((f) => f.keyframe)).toHaveLength(3);
  });

  it("a second producer on the same stream gets CONNECTION_LIMIT_EXCEEDED at once, not a fight", async () => {
    h = await harness({ streams: { cam: {} }, idleEndMs: 300 });
    const first = put("cam", mkvSource(readFixture(FILE), { startMs: START, realtime: true }));
    for (let i = 0; i < 100 && h.kvs.fragments("cam").length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const second = await put("cam", mkvSource(readFixture(FILE), { startMs: START + 60_000 }));
    expect(second.error).toMatchObject({ name: "KvsServiceError", code: "CONNECTION_LIMIT_EXCEEDED", serviceCode: "ConnectionLimitExceededException" });
    expect((second.error as KvsServiceError).message).toMatch(/already has a PutMedia connection/);
    expect(second.stats).toBeNull();
    // (the first is left to finish at real time; closing the endpoint ends it)
    void first;
  });
});
