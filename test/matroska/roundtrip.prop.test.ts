import { EbmlDataTag, EbmlElementType, type EbmlMasterTag, EbmlTagFactory, EbmlTagId } from "ebml-stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Frame } from "../../src/matroska/frame.js";
import type { TagsEvent, TracksEvent } from "../../src/matroska/model.js";
import { parseChunked } from "../helpers/fixtures.js";

// Generated Matroska documents are written with ebml-stream's encoder (an independent writer) and read
// back. ebml-stream writes block flags with the wrong bit positions (lacing 0x0c, invisible 0x10), so
// block payloads are laid out here per RFC 9559 and handed to it as plain binary elements.

type LaceKind = "none" | "xiph" | "ebml" | "fixed";
interface BlockSpec {
  group: boolean;
  track: number;
  rel: number;
  keyframe: boolean;
  lacing: LaceKind;
  frames: Uint8Array[];
  reference: boolean;
  duration: number | null;
}
interface ClusterSpec {
  timestampTicks: number;
  unknownSize: boolean;
  blocks: BlockSpec[];
}
interface TrackSpec {
  number: number;
  video: boolean;
  codecId: string;
  defaultDurationNs: number | null;
}
interface DocSpec {
  timestampScale: number;
  tracks: TrackSpec[];
  clusters: ClusterSpec[];
  tags: [string, string][];
}

function vint(n: number): number[] {
  let len = 1;
  while (n >= 2 ** (7 * len) - 1) len++;
  const out: number[] = [];
  for (let k = 0, v = n; k < len; k++, v = Math.floor(v / 256)) out.unshift(v % 256);
  out[0]! |= 0x80 >> (len - 1);
  return out;
}

function signedVint(n: number): number[] {
  let len = 1;
  while (Math.abs(n) >= 2 ** (7 * len - 1) - 1) len++;
  const out: number[] = [];
  for (let k = 0, x = n + 2 ** (7 * len - 1) - 1; k < len; k++, x = Math.floor(x / 256)) out.unshift(x % 256);
  out[0]! |= 0x80 >> (len - 1);
  return out;
}

function blockPayload(b: BlockSpec, simple: boolean): Buffer {
  const lacingBits = { none: 0, xiph: 1, fixed: 2, ebml: 3 }[b.lacing];
  const flags = (simple && b.keyframe ? 0x80 : 0) | (lacingBits << 1);
  const head = [...vint(b.track), (b.rel >> 8) & 0xff, b.rel & 0xff, flags];
  const lace: number[] = [];
  if (b.lacing !== "none") {
    lace.push(b.frames.length - 1);
    const sizes = b.frames.map((f) => f.length);
    if (b.lacing === "xiph")
      for (const s of sizes.slice(0, -1)) {
        let v = s;
        while (v >= 255) {
          lace.push(255);
          v -= 255;
        }
        lace.push(v);
      }
    if (b.lacing === "ebml" && sizes.length > 1) {
      lace.push(...vint(sizes[0]!));
      for (let i = 1; i < sizes.length - 1; i++) lace.push(...signedVint(sizes[i]! - sizes[i - 1]!));
    }
  }
  return Buffer.concat([Buffer.from(head), Buffer.from(lace), ...b.frames.map((f) => Buffer.from(f))]);
}

function data(id: number, type: EbmlElementType, value: unknown): EbmlDataTag {
  const t = new EbmlDataTag(id, type);
  t.data = value;
  return t;
}

function master(id: number, children: (EbmlMasterTag | EbmlDataTag)[], unknownSize = false): EbmlMasterTag {
  const m = EbmlTagFactory.create(id as EbmlTagId.Segment);
  m.Children = children;
  if (unknownSize) m.size = -1;
  return m;
}

function encode(doc: DocSpec): Uint8Array {
  const ebml = master(EbmlTagId.EBML, [data(EbmlTagId.DocType, EbmlElementType.String, "matroska")]);
  const info = master(EbmlTagId.Info, [data(EbmlTagId.TimecodeScale, EbmlElementType.UnsignedInt, doc.timestampScale)]);
  const tracks = master(
    EbmlTagId.Tracks,
    doc.tracks.map((t) =>
      master(EbmlTagId.TrackEntry, [
        data(EbmlTagId.TrackNumber, EbmlElementType.UnsignedInt, t.number),
        data(EbmlTagId.TrackType, EbmlElementType.UnsignedInt, t.video ? 1 : 2),
        data(EbmlTagId.CodecID, EbmlElementType.String, t.codecId),
        ...(t.defaultDurationNs !== null ? [data(EbmlTagId.DefaultDuration, EbmlElementType.UnsignedInt, t.defaultDurationNs)] : []),
      ]),
    ),
  );
  const clusters = doc.clusters.map((c) =>
    master(
      EbmlTagId.Cluster,
      [
        data(EbmlTagId.Timecode, EbmlElementType.UnsignedInt, c.timestampTicks),
        ...c.blocks.map((b) =>
          b.group
            ? master(EbmlTagId.BlockGroup, [
                data(EbmlTagId.Block, EbmlElementType.Binary, blockPayload(b, false)),
                ...(b.reference ? [data(EbmlTagId.ReferenceBlock, EbmlElementType.Integer, -1)] : []),
                ...(b.duration !== null ? [data(EbmlTagId.BlockDuration, EbmlElementType.UnsignedInt, b.duration)] : []),
              ])
            : data(EbmlTagId.SimpleBlock, EbmlElementType.Binary, blockPayload(b, true)),
        ),
      ],
      c.unknownSize,
    ),
  );
  const tags = master(EbmlTagId.Tags, [
    master(
      EbmlTagId.Tag,
      doc.tags.map(([n, v]) =>
        master(EbmlTagId.SimpleTag, [data(EbmlTagId.TagName, EbmlElementType.UTF8, n), data(EbmlTagId.TagString, EbmlElementType.UTF8, v)]),
      ),
    ),
  ]);
  const segment = master(EbmlTagId.Segment, [info, tracks, tags, ...clusters], true);
  return new Uint8Array(Buffer.concat([ebml.encode(), segment.encode()]));
}

