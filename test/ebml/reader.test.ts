import { describe, expect, it } from "vitest";
import { MkvParseError } from "../../src/ebml/errors.js";
import { EbmlReader, type EbmlReaderOptions, type EbmlSink } from "../../src/ebml/reader.js";
import { ID } from "../../src/ebml/schema.js";
import { concatBytes, element, encodeSize, uintElement, unknownSize } from "../../src/ebml/writer.js";
import { hex, RecordingSink } from "../helpers/recording-sink.js";

function run(bytes: Uint8Array, chunk = bytes.length || 1, options: EbmlReaderOptions = {}): { log: string[]; error?: MkvParseError } {
  const sink = new RecordingSink();
  const reader = new EbmlReader(sink, options);
  try {
    for (let i = 0; i < bytes.length; i += chunk) reader.push(bytes.subarray(i, i + chunk));
    reader.end();
    return { log: sink.log };
  } catch (e) {
    if (!(e instanceof MkvParseError)) throw e;
    return { log: sink.log, error: e };
  }
}

const cluster = (payload: Uint8Array[]) => element(ID.Cluster, payload);

describe("EbmlReader", () => {
  it("reads 1- to 4-byte IDs and 1- to 8-byte sizes", () => {
    for (let len = 1; len <= 8; len++) {
      const bytes = concatBytes([hex("4282"), encodeSize(4, len), hex("77656266")]); // DocType "webf"
      const { log, error } = run(bytes);
      expect(error).toBeUndefined();
      expect(log).toEqual([`data 4282 @0 data@${2 + len} [77656266]`]);
    }
    expect(run(concatBytes([hex("1a45dfa3"), encodeSize(0)])).log).toEqual(["start 1a45dfa3 @0 data@5 size 0", "end 1a45dfa3 @0-5"]);
  });

  it("treats the all-ones size of every length (1 to 8 bytes) as unknown", () => {
    for (let len = 1; len <= 8; len++) {
      const bytes = concatBytes([
        hex("18538067"),
        unknownSize(len),
        uintElement(ID.Timestamp, 5).subarray(0, 0),
        hex("1f43b675"),
        unknownSize(len),
        hex("e78105"),
      ]);
      const { log, error } = run(bytes, 1);
      expect(error).toBeUndefined();
      expect(log).toEqual([
        `start 18538067 @0 data@${4 + len} size -1`,
        `start 1f43b675 @${4 + len} data@${8 + 2 * len} size -1`,
        `data e7 @${8 + 2 * len} data@${10 + 2 * len} [05]`,
        `end 1f43b675 @${4 + len}-${11 + 2 * len}`,
        `end 18538067 @0-${11 + 2 * len}`,
      ]);
    }
  });

  it("ends an unknown-size Cluster at the next Cluster, a level-1 Tags, or a new EBML header", () => {
    const bytes = concatBytes([
      hex("18538067 01ffffffffffffff"),
      hex("1f43b675 ff"),
      hex("e78100"),
      hex("1f43b675 ff"),
      hex("e78101"),
      element(ID.Tags, []),
      hex("1a45dfa3 80"),
    ]);
    const { log } = run(bytes, 3);
    expect(log).toEqual([
      "start 18538067 @0 data@12 size -1",
      "start 1f43b675 @12 data@17 size -1",
      "data e7 @17 data@19 [00]",
      "end 1f43b675 @12-20",
      "start 1f43b675 @20 data@25 size -1",
      "data e7 @25 data@27 [01]",
      "end 1f43b675 @20-28",
      "start 1254c367 @28 data@33 size 0",
      "end 1254c367 @28-33",
      "end 18538067 @0-33",
      "start 1a45dfa3 @33 data@38 size 0",
      "end 1a45dfa3 @33-38",
    ]);
  });

  it("keeps an unknown ID as a child of an unknown-size master, reports it and skips it by size", () => {
    const bytes = concatBytes([hex("1f43b675 ff"), hex("e78100"), hex("4fff 83 010203"), hex("e78102")]);
    expect(run(bytes, 2).log).toEqual([
      "start 1f43b675 @0 data@5 size -1",
      "data e7 @5 data@7 [00]",
      "skip 4fff @8 data@11 size 3 unknown",
      "data e7 @14 data@16 [02]",
      "end 1f43b675 @0-17",
    ]);
  });

  it("offers a sized master lying whole in one chunk to wholeMaster, and passes over it when taken", () => {
    // Segment(unknown) { Info { TimestampScale } Tracks { TrackEntry { TrackNumber } } }
    const info = element(ID.Info, [uintElement(ID.TimestampScale, 1_000_000)]);
    const tracks = element(ID.Tracks, [element(ID.TrackEntry, [uintElement(ID.TrackNumber, 1)])]);
    const bytes = concatBytes([hex("18538067 01ffffffffffffff"), info, tracks]);
    const offered: string[] = [];
    const take = (wanted: number) => {
      const sink = new RecordingSink() as RecordingSink & EbmlSink;
      sink.wholeMaster = (id, buf, start, end, offset, dataOffset) => {
        offered.push(`${id.toString(16)} @${offset} data@${dataOffset} ${end - start} bytes`);
        expect(buf.subarray(start, end)).toEqual(bytes.subarray(dataOffset, dataOffset + (end - start)));
        return id === wanted;
      };
      return sink;
    };
    const sink = take(ID.Tracks);
    const reader = new EbmlReader(sink);
    reader.push(bytes);
    reader.end();
    expect(offered).toEqual([
      `1549a966 @12 data@17 ${info.length - 5} bytes`,
      `1654ae6b @${12 + info.length} data@${17 + info.length} ${tracks.length - 5} bytes`,
    ]);
    // Info read as usual; Tracks passed over whole: neither it nor its children reported.
    expect(sink.log.filter((l) => l.includes("1654ae6b") || l.includes("data d7") || l.includes("start ae"))).toEqual([]);
    expect(sink.log).toContain(`data 2ad7b1 @17 data@21 [0f4240]`);

    // Not offered when the master straddles chunks, nor with recover.
    offered.length = 0;
    const split = new EbmlReader(take(ID.Tracks));
    for (let i = 0; i < bytes.length; i += 4) split.push(bytes.subarray(i, i + 4));
    split.end();
    expect(offered).toEqual([]);
    const recovering = new EbmlReader(take(ID.Tracks), { recover: true });
    recovering.push(bytes);
    recovering.end();
    expect(offered).toEqual([]);
  });

  it("passes payloads inside one chunk as views of that chunk, and copies only straddling ones", () => {
    const block = element(ID.SimpleBlock, new Uint8Array(100).fill(7));
    const bytes = concatBytes([cluster([block, block])]);
    const seen: { buffer: ArrayBufferLike; byteOffset: number }[] = [];
    const reader = new EbmlReader({
      masterStart() {},
      masterEnd() {},
      skipped() {},
      data(_id, buf, s) {
        seen.push({ buffer: buf.buffer, byteOffset: buf.byteOffset + s });
      },
    });
    const whole = bytes.slice();
    reader.push(whole);
    reader.end();
    expect(seen.map((v) => v.buffer === whole.buffer)).toEqual([true, true]);
    const r2 = new EbmlReader({
      masterStart() {},
      masterEnd() {},
      skipped() {},
      data(_id, buf, s, e) {
        seen.push({ buffer: buf.buffer, byteOffset: e - s });
      },
    });
    const first = bytes.slice(0, 60);
    r2.push(first);
    r2.push(bytes.slice(60));
    r2.end();
    expect(seen[2]!.buffer === first.buffer).toBe(false);
  });

  const errorCases: [string, Uint8Array, EbmlReaderOptions, string, number][] = [
    ["an ID whose first byte is 0x00", hex("00 81 00"), {}, "INVALID_ID", 0],
    ["a size varint longer than 8 bytes", hex("4282 00 01"), {}, "INVALID_VARINT", 2],
    ["a child larger than its parent", concatBytes([hex("1a45dfa3 84"), hex("4282 85 7765626d00")]), {}, "SIZE_BEYOND_PARENT", 5],
    ["a data element with unknown size", hex("1f43b675 ff a3 ff"), {}, "UNKNOWN_SIZE_NOT_ALLOWED", 5],
    ["an element over the limit", concatBytes([hex("4282"), encodeSize(2000), new Uint8Array(2000)]), { maxElementSize: 1024 }, "ELEMENT_TOO_LARGE", 0],
    ["a block over the block limit", concatBytes([hex("a3"), encodeSize(2000), new Uint8Array(2000)]), { maxBlockSize: 1024 }, "ELEMENT_TOO_LARGE", 0],
    ["nesting deeper than the limit", concatBytes([hex("18538067 ff"), hex("1f43b675 ff"), hex("a0 ff")]), { maxDepth: 2 }, "NESTING_TOO_DEEP", 10],
    ["input cut inside a header", hex("1a45"), {}, "TRUNCATED", 0],
    ["input cut inside a payload", hex("4282 84 7765"), {}, "TRUNCATED", 0],
    ["input cut inside a sized master", hex("1a45dfa3 88 4282 81 77"), {}, "TRUNCATED", 0],
  ];
  for (const [what, bytes, options, code, offset] of errorCases) {
    it(`raises MkvParseError ${code} at byte ${offset} for ${what}, whatever the chunking`, () => {
      for (const chunk of [1, 2, 3, bytes.length]) {
        const { error } = run(bytes, chunk, options);
        expect(error).toBeInstanceOf(MkvParseError);
        expect(error!.code).toBe(code);
        expect(error!.offset).toBe(offset);
        expect(error!.message).toContain(`at byte ${offset}`);
      }
    });
  }

  it("names the element path in errors", () => {
    const { error } = run(concatBytes([hex("18538067 ff"), hex("1f43b675 ff"), hex("a3 ff")]));
    expect(error!.path).toEqual(["Segment", "Cluster"]);
  });

  it("refuses pushes after a failure and after end()", () => {
    const reader = new EbmlReader(new RecordingSink());
    expect(() => reader.push(hex("00"))).toThrow(MkvParseError);
    expect(() => reader.push(hex("ec80"))).toThrow(/element ID/);
    const r2 = new EbmlReader(new RecordingSink());
    r2.end();
    expect(() => r2.push(hex("ec80"))).toThrow(expect.objectContaining({ code: "ENDED" }));
  });

  it("with recover: true, skips garbage up to the next EBML header or Cluster and reports it", () => {
    const good = concatBytes([hex("18538067 ff"), hex("1f43b675 ff e78101")]);
    const bytes = concatBytes([good, hex("00 00 00 13"), hex("1f43b675 ff e78102"), hex("1a45dfa3 80")]);
    for (const chunk of [1, 2, 5, bytes.length]) {
      const { log, error } = run(bytes, chunk, { recover: true });
      expect(error).toBeUndefined();
      expect(log).toEqual([
        "start 18538067 @0 data@5 size -1",
        "start 1f43b675 @5 data@10 size -1",
        "data e7 @10 data@12 [01]",
        "recovered INVALID_ID @13 resume@17",
        "end 1f43b675 @5-17",
        "start 1f43b675 @17 data@22 size -1",
        "data e7 @22 data@24 [02]",
        "end 1f43b675 @17-25",
        "end 18538067 @0-25",
        "start 1a45dfa3 @25 data@30 size 0",
        "end 1a45dfa3 @25-30",
      ]);
    }
  });

  it("with recover: true, reports a cut tail and closes what is open", () => {
    const bytes = concatBytes([hex("18538067 ff"), hex("1f43b675 ff"), hex("a3 88 81 00 00 80")]);
    const { log, error } = run(bytes, 4, { recover: true });
    expect(error).toBeUndefined();
    expect(log.slice(-3)).toEqual(["recovered TRUNCATED @10 resume@16", "end 1f43b675 @5-16", "end 18538067 @0-16"]);
  });
});

