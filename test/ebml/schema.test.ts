import { describe, expect, it } from "vitest";
import { EbmlReader } from "../../src/ebml/reader.js";
import fc from "fast-check";
import { EbmlSchema, ID, matroskaSchema, type ElementInfo, type SchemaRow } from "../../src/ebml/schema.js";
import { concatBytes, element, encodeId, stringElement, uintElement } from "../../src/ebml/writer.js";
import { MatroskaDemuxer } from "../../src/matroska/demuxer.js";
import { RecordingSink } from "../helpers/recording-sink.js";

/** A small valid payload for an element of the given type. */
function payload(info: ElementInfo): Uint8Array {
  switch (info.type) {
    case "master":
      return new Uint8Array(0);
    case "float":
      return new Uint8Array(4);
    case "date":
      return new Uint8Array(8);
    case "string":
    case "utf8":
      return new TextEncoder().encode("a");
    default:
      return Uint8Array.of(1);
  }
}

/** The element inside its first parent, inside that one's first parent, … up to the top level. */
function nested(info: ElementInfo): Uint8Array {
  let bytes = element(info.id, payload(info));
  let parents = info.global ? [ID.Segment] : info.parents;
  while (parents.length > 0) {
    const parent = matroskaSchema.get(parents[0]!)!;
    bytes = element(parent.id, [bytes]);
    parents = parent.parents;
  }
  return bytes;
}

const all = [...matroskaSchema.elements()];
const EBML_HEADER = element(ID.EBML, [stringElement(ID.DocType, "matroska")]);

describe("every element ID of the Matroska schema is accepted in its place", () => {
  it("the schema holds the whole specification (ChapterDisplay 0x80 and TagBlockAddIDValue included)", () => {
    expect(all.length).toBeGreaterThanOrEqual(270);
    expect(matroskaSchema.get(0x80)?.name).toBe("ChapterDisplay");
    expect(matroskaSchema.get(0x63c7)?.name).toBe("TagBlockAddIDValue");
  });

  for (const info of all) {
    it(`${info.name} (0x${info.id.toString(16)}): the reader reports it where the schema puts it`, () => {
      const sink = new RecordingSink();
      const reader = new EbmlReader(sink);
      reader.push(nested(info));
      reader.end();
      const seen = sink.log.filter((line) => line.split(" ")[1] === info.id.toString(16));
      expect(seen.length, sink.log.join("\n")).toBeGreaterThan(0);
    });
  }

  it("the demuxer accepts every non-block element in its place inside a Matroska document", () => {
    const blocks = new Set<number>([ID.SimpleBlock, ID.Block, 0xa2, 0xaf]);
    const docs = all.filter((i) => !blocks.has(i.id) && i.id !== ID.EBML && !i.parents.includes(ID.EBML) && !i.parents.includes(0x4281));
    for (const info of docs) {
      const events: string[] = [];
      const demuxer = new MatroskaDemuxer((ev) => events.push(ev.type));
      const body = nested(info);
      demuxer.push(concatBytes([EBML_HEADER, body]));
      expect(() => demuxer.end(), info.name).not.toThrow();
    }
  });

  it("reserved IDs the schema does not define are still refused: 0xFF, 0x4000, 0x7FFF", () => {
    for (const id of [0xff, 0x4000, 0x7fff]) {
      const reader = new EbmlReader(new RecordingSink());
      expect(() => reader.push(concatBytes([encodeId(id), Uint8Array.of(0x80)])), id.toString(16)).toThrow(/reserved element ID/);
    }
  });

  it("a file with chapters (ChapterDisplay 0x80) parses through to its frames", () => {
    const chapters = element(0x1043a770, [
      element(0x45b9, [element(0xb6, [uintElement(0x73c4, 1), uintElement(0x91, 0), element(0x80, [stringElement(0x85, "One")])])]),
    ]);
    const events: string[] = [];
    const demuxer = new MatroskaDemuxer((ev) => events.push(ev.type));
    demuxer.push(
      concatBytes([
        EBML_HEADER,
        element(ID.Segment, [chapters, element(ID.Cluster, [uintElement(ID.Timestamp, 0), element(ID.SimpleBlock, Uint8Array.of(0x81, 0, 0, 0x80, 7))])]),
      ]),
    );
    demuxer.end();
    expect(events).toContain("frame");
  });
});

describe("EbmlSchema: lookup by ID", () => {
  it("finds every Matroska element by its ID, and nothing for IDs it lacks", () => {
    for (const info of matroskaSchema.elements()) expect(matroskaSchema.get(info.id)).toBe(info);
    const known = new Set([...matroskaSchema.elements()].map((e) => e.id));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x1fffffff }), (id) => {
        expect(matroskaSchema.get(id) === undefined).toBe(!known.has(id));
      }),
    );
  });

  it("finds every ID of a schema with more long IDs than its table holds", () => {
    const rows: SchemaRow[] = [];
    for (let k = 0; k < 600; k++) rows.push([0x10000000 + k * 7919, `E${k}`, "u", ""]);
    const schema = new EbmlSchema(rows);
    for (const [id, name] of rows) expect(schema.get(id)?.name).toBe(name);
    expect(schema.get(0x10000001)).toBeUndefined();
  });
});
