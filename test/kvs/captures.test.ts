import { describe, expect, it } from "vitest";
import { MkvParseError } from "../../src/ebml/errors.js";
import type { FragmentEvent } from "../../src/kvs/fragment.js";
import { compareFragmentNumbers } from "../../src/kvs/fragment-number.js";
import type { KvsEvent } from "../../src/kvs/parser.js";
import { isKvsTagName, parseKvsTimestamp } from "../../src/kvs/tags.js";
import type { Track } from "../../src/matroska/model.js";
import { parseChunked, readFixture, readJsonFixture } from "../helpers/fixtures.js";

// Expected values transcribed from the capture manifest (fixtures/CAPTURES-MANIFEST.md), the oracle
// built from the Java KVS parser library's tests and an independent EBML walk.
interface ExpectedTrack {
  number: number;
  type: number;
  codecId: string;
  codecPrivateBytes: number;
  width?: number;
  height?: number;
  samplingFrequency?: number;
  channels?: number;
  name?: string;
}
interface ExpectedSegment {
  sizeKnown: boolean;
  timecodeScale: number | null;
  clusterTimecodes: number[];
  blocks: Record<string, { count: number; key: number }>;
  tracks: ExpectedTrack[];
  aws: [string, string, "before" | "after"][];
  tagsBefore: [string, string][];
  tagsAfter: [string, string][];
  tagsAfterCount: number | null;
  tagsBeforeCount?: number;
}
const expected = readJsonFixture<Record<string, { segments: ExpectedSegment[] }>>("captures.expected.json");

/** Truncated captures: where the cut block starts (the manifest's survey counts that block too). */
const TRUNCATED: Record<string, number> = {
  "output-get-media-non-increasing-timecode.mkv": 1912925,
  "output-get-media-equal-timecode.mkv": 1272988,
};

interface SegmentView {
  sizeKnown: boolean;
  clusterTimecodes: number[];
  blocks: Record<string, { count: number; key: number }>;
  tracks: readonly Track[];
  aws: [string, string, "before" | "after"][];
  tagsBefore: [string, string][];
  tagsAfter: [string, string][];
}

/** Groups the parser's events by Segment, the way the manifest describes the files. */
function segments(events: readonly KvsEvent[]): SegmentView[] {
  const out: SegmentView[] = [];
  let cur: SegmentView | undefined;
  for (const ev of events) {
    if (ev.type === "segmentStart") {
      cur = { sizeKnown: ev.size !== null, clusterTimecodes: [], blocks: {}, tracks: [], aws: [], tagsBefore: [], tagsAfter: [] };
      out.push(cur);
    } else if (!cur) continue;
    else if (ev.type === "cluster") cur.clusterTimecodes.push(ev.timestampTicks);
    else if (ev.type === "frame") {
      const b = (cur.blocks[ev.track] ??= { count: 0, key: 0 });
      b.count++;
      if (ev.keyframe) b.key++;
    } else if (ev.type === "tracks") cur.tracks = ev.tracks;
    else if (ev.type === "tags") {
      for (const tag of ev.tags)
        for (const st of tag.simpleTags) {
          const where = ev.afterCluster ? "after" : "before";
          if (isKvsTagName(st.name)) cur.aws.push([st.name, st.value ?? "", where]);
          else (ev.afterCluster ? cur.tagsAfter : cur.tagsBefore).push([st.name, st.value ?? ""]);
        }
    }
  }
  return out;
}