describe("EbmlReader on a document stream (GetMedia: a document per fragment)", () => {
  const doc = (n: number) =>
    concatBytes([
      element(ID.EBML, [element(0x4286, Uint8Array.of(1)), element(0x4282, new TextEncoder().encode("matroska"))]),
      element(ID.Segment, [element(ID.Cluster, [element(ID.Timestamp, Uint8Array.of(n)), element(ID.SimpleBlock, Uint8Array.of(0x81, 0, 0, 0x80, n))])]),
    ]);
  const lying = Uint8Array.of(0xec, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00); // Void claiming 2^40 bytes
  const stream = concatBytes([doc(1), lying, doc(2), doc(3)]);
  const read = (options: { documentStream: boolean; recover?: boolean }, chunk: number) => {
    const blocks: number[] = [];
    const recovered: string[] = [];
    const reader = new EbmlReader(
      {
        masterStart() {},
        masterEnd() {},
        skipped() {},
        data(id, buf, _s, e) {
          if (id === ID.SimpleBlock) blocks.push(buf[e - 1]!);
        },
        recovered(err, at) {
          recovered.push(`${err.code}@${err.offset}→${at}`);
        },
      },
      options,
    );
    let error: unknown;
    try {
      for (let i = 0; i < stream.length; i += chunk) reader.push(stream.subarray(i, i + chunk));
      reader.end();
    } catch (e) {
      error = e;
    }
    return { blocks, recovered, error };
  };
  const lyingAt = doc(1).length;

  for (const chunk of [1, 2, 3, 5, 4096]) {
    it(`an element whose size runs into the next document ends there (HEADER_INSIDE_ELEMENT at the element; ${chunk}-byte chunks)`, () => {
      expect(read({ documentStream: false }, chunk).blocks).toEqual([1]); // swallowed: the hole
      const strict = read({ documentStream: true }, chunk);
      expect(strict.blocks).toEqual([1]);
      expect(strict.error).toMatchObject({ code: "HEADER_INSIDE_ELEMENT", offset: lyingAt });
      expect((strict.error as Error).message).toContain(`next document's EBML header starts at byte ${lyingAt + lying.length}`);
      const recovering = read({ documentStream: true, recover: true }, chunk);
      expect(recovering.blocks).toEqual([1, 2, 3]);
      expect(recovering.recovered).toEqual([`HEADER_INSIDE_ELEMENT@${lyingAt}→${lyingAt + lying.length}`]);
    });
  }

  it("four bytes 1A 45 DF A3 inside a payload that are not followed by an EBML header are payload", () => {
    const payload = Uint8Array.of(0x81, 0, 0, 0x80, 0x1a, 0x45, 0xdf, 0xa3, 0x00, 0x07);
    const bytes = concatBytes([doc(1).subarray(0, doc(1).length), element(ID.Segment, [element(ID.Cluster, [element(ID.SimpleBlock, payload)])])]);
    for (const chunk of [1, 3, 4096]) {
      let blocks = 0;
      const reader = new EbmlReader(
        {
          masterStart() {},
          masterEnd() {},
          skipped() {},
          data(id) {
            if (id === ID.SimpleBlock) blocks++;
          },
        },
        { documentStream: true },
      );
      for (let i = 0; i < bytes.length; i += chunk) reader.push(bytes.subarray(i, i + chunk));
      reader.end();
      expect(blocks).toBe(2);
    }
  });

  it("an element its unknown-size parent cannot hold is MISPLACED_ELEMENT (a SimpleBlock straight in a Segment)", () => {
    const bytes = concatBytes([doc(1).subarray(0, doc(1).length - 0)]);
    const bad = concatBytes([
      element(ID.EBML, [element(0x4286, Uint8Array.of(1))]),
      Uint8Array.of(0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // Segment, unknown size
      element(ID.SimpleBlock, Uint8Array.of(0x81, 0, 0, 0x80, 9)),
    ]);
    const reader = new EbmlReader({ masterStart() {}, masterEnd() {}, skipped() {}, data() {} }, { documentStream: true });
    reader.push(bytes);
    expect(() => reader.push(bad)).toThrow(/SimpleBlock cannot be inside Segment/);
  });
});
