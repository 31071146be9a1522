import { describe, expect, it } from "vitest";
import type { FragmentEvent } from "../../src/kvs/fragment.js";
import { compareFragmentNumbers } from "../../src/kvs/fragment-number.js";
import { formatKvsTimestamp, splitClusters, toGetMediaForm } from "../../src/kvs/fragment-writer.js";
import type { Frame } from "../../src/matroska/frame.js";
import { checksum, parseChunked, readFixture } from "../helpers/fixtures.js";

describe("GetMedia-form writer", () => {
  it("splits a producer MKV into its clusters (clusters.mkv: 8)", () => {
    const clusters = splitClusters(readFixture("clusters.mkv"));
    expect(clusters.map((c) => c.timestampMs)).toEqual([0, 1999, 3999, 5998, 7998, 9998, 11997, 13997]);
  });

  for (const unknownSizeClusters of [false, true]) {
    it(`writes one KVS fragment per cluster that parses back to the same frames (unknown-size clusters: ${unknownSizeClusters})`, () => {
      const source = parseChunked(readFixture("vogels_480.mkv")).events.filter((e): e is Frame => e.type === "frame");
      const out = parseChunked(toGetMediaForm(readFixture("vogels_480.mkv"), { unknownSizeClusters, serverStartMs: 1_600_000_000_000 }), [4096]);
      expect(out.error).toBeUndefined();
      const frags = out.events.filter((e): e is FragmentEvent => e.type === "fragment");
      expect(frags.length).toBe(9);
      for (let i = 1; i < frags.length; i++) expect(compareFragmentNumbers(frags[i - 1]!.fragmentNumber!, frags[i]!.fragmentNumber!)).toBeLessThan(0);
      expect(frags.map((f) => f.continuationToken)).toEqual(frags.map((f) => f.fragmentNumber));
      expect(frags[1]!.serverTimestampMs).toBe(1_600_000_002_155);
      expect(frags[1]!.producerTimestampMs).toBe(2155);
      const frames = out.events.filter((e): e is Frame => e.type === "frame");
      expect(frames.map((f) => [f.track, f.timestampMs, f.keyframe, checksum(f.data)])).toEqual(
        source.map((f) => [f.track, f.timestampMs, f.keyframe, checksum(f.data)]),
      );
    });
  }

  it("formats timestamps as KVS does", () => {
    expect(formatKvsTimestamp(1510005542123)).toBe("1510005542.123");
    expect(formatKvsTimestamp(0)).toBe("0.000");
    expect(formatKvsTimestamp(5007)).toBe("5.007");
  });
});
