import { describe, expect, it } from "vitest";
import type { FragmentEvent } from "../../src/kvs/fragment.js";
import type { Frame } from "../../src/matroska/frame.js";
import type { ClusterEvent } from "../../src/matroska/model.js";
import { parseChunked, readFixture } from "../helpers/fixtures.js";

describe("absolute time on every frame", () => {
  for (const file of ["output_get_media.mkv", "output_get_media_sparse_fragments.mkv", "test_mixed_tags.mkv"]) {
    it(`${file}: producer and server time = the fragment's timestamp + the frame's offset from its first Cluster, known as the frame is emitted`, () => {
      const { events } = parseChunked(readFixture(file), [4096]);
      let frames: Frame[] = [];
      let firstCluster: number | null = null;
      let checked = 0;
      for (const ev of events) {
        if (ev.type === "ebmlHeader") firstCluster = null;
        if (ev.type === "cluster" && firstCluster === null) firstCluster = (ev as ClusterEvent).timestampMs;
        if (ev.type === "frame") frames.push(ev);
        if (ev.type === "fragment") {
          const f = ev as FragmentEvent;
          for (const fr of frames) {
            expect(fr.producerTimestampMs).toBe(f.producerTimestampMs! + (fr.timestampMs - firstCluster!));
            expect(fr.serverTimestampMs).toBe(f.serverTimestampMs! + (fr.timestampMs - firstCluster!));
            checked++;
          }
          frames = [];
        }
      }
      expect(checked).toBeGreaterThan(0);
    });
  }

  it("frames of a plain MKV (no KVS tags) have no absolute time", () => {
    const frames = parseChunked(readFixture("vogels_330.mkv")).events.filter((e): e is Frame => e.type === "frame");
    expect(frames.every((f) => f.producerTimestampMs === null && f.serverTimestampMs === null)).toBe(true);
  });

  it("the first frame of a capture's fragment carries the fragment's own timestamps (1511852109126 server)", () => {
    const { events } = parseChunked(readFixture("output_get_media.mkv"));
    const first = events.find((e): e is Frame => e.type === "frame")!;
    const fragment = events.find((e): e is FragmentEvent => e.type === "fragment")!;
    expect(first.serverTimestampMs).toBe(fragment.serverTimestampMs);
    expect(first.producerTimestampMs).toBe(fragment.producerTimestampMs);
    expect(first.serverTimestampMs).toBe(1511852109126);
  });
});
