import { describe, expect, it } from "vitest";
import { mergeFragments } from "../../src/kvs/merge.js";
import { concatBytes } from "../../src/ebml/writer.js";
import { parseChunked, readFixture } from "../helpers/fixtures.js";

function counts(bytes: Uint8Array) {
  const { events, error } = parseChunked(bytes);
  expect(error).toBeUndefined();
  const n = (t: string) => events.filter((e) => e.type === t).length;
  const tagNames = events.reduce((a, e) => a + (e.type === "tags" ? e.tags.reduce((b, t) => b + t.simpleTags.length, 0) : 0), 0);
  return { ebml: n("ebmlHeader"), segments: n("segmentStart"), clusters: n("cluster"), tracks: n("tracks"), frames: n("frame"), tagNames };
}

describe("mergeFragments (the Java OutputSegmentMerger role)", () => {
  it("packClusters on the sparse capture reproduces the Java golden output byte for byte", () => {
    const r = mergeFragments(readFixture("output_get_media_sparse_fragments.mkv"), { packClusters: true });
    expect(Buffer.from(r.bytes).equals(Buffer.from(readFixture("output_get_media_sparse_fragments_merged.mkv")))).toBe(true);
    const clusters = parseChunked(r.bytes)
      .events.filter((e) => e.type === "cluster")
      .map((e) => e.type === "cluster" && e.timestampTicks);
    expect(clusters).toEqual([0, 2000, 4000]);
  });

  it("merges the 5 fragments of a GetMedia capture into one Segment (Java mergeTracksAndEBML)", () => {
    const input = readFixture("output_get_media.mkv");
    const r = mergeFragments(input);
    expect(Buffer.from(r.bytes).equals(Buffer.from(input))).toBe(false);
    expect(counts(r.bytes)).toEqual({ ebml: 1, segments: 1, clusters: 5, tracks: 1, frames: 300, tagNames: 60 });
    expect(r).toMatchObject({ segments: 1, fragments: 5, clusters: 5, stoppedEarly: false });
  });

  it("starts a new Segment when timestamps go back (Java mergeWithTimeCodeBackwards)", () => {
    const input = readFixture("output_get_media.mkv");
    const r = mergeFragments(concatBytes([input, input]));
    expect(counts(r.bytes)).toEqual({ ebml: 2, segments: 2, clusters: 10, tracks: 2, frames: 600, tagNames: 120 });
  });

  it("stops at the first fragment that cannot join (Java mergeWithStopAfterFirstSegment)", () => {
    const input = readFixture("output_get_media.mkv");
    const r = mergeFragments(concatBytes([input, input]), { stopAtFirstNonMatching: true });
    expect(r.stoppedEarly).toBe(true);
    expect(counts(r.bytes)).toEqual({ ebml: 1, segments: 1, clusters: 5, tracks: 1, frames: 300, tagNames: 60 });
  });

  it("stops before a backwards timestamp without reading the cut tail (Java stopWithTimeCodeBackwards)", () => {
    const input = readFixture("output-get-media-non-increasing-timecode.mkv");
    const r = mergeFragments(concatBytes([input, input]), { stopAtFirstNonMatching: true });
    expect(r.stoppedEarly).toBe(true);
    expect(counts(r.bytes)).toEqual({ ebml: 1, segments: 1, clusters: 1, tracks: 1, frames: 30, tagNames: 59 });
  });

  it("stops at an equal timestamp (Java stopWithTimeCodeEqual)", () => {
    const input = readFixture("output-get-media-equal-timecode.mkv");
    const r = mergeFragments(concatBytes([input, input]), { stopAtFirstNonMatching: true });
    expect(counts(r.bytes)).toEqual({ ebml: 1, segments: 1, clusters: 1, tracks: 1, frames: 120, tagNames: 12 });
  });

  it("keeps every byte when nothing can be merged (plain MKV in, same MKV out)", () => {
    const input = readFixture("test_tags_empty_cluster.mkv");
    expect(Buffer.from(mergeFragments(input).bytes).equals(Buffer.from(input))).toBe(true);
  });
});
