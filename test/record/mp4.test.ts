import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastValueFrom, toArray } from "rxjs";
import { afterAll, describe, expect, it } from "vitest";
import { concatBytes } from "../../src/ebml/writer.js";
import type { FragmentEvent } from "../../src/kvs/fragment.js";
import { toGetMediaForm } from "../../src/kvs/fragment-writer.js";
import type { Frame } from "../../src/matroska/frame.js";
import { avcCodecString, hevcCodecString, Mp4CodecError, Mp4Remuxer } from "../../src/record/mp4.js";
import { record } from "../../src/record/recorder.js";
import { parseMkv } from "../../src/rx/parse-mkv.js";
import { ffmpeg } from "../helpers/ffmpeg.js";
import { fixturePath, parseChunked, readFixture } from "../helpers/fixtures.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "kvs-mp4-"));
  dirs.push(d);
  return d;
};

interface Packet {
  readonly ptsMs: number;
  readonly size: number;
  readonly crc: string;
}

/** The packets of one stream as ffmpeg reads them without decoding (-c copy), pts in ms from the first. */
function packets(path: string, stream: "v" | "a"): Packet[] {
  const out = ffmpeg(["-i", path, "-map", `0:${stream}:0`, "-c", "copy", "-f", "framecrc", "-"]).toString();
  const tb = /#tb 0: (\d+)\/(\d+)/.exec(out)!;
  const scale = (1000 * Number(tb[1])) / Number(tb[2]);
  const rows = out
    .split("\n")
    .filter((l) => /^0,/.test(l))
    .map((l) => l.split(",").map((x) => x.trim()));
  const first = Math.min(...rows.map((r) => Number(r[2])));
  return rows.map((r) => ({ ptsMs: Math.round((Number(r[2]) - first) * scale), size: Number(r[4]), crc: r[5]! }));
}

const sorted = (p: Packet[]) => [...p].sort((a, b) => a.ptsMs - b.ptsMs);

