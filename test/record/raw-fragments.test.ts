import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastValueFrom, toArray } from "rxjs";
import { afterAll, describe, expect, it } from "vitest";
import { concatBytes } from "../../src/ebml/writer.js";
import { rawFragmentOf, rawFragments, saveFragment } from "../../src/record/raw-fragments.js";
import { parseMkv } from "../../src/rx/parse-mkv.js";
import { ffmpeg } from "../helpers/ffmpeg.js";
import { parseChunked, readFixture } from "../helpers/fixtures.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Chunks of a buffer as views, at the given sizes (cycled). */
function chunksOf(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const n = sizes[k % sizes.length]!;
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

describe("raw fragments", () => {
  it("hands out each fragment's exact bytes as views into the chunks, whatever the chunking", async () => {
    const input = readFixture("output_get_media.mkv");
    for (const sizes of [[65536], [3], [7, 300, 4093], [input.length]]) {
      const raws = await lastValueFrom(parseMkv(chunksOf(input, sizes), { keepBytes: true }).pipe(rawFragments(), toArray()));
      expect(raws).toHaveLength(5);
      for (const r of raws) {
        expect(Buffer.from(r.bytes()).equals(Buffer.from(input.subarray(r.fragment.startOffset, r.fragment.endOffset)))).toBe(true);
        expect(r.size).toBe(r.fragment.endOffset - r.fragment.startOffset);
        expect(r.chunks.every((c) => c.buffer === input.buffer)).toBe(true); // views, not copies
      }
      // The fragments cover the input end to end.
      expect(Buffer.from(concatBytes(raws.map((r) => r.bytes()))).equals(Buffer.from(input))).toBe(true);
    }
  });

  it("without keepBytes the events carry no bytes and rawFragmentOf says how to get them", () => {
    const { events } = parseChunked(readFixture("output_get_media.mkv"));
    const fragment = events.find((e) => e.type === "fragment");
    expect(fragment?.type === "fragment" && fragment.bytes).toBeNull();
    expect(() => fragment?.type === "fragment" && rawFragmentOf(fragment)).toThrow(/keepBytes/);
  });

  it("holds no more than one fragment's chunks", () => {
    const input = readFixture("output_get_media.mkv");
    const { events } = parseChunked(input, [1000], { keepBytes: true });
    for (const e of events) if (e.type === "fragment") expect(e.bytes!.reduce((n, c) => n + c.length, 0)).toBe(e.endOffset - e.startOffset);
  });

  it("a saved fragment is a playable MKV holding its frames", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kvs-raw-"));
    dirs.push(dir);
    const raws = await lastValueFrom(parseMkv(readFixture("output_get_media.mkv"), { keepBytes: true }).pipe(rawFragments(), toArray()));
    const raw = raws[2]!;
    const path = join(dir, "fragment.mkv");
    await saveFragment(raw, path);
    const crcs = ffmpeg(["-i", path, "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"])
      .toString()
      .split("\n")
      .filter((l) => /^0,/.test(l));
    expect(crcs).toHaveLength(raw.fragment.frameCount);
    expect(readFileSync(path).length).toBe(raw.size);
  });
});
