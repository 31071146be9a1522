import { lastValueFrom, toArray } from "rxjs";
import { describe, expect, it, vi } from "vitest";
import { MkvParseError } from "../../src/ebml/errors.js";
import { ID } from "../../src/ebml/schema.js";
import { concatBytes, element, encodeId, encodeSize, stringElement, uintElement, unknownSizeHeader } from "../../src/ebml/writer.js";
import type { Frame } from "../../src/matroska/frame.js";
import { parseMkv } from "../../src/rx/parse-mkv.js";
import { parseChunked, readFixture } from "../helpers/fixtures.js";

const EBML_HEADER = element(ID.EBML, [stringElement(ID.DocType, "matroska")]);
const MiB = 1024 * 1024;

function track(number: number, extra: Uint8Array[] = []): Uint8Array {
  return element(ID.TrackEntry, [uintElement(ID.TrackNumber, number), uintElement(ID.TrackType, 2), stringElement(ID.CodecID, "A_PCM/INT/LIT"), ...extra]);
}
const cluster = (frame: Uint8Array) =>
  element(ID.Cluster, [uintElement(ID.Timestamp, 0), element(ID.SimpleBlock, concatBytes([Uint8Array.of(0x81, 0, 0, 0x80), frame]))]);

/** A document whose Attachments hold one FileData of `size` bytes, as chunks of one reused zero buffer. */
async function* withAttachment(size: number): AsyncGenerator<Uint8Array> {
  const fileData = concatBytes([encodeId(0x465c), encodeSize(size)]);
  const attached = concatBytes([encodeId(0x61a7), encodeSize(fileData.length + size + 9), stringElement(0x466e, "big.bin"), fileData]);
  yield concatBytes([
    EBML_HEADER,
    unknownSizeHeader(ID.Segment),
    element(ID.Tracks, [track(1)]),
    encodeId(0x1941a469),
    encodeSize(attached.length + size),
    attached,
  ]);
  const zeros = new Uint8Array(MiB);
  for (let left = size; left > 0; left -= MiB) yield left >= MiB ? zeros : zeros.subarray(0, left);
  yield cluster(Uint8Array.of(1, 2, 3, 4));
}

describe("elements the parser does not need are streamed past whatever their size", () => {
  it("a 300 MB attachment: the frame after it arrives and memory stays flat", async () => {
    const before = process.memoryUsage();
    let peak = 0;
    const sample = setInterval(() => {
      const m = process.memoryUsage();
      peak = Math.max(peak, m.heapUsed + m.arrayBuffers - before.heapUsed - before.arrayBuffers);
    }, 5);
    const events = await lastValueFrom(parseMkv(withAttachment(300 * MiB)).pipe(toArray()));
    clearInterval(sample);
    const m = process.memoryUsage();
    peak = Math.max(peak, m.heapUsed + m.arrayBuffers - before.heapUsed - before.arrayBuffers);
    const frames = events.filter((e): e is Frame => e.type === "frame");
    expect(frames.map((f) => [...f.data])).toEqual([[1, 2, 3, 4]]);
    expect(peak).toBeLessThan(32 * MiB);
  });

  it("a 65 MiB attachment no longer stops the parse (the 64 MiB limit applies only to what is held)", () => {
    const size = 65 * MiB;
    const fileData = concatBytes([encodeId(0x465c), encodeSize(size), new Uint8Array(size)]);
    const bytes = concatBytes([
      EBML_HEADER,
      unknownSizeHeader(ID.Segment),
      element(ID.Tracks, [track(1)]),
      element(0x1941a469, [element(0x61a7, [fileData])]),
      cluster(Uint8Array.of(9)),
    ]);
    const { events, error } = parseChunked(bytes, [MiB]);
    expect(error).toBeUndefined();
    expect(events.filter((e) => e.type === "frame")).toHaveLength(1);
  });

  it("what the parser holds is still limited: a CodecPrivate over maxElementSize is ELEMENT_TOO_LARGE", () => {
    const bytes = concatBytes([EBML_HEADER, unknownSizeHeader(ID.Segment), element(ID.Tracks, [track(1, [element(ID.CodecPrivate, new Uint8Array(2048))])])]);
    const { error } = parseChunked(bytes, [512], { maxElementSize: 1024 });
    expect(error).toBeInstanceOf(MkvParseError);
    expect((error as MkvParseError).code).toBe("ELEMENT_TOO_LARGE");
  });
});

