import { describe, expect, it } from "vitest";
import { ID } from "../../src/ebml/schema.js";
import { concatBytes, element, stringElement, uintElement } from "../../src/ebml/writer.js";
import type { FragmentEvent } from "../../src/kvs/fragment.js";
import { syntheticFragmentNumber, writeKvsFragment } from "../../src/kvs/fragment-writer.js";
import { KvsParser, type KvsEvent } from "../../src/kvs/parser.js";
import type { Frame } from "../../src/matroska/frame.js";

const ebmlHeader = element(ID.EBML, [uintElement(ID.EBMLVersion, 1), stringElement(ID.DocType, "matroska")]);
const info = element(ID.Info, [uintElement(ID.TimestampScale, 1_000_000)]);
const trackNumbers = [1, 2, 3, 1500];
const tracks = element(
  ID.Tracks,
  trackNumbers.map((n) => element(ID.TrackEntry, [uintElement(ID.TrackNumber, n), uintElement(ID.TrackType, 1), stringElement(ID.CodecID, "V_TEST")])),
);

/** A SimpleBlock of `track` (1- or 2-byte track number) at `tc` ms into its Cluster. */
function block(track: number, tc: number): Uint8Array {
  const number = track < 127 ? [0x80 | track] : [0x40 | (track >> 8), track & 0xff];
  return element(ID.SimpleBlock, new Uint8Array([...number, 0, tc, 0x80, 0xaa, 0xbb]));
}

/** One GetMedia-form fragment whose Cluster holds a block of each track in `perBlock`, in order. */
function fragment(k: number, perBlock: readonly number[]): Uint8Array {
  const clusterBody = concatBytes([uintElement(ID.Timestamp, k * 1000), ...perBlock.map((t, i) => block(t, i))]);
  return writeKvsFragment(
    { ebmlHeader, info, tracks, timestampMs: k * 1000, timestampScale: 1_000_000, clusterBody },
    { fragmentNumber: syntheticFragmentNumber(k), serverTimestampMs: 1_700_000_000_000 + k * 1000, producerTimestampMs: k * 1000, millisBehindNow: 0 },
  );
}

describe("KvsParser: each fragment's framesByTrack", () => {
  it("counts each fragment's frames per track, whether its tracks are those of the fragment before or not", () => {
    const layouts = [[1, 2, 1, 2, 1], [2, 1, 1], [1, 1], [2], [3, 1, 2], [1500, 1, 1500], [1, 2], [], [2, 3, 3], [2, 3]];
    const events: KvsEvent[] = [];
    const parser = new KvsParser((ev) => events.push(ev));
    parser.push(concatBytes(layouts.map((l, k) => fragment(k, l))));
    parser.end();
    const fragments = events.filter((e): e is FragmentEvent => e.type === "fragment");
    const expected = layouts.map((l) => {
      const out: Record<number, number> = {};
      for (const t of l) out[t] = (out[t] ?? 0) + 1;
      return out;
    });
    expect(fragments.map((f) => f.framesByTrack)).toEqual(expected);
    expect(fragments.map((f) => Object.keys(f.framesByTrack))).toEqual(expected.map((e) => Object.keys(e)));
    expect(events.filter((e): e is Frame => e.type === "frame").length).toBe(layouts.flat().length);
  });

  it("hands each fragment a record of its own: changing one changes no other", () => {
    const events: FragmentEvent[] = [];
    const parser = new KvsParser((ev) => {
      if (ev.type !== "fragment") return;
      events.push(ev);
      (ev.framesByTrack as Record<number, number>)[1] = -1;
      (ev.framesByTrack as Record<number, number>)[9] = -1;
    });
    parser.push(concatBytes([fragment(0, [1, 2]), fragment(1, [1, 2, 2]), fragment(2, [2, 1, 1])]));
    parser.end();
    expect(events.map((e) => e.framesByTrack)).toEqual([
      { 1: -1, 2: 1, 9: -1 },
      { 1: -1, 2: 2, 9: -1 },
      { 1: -1, 2: 1, 9: -1 },
    ]);
  });
});

describe("KvsParser: frames outside any fragment", () => {
  const simpleTag = (name: string, value: string) => element(ID.SimpleTag, [stringElement(ID.TagName, name), stringElement(ID.TagString, value)]);
  const tags = (...st: Uint8Array[]) => element(ID.Tags, [element(ID.Tag, st)]);

  it("frames after a fragment's closing tags, in the same Segment, make a fragment of their own with no stamp of the closed one", () => {
    const segment = element(ID.Segment, [
      info,
      tracks,
      tags(simpleTag("AWS_KINESISVIDEO_FRAGMENT_NUMBER", "91"), simpleTag("AWS_KINESISVIDEO_SERVER_TIMESTAMP", "1700000000.000")),
      element(ID.Cluster, [uintElement(ID.Timestamp, 0), block(1, 0), block(2, 1)]),
      tags(simpleTag("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "91")),
      element(ID.Cluster, [uintElement(ID.Timestamp, 100), block(1, 0), block(1, 2), block(3, 4)]),
    ]);
    const events: KvsEvent[] = [];
    const parser = new KvsParser((ev) => events.push(ev));
    parser.push(concatBytes([ebmlHeader, segment]));
    parser.end();
    const fragments = events.filter((e): e is FragmentEvent => e.type === "fragment");
    const frames = events.filter((e): e is Frame => e.type === "frame");
    expect(fragments.map((f) => [f.fragmentNumber, f.frameCount, f.framesByTrack, f.firstFrameTimestampMs, f.lastFrameTimestampMs, f.payloadBytes])).toEqual([
      ["91", 2, { 1: 1, 2: 1 }, 0, 1, 4],
      [null, 3, { 1: 2, 3: 1 }, 100, 104, 6],
    ]);
    const clusters = events.filter((e) => e.type === "cluster");
    expect(fragments[1]!.startOffset).toBe(clusters[1]!.offset); // the fragment starts at its Cluster
    expect(frames.map((f) => [f.fragmentNumber, f.serverTimestampMs])).toEqual([
      ["91", 1_700_000_000_000],
      ["91", 1_700_000_000_001],
      [null, null],
      [null, null],
      [null, null],
    ]);
    // Each fragment event comes after its own frames and before the next one's.
    expect(events.filter((e) => e.type === "frame" || e.type === "fragment").map((e) => e.type)).toEqual([
      "frame",
      "frame",
      "fragment",
      "frame",
      "frame",
      "frame",
      "fragment",
    ]);
  });
});