describe("real KVS captures and MKV files parse to the manifest's values", () => {
  for (const [file, exp] of Object.entries(expected)) {
    it(`${file}: segments, tracks, clusters, frames per track, tags`, () => {
      const bytes = readFixture(file);
      const { events, error } = parseChunked(bytes, [65536], { recover: file in TRUNCATED });
      expect(error).toBeUndefined();
      const got = segments(events);
      expect(got.length).toBe(exp.segments.length);
      exp.segments.forEach((e, i) => {
        const g = got[i]!;
        expect(g.sizeKnown).toBe(e.sizeKnown);
        expect(g.clusterTimecodes).toEqual(e.clusterTimecodes);
        expect(g.blocks).toEqual(e.blocks); // the manifest counts complete blocks only

        expect(
          g.tracks.map((t) => ({
            number: t.number,
            type: t.typeCode,
            codecId: t.codecId,
            codecPrivateBytes: t.codecPrivate?.length ?? 0,
            ...(t.video ? { width: t.video.pixelWidth, height: t.video.pixelHeight } : {}),
            ...(t.audio ? { samplingFrequency: t.audio.samplingFrequency, channels: t.audio.channels } : {}),
            ...(e.tracks.find((x) => x.number === t.number)?.name !== undefined ? { name: t.name } : {}),
          })),
        ).toEqual(e.tracks);
        expect(g.aws).toEqual(e.aws);
        if (e.tagsAfterCount !== null) {
          expect(g.tagsBefore.length).toBe(e.tagsBeforeCount);
          expect(g.tagsAfter.length).toBe(e.tagsAfterCount);
        } else {
          expect(g.tagsBefore).toEqual(e.tagsBefore);
          expect(g.tagsAfter).toEqual(e.tagsAfter);
        }
      });
    });
  }

  it("fragment events carry the manifest's fragment numbers, timestamps, lag and continuation tokens", () => {
    for (const [file, exp] of Object.entries(expected)) {
      const { events } = parseChunked(readFixture(file), [65536], { recover: file in TRUNCATED });
      const frags = events.filter((e): e is FragmentEvent => e.type === "fragment");
      const wanted = exp.segments.flatMap((s) => {
        // One fragment per FRAGMENT_NUMBER tag (the merged file holds three in one Segment).
        const groups: Record<string, string>[] = [];
        for (const [name, value] of s.aws) {
          if (name === "AWS_KINESISVIDEO_FRAGMENT_NUMBER" || groups.length === 0) groups.push({});
          groups[groups.length - 1]![name] = value;
        }
        return groups.length ? groups : [{}];
      });
      expect(
        frags.map((f) => f.fragmentNumber),
        file,
      ).toEqual(wanted.map((w) => w.AWS_KINESISVIDEO_FRAGMENT_NUMBER ?? null));
      frags.forEach((f, i) => {
        const w = wanted[i]!;
        expect(f.serverTimestampMs).toBe(w.AWS_KINESISVIDEO_SERVER_TIMESTAMP ? parseKvsTimestamp(w.AWS_KINESISVIDEO_SERVER_TIMESTAMP) : null);
        expect(f.producerTimestampMs).toBe(w.AWS_KINESISVIDEO_PRODUCER_TIMESTAMP ? parseKvsTimestamp(w.AWS_KINESISVIDEO_PRODUCER_TIMESTAMP) : null);
        expect(f.millisBehindNow).toBe(w.AWS_KINESISVIDEO_MILLIS_BEHIND_NOW ? Number(w.AWS_KINESISVIDEO_MILLIS_BEHIND_NOW) : null);
        expect(f.continuationToken).toBe(w.AWS_KINESISVIDEO_CONTINUATION_TOKEN ?? null);
      });
    }
  });

  it("output_get_media.mkv: the Java FragmentMetadataVisitorTest values", () => {
    const { events } = parseChunked(readFixture("output_get_media.mkv"));
    const frags = events.filter((e): e is FragmentEvent => e.type === "fragment");
    expect(frags.slice(0, 3).map((f) => f.continuationToken)).toEqual([
      "91343852333181432392682062607743920146159169392",
      "91343852333181432397633822764885441725874549018",
      "91343852333181432402585582922026963247510532162",
    ]);
    expect(frags[4]!.fragmentNumber).toBe("91343852333181432412489103236310005892133364608");
    expect(frags[0]!.serverTimestampMs).toBe(1511852109126);
    expect(frags[0]!.producerTimestampMs).toBe(1511852108513);
    for (const f of frags) {
      expect(f.tags.map((t) => [t.name, t.value])).toEqual([
        ["COMPATIBLE_BRANDS", "isomavc1mp42"],
        ["MAJOR_BRAND", "M4V "],
        ["MINOR_VERSION", "1"],
        ["ENCODER", "Lavf57.71.100"],
        ["HANDLER_NAME", "ETI ISO Video Media Handler"],
        ["ENCODER", "Elemental H.264"],
        ["DURATION", "00:00:10.000000000\u0000\u0000"],
      ]);
      expect(f.error).toBeNull();
      expect(f.frameCount).toBe(60);
      expect(f.complete).toBe(true);
    }
    for (let i = 1; i < frags.length; i++) expect(compareFragmentNumbers(frags[i - 1]!.fragmentNumber!, frags[i]!.fragmentNumber!)).toBeLessThan(0);
    const tracks = events.find((e) => e.type === "tracks");
    expect(tracks?.type === "tracks" && Buffer.from(tracks.tracks[0]!.codecPrivate!).toString("hex")).toBe(
      "014d401e030100272 74d401eb9101405ff2e02d4040407c0000003004000000f38a0003d090007a13bdee03e1108d4010004 28fe3c80".replace(/ /g, ""),
    );
    // Every frame is stamped with its fragment's number and lies inside the fragment's byte range.
    for (const ev of events) if (ev.type === "frame") expect(ev.fragmentNumber).not.toBeNull();
    let n = 0;
    for (const ev of events) {
      if (ev.type === "frame") expect(ev.fragmentNumber).toBe(frags[Math.floor(n++ / 60)]!.fragmentNumber);
    }
    expect(n).toBe(300);
  });

  it("kinesis_video_renderer_example_output.mkv: 8 fragments, 444 frames, the Java CodecPrivate, payloads equal clusters.mkv's", () => {
    const kvs = parseChunked(readFixture("kinesis_video_renderer_example_output.mkv")).events;
    const plain = parseChunked(readFixture("clusters.mkv")).events;
    const a = kvs.filter((e) => e.type === "frame");
    const b = plain.filter((e) => e.type === "frame");
    expect(a.length).toBe(444);
    expect(a.map((f) => Buffer.from(f.data).toString("base64"))).toEqual(b.map((f) => Buffer.from(f.data).toString("base64")));
    const tracks = kvs.find((e) => e.type === "tracks");
    expect(tracks?.type === "tracks" && Buffer.from(tracks.tracks[0]!.codecPrivate!).toString("hex")).toBe(
      "01640028ffe1000e27640028ac2b40501ed00f1226a0010004 28ee1f2c".replace(/ /g, ""),
    );
    expect(kvs.filter((e) => e.type === "fragment").length).toBe(8);
  });

  it("vogels_480.mkv: 909 video + 1425 audio frames, audio settings filled in, last cluster at 28821", () => {
    const { events } = parseChunked(readFixture("vogels_480.mkv"));
    const fr = events.filter((e) => e.type === "frame");
    expect(fr.filter((f) => f.track === 1).length).toBe(909);
    expect(fr.filter((f) => f.track === 2).length).toBe(1425);
    const info = events.find((e) => e.type === "info");
    expect(info?.type === "info" && info.timestampScale).toBe(1000000);
    const clusters = events.filter((e) => e.type === "cluster");
    expect(clusters.at(-1)?.type === "cluster" && clusters.at(-1)!.timestampTicks).toBe(28821);
    const tracks = events.find((e) => e.type === "tracks");
    expect(tracks?.type === "tracks" && tracks.tracks[1]!.audio).toEqual({
      samplingFrequency: 48000,
      outputSamplingFrequency: null,
      channels: 2,
      bitDepth: null,
    });
  });

  it("empty-mkv-with-tags.mkv: the fragment without a Cluster still yields its fragment number", () => {
    const { events } = parseChunked(readFixture("empty-mkv-with-tags.mkv"));
    const frags = events.filter((e): e is FragmentEvent => e.type === "fragment");
    expect(frags.map((f) => f.fragmentNumber)).toEqual(["91343852338378294813695855977007281634605393997"]);
    expect(frags[0]!.frameCount).toBe(0);
  });

  it("test_mixed_tags.mkv: 10 custom tags in the first fragment, 5 in the others (Java testMkvTags_MixedCluster)", () => {
    const frags = parseChunked(readFixture("test_mixed_tags.mkv")).events.filter((e): e is FragmentEvent => e.type === "fragment");
    expect(frags.length).toBe(10);
    frags.forEach((f, k) => {
      expect(f.tags.length).toBe(k === 0 ? 10 : 5);
      for (const [i, t] of f.tags.entries()) expect([t.name, t.value]).toEqual([`testTag_${i % 5}`, `testTag_${i % 5}_Value`]);
    });
    expect(frags[0]!.producerTimestampMs).toBe(0);
    expect(frags[1]!.producerTimestampMs).toBe(5000);
  });

  it("test_tags_empty_cluster.mkv: 5 tags at segment end (Java testMkvTags_NoCluster)", () => {
    const frags = parseChunked(readFixture("test_tags_empty_cluster.mkv")).events.filter((e): e is FragmentEvent => e.type === "fragment");
    expect(frags.length).toBe(1);
    expect(frags[0]!.tags.map((t) => [t.name, t.value])).toEqual([0, 1, 2, 3, 4].map((i) => [`testTag_${i}`, `testTag_${i}_Value`]));
  });

  for (const [file, at] of Object.entries(TRUNCATED)) {
    it(`${file}: a cut tail is a TRUNCATED MkvParseError at byte ${at} after every complete frame`, () => {
      const { events, error } = parseChunked(readFixture(file), [4096]);
      expect(error).toBeInstanceOf(MkvParseError);
      expect((error as MkvParseError).code).toBe("TRUNCATED");
      expect((error as MkvParseError).offset).toBe(at);
      expect((error as MkvParseError).path).toEqual(["Segment", "Cluster"]);
      const recovered = parseChunked(readFixture(file), [4096], { recover: true }).events;
      expect(events.filter((e) => e.type === "frame").length).toBe(recovered.filter((e) => e.type === "frame").length);
      const last = recovered.filter((e): e is FragmentEvent => e.type === "fragment").at(-1)!;
      expect(last.complete).toBe(false);
      expect(last.continuationToken).toBeNull();
      expect(last.problems.map((p) => p.code)).toEqual(["TRUNCATED"]);
    });
  }
});
