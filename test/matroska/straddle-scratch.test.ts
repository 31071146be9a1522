import { describe, expect, it } from "vitest";
import { ID } from "../../src/ebml/schema.js";
import { concatBytes, element, stringElement, uintElement } from "../../src/ebml/writer.js";
import { MatroskaDemuxer } from "../../src/matroska/demuxer.js";
import type { Frame } from "../../src/matroska/frame.js";
import type { MatroskaEvent, Track } from "../../src/matroska/model.js";

const codecPrivate = Uint8Array.from({ length: 300 }, (_, k) => (k * 7) & 0xff);
const file = concatBytes([
  element(ID.EBML, [uintElement(ID.EBMLVersion, 1), stringElement(ID.DocType, "matroska")]),
  element(ID.Segment, [
    element(ID.Tracks, [
      element(ID.TrackEntry, [
        uintElement(ID.TrackNumber, 1),
        uintElement(ID.TrackType, 1),
        stringElement(ID.CodecID, "V_TEST"),
        element(ID.CodecPrivate, codecPrivate),
        // Straddles too, after CodecPrivate and before the TrackEntry ends: it reuses the scratch area.
        stringElement(ID.CodecName, "n".repeat(200)),
      ]),
    ]),
    element(ID.Tags, [element(ID.Tag, [element(ID.SimpleTag, [stringElement(ID.TagName, "NOTE"), stringElement(ID.TagString, "v".repeat(150))])])]),
    element(ID.Cluster, [uintElement(ID.Timestamp, 0), element(ID.SimpleBlock, Uint8Array.from([0x81, 0, 0, 0x80, ...new Uint8Array(120).fill(5)]))]),
  ]),
]);

describe("straddling elements: blocks get memory of their own, others share the reader's scratch area", () => {
  it.each([7, 64, 100])("what the demuxer keeps is intact at %i-byte chunks", (chunk) => {
    let tracks: readonly Track[] = [];
    let tagValue: string | null = null;
    const frames: Frame[] = [];
    const d = new MatroskaDemuxer((ev: MatroskaEvent) => {
      if (ev.type === "tracks") tracks = ev.tracks;
      else if (ev.type === "tags") tagValue = ev.tags[0]!.simpleTags[0]!.value;
      else if (ev.type === "frame") frames.push(ev);
    });
    for (let i = 0; i < file.length; i += chunk) d.push(file.subarray(i, i + chunk));
    d.end();
    expect(tracks[0]!.codecPrivate).toEqual(codecPrivate);
    expect(tracks[0]!.codecName).toBe("n".repeat(200));
    expect(tagValue).toBe("v".repeat(150));
    // The frame handed out keeps its bytes after later elements straddled.
    expect([...frames[0]!.data]).toEqual(new Array(120).fill(5));
  });
});
