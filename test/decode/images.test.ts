import { concatMap, filter, lastValueFrom, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { DecoderError, FfmpegNotFoundError, findFfmpeg } from "../../src/decode/ffmpeg.js";
import { ImageDecoder, images, type DecodedImage } from "../../src/decode/images.js";
import { toGetMediaForm } from "../../src/kvs/fragment-writer.js";
import { concatBytes } from "../../src/ebml/writer.js";
import type { Frame } from "../../src/matroska/frame.js";
import { Demand } from "../../src/rx/demand.js";
import { parseMkv } from "../../src/rx/parse-mkv.js";
import { ffmpeg, ffmpegPath } from "../helpers/ffmpeg.js";
import { fixturePath, parseChunked, readFixture } from "../helpers/fixtures.js";

/** ffmpeg's own decode of a file's first video stream, as rgb24 frames in presentation order. */
function reference(file: string, width: number, height: number): Uint8Array[] {
  const raw = ffmpeg(["-i", fixturePath(file), "-map", "0:v:0", "-vsync", "0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
  const size = width * height * 3;
  return Array.from({ length: raw.length / size }, (_, i) => new Uint8Array(raw.buffer, raw.byteOffset + i * size, size));
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  return se === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255 * a.length) / se);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("images(): frames to pictures through one long-lived ffmpeg process", () => {
  for (const file of ["generated/h264_aac.mkv", "generated/h265_aac.mkv", "generated/vp9_opus.webm"]) {
    it(`${file}: every frame, in presentation order, matches ffmpeg's own decode (PSNR ≥ 45 dB), with its frame's times`, async () => {
      const source = readFixture(file);
      const decoder = new ImageDecoder({ format: "rgb24" });
      const got: DecodedImage[] = [];
      for await (const img of decoder.iterate(parseMkv(source, { gate: decoder.gate }))) got.push(img);
      const ref = reference(file, 320, 240);
      expect(got.length).toBe(ref.length);
      const frames = parseChunked(source).events.filter((e): e is Frame => e.type === "frame" && e.track === 1);
      expect(got.map((g) => g.timestampMs)).toEqual(frames.map((f) => f.timestampMs).sort((a, b) => a - b));
      got.forEach((g, i) => {
        expect([g.width, g.height]).toEqual([320, 240]);
        expect(psnr(g.data, ref[i]!), `image ${i}`).toBeGreaterThanOrEqual(45);
      });
      expect(decoder.pids).toHaveLength(1);
    });
  }

  it("a Demand given to the reader and the operator holds the reader: every frame of a whole buffer, none dropped", async () => {
    // 240 frames in one synchronous burst: far more than the decoder may have in flight.
    const source = ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30:duration=8", "-c:v", "libx264", "-g", "60", "-f", "matroska", "-"]);
    const expected = 240;
    const demand = new Demand();
    const got = await lastValueFrom(
      parseMkv(source, { sliceSize: 1 << 20, gate: demand }).pipe(
        filter((ev) => ev.type !== "frame" || ev.track === 1),
        images({ format: "gray", maxQueued: 1, demand }),
        concatMap(async (img) => {
          await new Promise((r) => setTimeout(r, 2));
          return img;
        }),
        toArray(),
      ),
    );
    expect(got.length).toBe(expected);
    expect(got.map((g) => g.timestampMs)).toEqual([...got.map((g) => g.timestampMs)].sort((a, b) => a - b));
  });

  it("keyframes only: exactly the keyframes, each decoded on its own, as JPEG", async () => {
    const source = readFixture("output_get_media.mkv");
    const keyframes = parseChunked(source).events.filter((e): e is Frame => e.type === "frame" && e.keyframe);
    const got = await lastValueFrom(parseMkv(source).pipe(images({ format: "jpeg", keyframesOnly: true }), toArray()));
    expect(got.map((g) => [g.timestampMs, g.fragmentNumber, g.producerTimestampMs, g.serverTimestampMs])).toEqual(
      keyframes.map((f) => [f.timestampMs, f.fragmentNumber, f.producerTimestampMs, f.serverTimestampMs]),
    );
    for (const g of got) {
      expect([g.data[0], g.data[1], g.data.at(-2), g.data.at(-1)]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
      expect([g.width, g.height]).toEqual([640, 360]);
      expect(g.keyframe).toBe(true);
    }
  });

  it("scales with ffmpeg (width alone keeps the aspect ratio) and writes PNG", async () => {
    const got = await lastValueFrom(parseMkv(readFixture("output_get_media.mkv")).pipe(images({ format: "png", width: 320, keyframesOnly: true }), toArray()));
    expect(got.length).toBe(5);
    for (const g of got) expect([g.width, g.height, g.data[1]]).toEqual([320, 180, 0x50]);
  });

  it("keyframeImages() as PNG gives a fragment's keyframes at once, its input still open (the PNG encoder's threads held them back)", async () => {
    const events = parseChunked(readFixture("output_get_media.mkv")).events;
    const tracks = events.find((e) => e.type === "tracks")!;
    const frames = events.filter((e): e is Frame => e.type === "frame");
    const video = tracks.type === "tracks" ? tracks.tracks.find((t) => t.kind === "video")! : null;
    const first = frames.filter((f) => f.fragmentNumber === frames[0]!.fragmentNumber);
    const decoder = new ImageDecoder({ format: "png", keyframesOnly: true });
    try {
      const got = await Promise.race([
        decoder.keyframeImages({ fragment: { tracks: tracks.type === "tracks" ? tracks.tracks : [] }, frames: first }),
        new Promise<null>((r) => setTimeout(() => r(null), 10_000)),
      ]);
      expect(got?.map((g) => g.timestampMs)).toEqual(first.filter((f) => f.keyframe && f.track === video?.number).map((f) => f.timestampMs));
      for (const g of got ?? []) expect([...g.data.subarray(0, 4), g.width, g.height]).toEqual([0x89, 0x50, 0x4e, 0x47, 640, 360]);
    } finally {
      decoder.close();
    }
  });

  it("a new CodecPrivate mid-stream (a producer restart) restarts the decoder with the new parameters", async () => {
    const stream = concatBytes([readFixture("output_get_media.mkv"), toGetMediaForm(readFixture("generated/h264_aac.mkv"))]);
    const decoder = new ImageDecoder({ format: "jpeg", keyframesOnly: true });
    const got: DecodedImage[] = [];
    for await (const img of decoder.iterate(parseMkv(stream, { gate: decoder.gate }))) got.push(img);
    expect(got.map((g) => `${g.width}x${g.height}`)).toEqual([...Array(5).fill("640x360"), ...Array(2).fill("320x240")]);
    expect(decoder.pids).toHaveLength(2);
    for (const pid of decoder.pids) expect(alive(pid)).toBe(false);
  });

  it("unsubscribing kills the decoder process", async () => {
    const decoder = new ImageDecoder({ format: "jpeg" });
    const first = await new Promise<DecodedImage>((resolve) => {
      const sub = parseMkv(readFixture("vogels_480.mkv"), { gate: decoder.gate })
        .pipe(decoder.images())
        .subscribe((img) => {
          sub.unsubscribe();
          resolve(img);
        });
    });
    expect(first.keyframe).toBe(true);
    for (let i = 0; i < 50 && decoder.pids.some(alive); i++) await new Promise((r) => setTimeout(r, 20));
    expect(decoder.pids.filter(alive)).toEqual([]);
  });

  it("a decoder that dies is a DecoderError naming the stream position, and nothing is left running", async () => {
    const decoder = new ImageDecoder({ format: "jpeg" });
    const seen: DecodedImage[] = [];
    const error = await (async () => {
      try {
        for await (const img of decoder.iterate(parseMkv(readFixture("vogels_480.mkv"), { gate: decoder.gate }))) {
          seen.push(img);
          if (seen.length === 3) for (const pid of decoder.pids) process.kill(pid, "SIGKILL");
        }
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(DecoderError);
    expect((error as DecoderError).position.track).toBe(1);
    expect((error as DecoderError).position.timestampMs).toBeGreaterThan(0);
    expect((error as DecoderError).message).toMatch(/decoder failed at track 1, frame at \d+ ms/);
  });

  it("ffmpeg is found from the option, FFMPEG_PATH, @ffmpeg-installer/ffmpeg or PATH; else an error naming all four", () => {
    expect(findFfmpeg(ffmpegPath)).toBe(ffmpegPath);
    const saved = { FFMPEG_PATH: process.env.FFMPEG_PATH };
    process.env.FFMPEG_PATH = ffmpegPath;
    try {
      expect(findFfmpeg("/no/such/ffmpeg")).toBe(ffmpegPath);
    } finally {
      if (saved.FFMPEG_PATH === undefined) delete process.env.FFMPEG_PATH;
      else process.env.FFMPEG_PATH = saved.FFMPEG_PATH;
    }
    const err = new FfmpegNotFoundError(["x"]);
    expect(err.message).toMatch(/ffmpegPath option.*FFMPEG_PATH.*@ffmpeg-installer\/ffmpeg.*PATH/);
    expect(err.code).toBe("FFMPEG_NOT_FOUND");
  });
});