describe("ContentEncodings", () => {
  const encoded = (algo: number) =>
    element(ID.ContentEncodings, [element(ID.ContentEncoding, [element(ID.ContentCompression, [uintElement(ID.ContentCompAlgo, algo)])])]);
  for (const [algo, name] of [
    [1, "bzlib"],
    [2, "lzo1x"],
  ] as const) {
    it(`${name} (ContentCompAlgo ${algo}): UNSUPPORTED_ENCODING naming the track at its first frame, never wrong bytes`, () => {
      const bytes = concatBytes([
        EBML_HEADER,
        unknownSizeHeader(ID.Segment),
        element(ID.Tracks, [track(7, [encoded(algo)])]),
        element(ID.Cluster, [uintElement(ID.Timestamp, 0), element(ID.SimpleBlock, Uint8Array.of(0x87, 0, 0, 0x80, 1, 2))]),
      ]);
      const { events, error } = parseChunked(bytes);
      expect(events.filter((e) => e.type === "frame")).toHaveLength(0);
      expect(error).toBeInstanceOf(MkvParseError);
      expect((error as MkvParseError).code).toBe("UNSUPPORTED_ENCODING");
      expect((error as MkvParseError).message).toContain(`track 7 is compressed with ${name}`);
    });
  }

  it("a zlib stream that does not inflate is INVALID_BLOCK with the frame's offset", () => {
    const bytes = concatBytes([
      EBML_HEADER,
      unknownSizeHeader(ID.Segment),
      element(ID.Tracks, [track(1, [encoded(0)])]),
      element(ID.Cluster, [uintElement(ID.Timestamp, 0), element(ID.SimpleBlock, Uint8Array.of(0x81, 0, 0, 0x80, 1, 2, 3))]),
    ]);
    const { error } = parseChunked(bytes);
    expect((error as MkvParseError).code).toBe("INVALID_BLOCK");
    expect((error as MkvParseError).offset).toBe(bytes.length - 3);
  });

  it("zlib where the runtime has no node:zlib: UNSUPPORTED_ENCODING at the first frame, never wrong bytes", async () => {
    const bytes = concatBytes([
      EBML_HEADER,
      unknownSizeHeader(ID.Segment),
      element(ID.Tracks, [track(3, [encoded(0)])]),
      element(ID.Cluster, [uintElement(ID.Timestamp, 0), element(ID.SimpleBlock, Uint8Array.of(0x83, 0, 0, 0x80, 1, 2, 3))]),
    ]);
    // zlib is loaded when a compressed track first needs it: a fresh copy of the modules, in a runtime without it.
    vi.resetModules();
    const noBuiltins = vi.spyOn(process, "getBuiltinModule").mockImplementation(() => undefined as never);
    try {
      const fresh = await import("../helpers/fixtures.js");
      const { events, error } = fresh.parseChunked(bytes);
      expect(events.filter((e) => e.type === "frame")).toHaveLength(0);
      expect((error as MkvParseError).code).toBe("UNSUPPORTED_ENCODING");
      expect((error as MkvParseError).offset).toBe(bytes.length - 3);
      expect((error as MkvParseError).message).toContain("track 3 is compressed with zlib, which this runtime cannot inflate");
      expect(noBuiltins).toHaveBeenCalledWith("node:zlib");
    } finally {
      noBuiltins.mockRestore();
      vi.resetModules();
    }
  });
});

describe("input that is not EBML says what it looks like", () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ["MP4", concatBytes([Uint8Array.of(0, 0, 0, 0x20), new TextEncoder().encode("ftypisom"), new Uint8Array(24)]), /MP4\/QuickTime file \('ftyp' box\)/],
    [
      "MPEG-TS",
      (() => {
        const b = new Uint8Array(376);
        b[0] = 0x47;
        b[188] = 0x47;
        return b;
      })(),
      /MPEG-TS stream/,
    ],
    ["text", new TextEncoder().encode("hello, this is not a video\n"), /text: "hello, this is not a video"/],
    ["Ogg", new TextEncoder().encode("OggS\0\u0002rest of the page"), /Ogg stream/],
  ];
  for (const [name, bytes, message] of cases) {
    it(`${name}: NOT_EBML at byte 0, whatever the chunking`, () => {
      for (const chunk of [1, 3, 7, 4096]) {
        const { error } = parseChunked(bytes, [chunk]);
        expect(error).toBeInstanceOf(MkvParseError);
        expect((error as MkvParseError).code).toBe("NOT_EBML");
        expect((error as MkvParseError).offset).toBe(0);
        expect((error as MkvParseError).message).toMatch(message);
      }
    });
  }

  it("an empty input is no error for the library (an idle GetMedia response is empty): no events", () => {
    const { events, error } = parseChunked(new Uint8Array(0));
    expect(error).toBeUndefined();
    expect(events).toEqual([]);
  });
});

describe("Tracks repeated in every Segment (GetMedia's fragments)", () => {
  type TracksEvent = Extract<ReturnType<typeof parseChunked>["events"][number], { type: "tracks" }>;
  const tracksOf = (bytes: Uint8Array, chunk: number) =>
    parseChunked(bytes, [chunk])
      .events.filter((e): e is TracksEvent => e.type === "tracks")
      .map((e) => e.tracks);

  it("the same Tracks give the same Track objects, however the bytes are chunked", () => {
    const capture = readFixture("output_get_media.mkv");
    for (const chunk of [7, 4096, 65536]) {
      const all = tracksOf(capture, chunk);
      expect(all.length).toBeGreaterThan(2);
      for (const tracks of all.slice(1)) expect(tracks.every((t, i) => t === all[0]![i])).toBe(true);
    }
  });

  it("a Segment whose track differs (a producer restart with new parameters) gets new Track objects with its own CodecPrivate", () => {
    const a = readFixture("generated/h264_aac.mkv");
    const b = readFixture("generated/h265_aac.mkv");
    const [ta, tb, tc] = tracksOf(concatBytes([a, b, a]), 1000);
    expect(tb![0]).not.toBe(ta![0]);
    expect(tb![0]!.codecId).toBe("V_MPEGH/ISO/HEVC");
    expect(tb![0]!.codecPrivate).toEqual(tracksOf(b, 65536)[0]![0]!.codecPrivate);
    expect(tc![0]!.codecPrivate).toEqual(ta![0]!.codecPrivate);
    expect(tc![0]!.codecPrivate!.buffer).not.toBe(a.buffer); // a copy, not a view of the input
  });
});
