import { lastValueFrom, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { aacToAdts, parseAacConfig } from "../../src/codec/adts.js";
import { pcm, PcmDecoder } from "../../src/decode/pcm.js";
import { concatBytes } from "../../src/ebml/writer.js";
import type { Frame } from "../../src/matroska/frame.js";
import type { TracksEvent } from "../../src/matroska/model.js";
import { parseMkv } from "../../src/rx/parse-mkv.js";
import { ffmpeg } from "../helpers/ffmpeg.js";
import { fixturePath, parseChunked, readFixture } from "../helpers/fixtures.js";

/** Samples (per channel) ffmpeg decodes from a file's first audio stream at its own rate. */
function decodedSamples(args: readonly string[], input?: Uint8Array): number {
  return ffmpeg([...args, "-map", "0:a:0", "-f", "s16le", "-ac", "1", "-"], input).length / 2;
}

describe("audio out", () => {
  it("AAC → ADTS: ffmpeg reads the stream and decodes as many samples as from the file itself (±1 frame)", () => {
    const { events } = parseChunked(readFixture("generated/h264_aac.mkv"));
    const track = events.find((e): e is TracksEvent => e.type === "tracks")!.tracks.find((t) => t.codecId === "A_AAC")!;
    const config = parseAacConfig(track.codecPrivate!);
    expect(config).toMatchObject({ objectType: 2, sampleRate: 48000, channelConfiguration: 2 });
    const adts = concatBytes(events.filter((e): e is Frame => e.type === "frame" && e.track === track.number).map((f) => aacToAdts(f.data, config)));
    const fromAdts = decodedSamples(["-f", "aac", "-i", "pipe:0"], adts);
    const fromFile = decodedSamples(["-i", fixturePath("generated/h264_aac.mkv")]);
    expect(Math.abs(fromAdts - fromFile)).toBeLessThanOrEqual(1024);
    expect(fromAdts).toBeGreaterThan(90 * 1024);
  });

  for (const [file, rate] of [
    ["generated/h264_aac.mkv", 16000],
    ["generated/vp9_opus.webm", 16000],
    ["generated/mp3.mka", 8000],
    ["generated/flac.mka", 22050],
  ] as const) {
    it(`${file}: any audio to PCM s16le at ${rate} Hz mono through one decoder process, with stream times`, async () => {
      const source = readFixture(file);
      const chunks = await lastValueFrom(parseMkv(source).pipe(pcm({ sampleRate: rate, channels: 1 }), toArray()));
      const samples = chunks.reduce((n, c) => n + c.samples, 0);
      const expected = ffmpeg(["-i", fixturePath(file), "-map", "0:a:0", "-f", "s16le", "-ar", String(rate), "-ac", "1", "-"]).length / 2;
      expect(Math.abs(samples - expected)).toBeLessThanOrEqual(rate / 20);
      const firstAudio = parseChunked(source).events.find((e): e is Frame => e.type === "frame" && e.durationMs !== null && e.track === chunks[0]!.track)!;
      expect(chunks[0]!.timestampMs).toBe(firstAudio.timestampMs);
      for (let i = 1; i < chunks.length; i++)
        expect(chunks[i]!.timestampMs).toBeCloseTo(chunks[i - 1]!.timestampMs + (chunks[i - 1]!.samples * 1000) / rate, 6);
      expect(chunks.every((c) => c.data.length === c.samples * 2)).toBe(true);
    });
  }

  it("pulls with backpressure: a slow taker holds the reading back and gets everything", async () => {
    const decoder = new PcmDecoder({ sampleRate: 8000, samplesPerChunk: 800, maxQueued: 2 });
    let samples = 0;
    for await (const c of decoder.iterate(parseMkv(readFixture("generated/mp3.mka"), { gate: decoder.gate, sliceSize: 1024 }))) {
      samples += c.samples;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(Math.abs(samples - 8000)).toBeLessThanOrEqual(400);
  });
});