describe("MP4", () => {
  for (const [name, codec] of [
    ["generated/h264_aac.mkv", "avc1"],
    ["generated/h265_aac.mkv", "hvc1"],
  ] as const) {
    it(`${name} to a plain .mp4: every packet, its bytes and its time as in the source`, async () => {
      const dir = tempDir();
      const files = await lastValueFrom(parseMkv(readFixture(name)).pipe(record({ dir, format: "mp4" }), toArray()));
      expect(files).toHaveLength(1);
      const mp4 = files[0]!.path!;
      expect(mp4.endsWith(".mp4")).toBe(true);
      expect(readFileSync(mp4).subarray(4, 8).toString()).toBe("ftyp");
      expect(readFileSync(mp4).includes(Buffer.from(codec))).toBe(true);
      for (const s of ["v", "a"] as const) {
        const want = sorted(packets(fixturePath(name), s));
        const got = sorted(packets(mp4, s));
        expect(got.length).toBe(want.length);
        expect(got.map((p) => `${p.size}:${p.crc}`)).toEqual(want.map((p) => `${p.size}:${p.crc}`));
        for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]!.ptsMs - want[i]!.ptsMs)).toBeLessThanOrEqual(1);
      }
      expect(files[0]!.frames).toBe(145 - (name.includes("h265") ? 75 : 0));
    });
  }

  it("Opus audio to MP4", async () => {
    const dir = tempDir();
    const [file] = await lastValueFrom(parseMkv(readFixture("generated/laced_opus.mka")).pipe(record({ dir, format: "mp4" }), toArray()));
    const want = packets(fixturePath("generated/laced_opus.mka"), "a");
    const got = packets(file!.path!, "a");
    expect(got.map((p) => `${p.size}:${p.crc}`)).toEqual(want.map((p) => `${p.size}:${p.crc}`));
    expect(got.map((p) => p.ptsMs)).toEqual(want.map((p) => p.ptsMs));
  });

  for (const [name, form, fragments, frameCount] of [
    ["output_get_media.mkv", (b: Uint8Array) => b, 5, 300],
    ["generated/h264_aac_live.mkv", (b: Uint8Array) => toGetMediaForm(b), 4, 145], // B-frames, and audio
  ] as const) {
    it(`fragmented MP4 of ${name}: an init segment, then one moof+mdat per KVS fragment, that ffmpeg reads whole`, async () => {
      const input = form(readFixture(name));
      const { events } = parseChunked(input);
      const tracks = events.find((e): e is FragmentEvent => e.type === "fragment")!.tracks;
      let init: Uint8Array | null = null;
      const segments: { bytes: Uint8Array; startSec: number }[] = [];
      const remuxer = new Mp4Remuxer(tracks, {
        kind: "fragments",
        onInit: (b) => (init = b),
        onFragment: (bytes, startSec) => segments.push({ bytes, startSec }),
      });
      expect(remuxer.mimeType).toMatch(/^video\/mp4; codecs="avc1\.[0-9a-f]{6}(, mp4a\.40\.2)?"$/);
      let frames: Frame[] = [];
      let added = 0;
      for (const e of events) {
        if (e.type === "frame") frames.push(e);
        if (e.type === "fragment") {
          await remuxer.addFragment(frames);
          frames = [];
          // Each fragment goes out as soon as it is added: no wait for the next one.
          expect(segments.length).toBe(++added);
        }
      }
      await remuxer.finalize();
      expect(Buffer.from(init!).subarray(4, 8).toString()).toBe("ftyp");
      expect(segments).toHaveLength(fragments);
      for (const s of segments) expect(Buffer.from(s.bytes).subarray(4, 8).toString()).toBe("moof");
      expect(segments.map((s) => s.startSec)).toEqual([...segments.map((s) => s.startSec)].sort((a, b) => a - b));
      const path = join(tempDir(), "live.mp4");
      writeFileSync(path, concatBytes([init!, ...segments.map((s) => s.bytes)]));
      const source = join(tempDir(), "source.mkv");
      writeFileSync(source, input);
      let total = 0;
      for (const s of tracks.length > 1 ? (["v", "a"] as const) : (["v"] as const)) {
        const want = sorted(packets(source, s));
        const got = sorted(packets(path, s));
        expect(got.map((p) => `${p.size}:${p.crc}`)).toEqual(want.map((p) => `${p.size}:${p.crc}`));
        for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]!.ptsMs - want[i]!.ptsMs)).toBeLessThanOrEqual(1);
        total += got.length;
      }
      expect(total).toBe(frameCount);
    });
  }

  it("several KVS fragments to one plain .mp4", async () => {
    const [file] = await lastValueFrom(parseMkv(readFixture("output_get_media.mkv")).pipe(record({ dir: tempDir(), format: "mp4" }), toArray()));
    expect(file).toMatchObject({ fragments: 5, frames: 300 });
    const got = packets(file!.path!, "v");
    expect(got.map((p) => `${p.size}:${p.crc}`)).toEqual(packets(fixturePath("output_get_media.mkv"), "v").map((p) => `${p.size}:${p.crc}`));
  });

  it("a recording to a custom sink in MP4 is fragmented MP4, rolled every 2 s of media", async () => {
    const sinks: Uint8Array[][] = [];
    const files = await lastValueFrom(
      parseMkv(readFixture("output_get_media.mkv")).pipe(
        record({
          format: "mp4",
          maxDurationMs: 2000,
          sink: () => {
            const parts: Uint8Array[] = [];
            sinks.push(parts);
            return { write: async (b: Uint8Array) => void parts.push(b), close: () => {} };
          },
        }),
        toArray(),
      ),
    );
    expect(files.map((f) => f.fragments)).toEqual([2, 2, 1]); // 2 s fragments: a file is full once it spans 2 s
    const dir = tempDir();
    let total = 0;
    for (const [i, parts] of sinks.entries()) {
      const path = join(dir, `${i}.mp4`);
      writeFileSync(path, concatBytes(parts));
      expect(parts.filter((p) => Buffer.from(p).subarray(4, 8).toString() === "moof")).toHaveLength(files[i]!.fragments);
      expect(concatBytes(parts).length).toBe(files[i]!.bytes);
      total += packets(path, "v").length;
    }
    expect(total).toBe(300);
  });

  it("says which codec an MP4 cannot hold", () => {
    const tracks = parseChunked(readFixture("generated/mjpeg_pcm.mkv")).events.find((e): e is FragmentEvent => e.type === "fragment")!.tracks;
    expect(() => new Mp4Remuxer(tracks, { kind: "file", path: join(tempDir(), "x.mp4") })).toThrow(Mp4CodecError);
    expect(() => new Mp4Remuxer(tracks, { kind: "file", path: join(tempDir(), "x.mp4") })).toThrow(/V_MJPEG/);
  });

  it("codec strings for MediaSource", () => {
    expect(avcCodecString(new Uint8Array([1, 0x64, 0x00, 0x1f, 0xff]))).toBe("avc1.64001f");
    const hvcC = new Uint8Array(23);
    hvcC.set([1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 93]);
    expect(hevcCodecString(hvcC)).toBe("hvc1.1.6.L93.90");
  });
});
