import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Subject } from "rxjs";
import { afterAll, describe, expect, it } from "vitest";
import type { KvsEvent } from "../../src/kvs/parser.js";
import { KvsParser } from "../../src/kvs/parser.js";
import { toGetMediaForm } from "../../src/kvs/fragment-writer.js";
import { connectCallToWav, writeAudioFiles } from "../../src/record/audio-files.js";
import { parseMkv } from "../../src/rx/parse-mkv.js";
import { ffmpeg } from "../helpers/ffmpeg.js";
import { readFixture } from "../helpers/fixtures.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "kvs-audio-"));
  dirs.push(d);
  return d;
};
const samplesOf = (path: string) => ffmpeg(["-i", path, "-f", "s16le", "-ac", "1", "-"]).length / 2;

describe("audio files", () => {
  it("an Amazon Connect call: one WAV per customer track, on disk while the call goes on, finalised at its end", async () => {
    const call = toGetMediaForm(readFixture("generated/connect_call.mka"));
    const dir = tempDir();
    const events = new Subject<KvsEvent>();
    const done = connectCallToWav(events, dir);
    const parser = new KvsParser((ev) => events.next(ev));
    // The call arrives live: half of it, then the rest.
    parser.push(call.subarray(0, Math.floor(call.length / 2)));
    await new Promise((r) => setTimeout(r, 100));
    const during = statSync(join(dir, "AUDIO_FROM_CUSTOMER.wav")).size;
    expect(during).toBeGreaterThan(44 + 8000); // written while live
    expect(samplesOf(join(dir, "AUDIO_FROM_CUSTOMER.wav"))).toBeGreaterThan(0); // a valid WAV already
    parser.push(call.subarray(Math.floor(call.length / 2)));
    parser.end();
    events.complete();
    const files = await done;
    expect(files.map((f) => [f.name, f.container])).toEqual([
      ["AUDIO_FROM_CUSTOMER", "wav"],
      ["AUDIO_TO_CUSTOMER", "wav"],
    ]);
    for (const f of files) {
      expect(samplesOf(f.path)).toBe(32000); // 4 s at 8 kHz, as ffprobe counts the source
      expect(readFileSync(f.path).readUInt32LE(40)).toBe(64000);
    }
  });

  it("AAC tracks as ADTS files that ffmpeg decodes whole", async () => {
    const dir = tempDir();
    const files = await writeAudioFiles(parseMkv(readFixture("generated/h264_aac.mkv")), { dir });
    expect(files.map((f) => f.container)).toEqual(["adts"]);
    expect(
      Math.abs(
        samplesOf(files[0]!.path) -
          ffmpeg(["-i", join(process.cwd(), "fixtures/generated/h264_aac.mkv"), "-map", "0:a", "-f", "s16le", "-ac", "1", "-"]).length / 2,
      ),
    ).toBeLessThanOrEqual(1024);
  });

  it("PCM of any width: s24 6 channels and f32 4 channels make WAVs with the source's sample counts", async () => {
    for (const [file, samples] of [
      ["generated/pcm_s24_6ch.mka", 48000],
      ["generated/pcm_f32_4ch.mka", 32000],
    ] as const) {
      const dir = tempDir();
      const [f] = await writeAudioFiles(parseMkv(readFixture(file)), { dir });
      expect(samplesOf(f!.path), file).toBe(samples);
    }
  });
});