const bytesArb = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });

const blockArb = (tracks: number) =>
  fc
    .record({
      group: fc.boolean(),
      track: fc.integer({ min: 1, max: tracks }),
      rel: fc.integer({ min: -500, max: 30000 }),
      keyframe: fc.boolean(),
      lacing: fc.constantFrom<LaceKind>("none", "xiph", "ebml", "fixed"),
      frames: fc.array(bytesArb(0, 600), { minLength: 1, maxLength: 6 }),
      reference: fc.boolean(),
      duration: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: null }),
    })
    .map((b) => {
      if (b.lacing === "none") return { ...b, frames: [b.frames[0]!.length ? b.frames[0]! : new Uint8Array([1])] };
      if (b.lacing === "fixed") return { ...b, frames: b.frames.map(() => b.frames[0]!) };
      return b;
    });

const docArb: fc.Arbitrary<DocSpec> = fc.integer({ min: 1, max: 3 }).chain((n) =>
  fc.record({
    timestampScale: fc.constantFrom(1_000_000, 100_000, 1_000),
    tracks: fc.tuple(
      ...Array.from({ length: n }, (_, i) =>
        fc.record({
          number: fc.constant(i + 1),
          video: fc.boolean(),
          codecId: fc.constantFrom("V_MPEG4/ISO/AVC", "A_AAC", "A_OPUS", "V_VP9"),
          defaultDurationNs: fc.option(fc.integer({ min: 1, max: 50_000_000 }), { nil: null }),
        }),
      ),
    ),
    clusters: fc.array(
      fc.record({
        timestampTicks: fc.integer({ min: 1000, max: 2 ** 40 }),
        unknownSize: fc.boolean(),
        blocks: fc.array(blockArb(n), { minLength: 0, maxLength: 8 }),
      }),
      { minLength: 1, maxLength: 5 },
    ),
    tags: fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 20 })), { maxLength: 4 }),
  }),
);

/** An Opus packet's length in ms from its TOC byte (RFC 6716 §3.1), written out independently of src/. */
function opusMs(packet: Uint8Array): number | null {
  if (packet.length === 0) return null;
  const config = packet[0]! >> 3;
  const frame = config < 12 ? [10, 20, 40, 60][config % 4]! : config < 16 ? [10, 20][config % 2]! : [2.5, 5, 10, 20][config % 4]!;
  const code = packet[0]! & 3;
  const n = code === 0 ? 1 : code < 3 ? 2 : packet.length > 1 ? packet[1]! & 63 : 0;
  return n === 0 ? null : frame * n;
}

function expectedFrames(doc: DocSpec) {
  const msPerTick = doc.timestampScale / 1_000_000;
  return doc.clusters.flatMap((c) =>
    c.blocks.flatMap((b) => {
      const t = doc.tracks[b.track - 1]!;
      const dd = t.defaultDurationNs;
      const base = (c.timestampTicks + b.rel) * msPerTick;
      // Laced frames: DefaultDuration, else the codec's frame length (Opus TOC), else BlockDuration split evenly.
      const evenMs = dd !== null ? dd / 1_000_000 : b.group && b.duration !== null ? (b.duration * msPerTick) / b.frames.length : null;
      let next = base;
      const times = b.frames.map((f, i) => {
        if (b.frames.length === 1) return base;
        const codecMs = dd === null && t.codecId === "A_OPUS" ? opusMs(f) : null;
        const at = codecMs === null && evenMs !== null ? base + i * evenMs : next;
        const duration = codecMs ?? evenMs;
        next = duration === null ? base : at + duration;
        return at;
      });
      return b.frames.map((f, i) => ({
        track: b.track,
        timestampMs: times[i]!,
        keyframe: b.group ? !b.reference : b.keyframe,
        data: Buffer.from(f).toString("hex"),
      }));
    }),
  );
}

describe("encode → parse round trip of generated Matroska (ebml-stream writer)", () => {
  it("every frame, track and tag comes back as written, for any chunking", () => {
    fc.assert(
      fc.property(docArb, fc.integer({ min: 1, max: 700 }), (doc, chunk) => {
        const bytes = encode(doc);
        const { events, error } = parseChunked(bytes, [chunk]);
        expect(error).toBeUndefined();
        const frames = events.filter((e): e is Frame => e.type === "frame");
        expect(frames.map((f) => ({ track: f.track, timestampMs: f.timestampMs, keyframe: f.keyframe, data: Buffer.from(f.data).toString("hex") }))).toEqual(
          expectedFrames(doc),
        );
        const tracks = events.find((e): e is TracksEvent => e.type === "tracks")!;
        expect(tracks.tracks.map((t) => [t.number, t.kind, t.codecId, t.defaultDurationNs])).toEqual(
          doc.tracks.map((t) => [t.number, t.video ? "video" : "audio", t.codecId, t.defaultDurationNs]),
        );
        const tags = events.find((e): e is TagsEvent => e.type === "tags")!;
        expect(tags.tags.flatMap((t) => t.simpleTags.map((s) => [s.name, s.value]))).toEqual(doc.tags);
        expect(events.filter((e) => e.type === "cluster").map((e) => e.type === "cluster" && e.timestampTicks)).toEqual(
          doc.clusters.map((c) => c.timestampTicks),
        );
      }),
      { numRuns: 150 },
    );
  });
});
