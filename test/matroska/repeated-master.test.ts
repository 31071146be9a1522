import { afterEach, describe, expect, it, vi } from "vitest";
import { ID } from "../../src/ebml/schema.js";
import { concatBytes, element, stringElement, uintElement, unknownSizeHeader } from "../../src/ebml/writer.js";
import { MatroskaDemuxer } from "../../src/matroska/demuxer.js";
import type { MatroskaEvent } from "../../src/matroska/model.js";
import { hex } from "../helpers/recording-sink.js";

const ebmlHeader = element(ID.EBML, [
  uintElement(ID.EBMLVersion, 1),
  stringElement(ID.DocType, "matroska"),
  uintElement(ID.DocTypeVersion, 4),
  uintElement(ID.DocTypeReadVersion, 2),
]);
const info = (scale: number) =>
  element(ID.Info, [uintElement(ID.TimestampScale, scale), stringElement(ID.MuxingApp, "test"), stringElement(ID.WritingApp, "test")]);
const tracks = (width: number, extra: Uint8Array[] = []) =>
  element(ID.Tracks, [
    element(ID.TrackEntry, [
      uintElement(ID.TrackNumber, 1),
      uintElement(ID.TrackUID, 7),
      uintElement(ID.TrackType, 1),
      stringElement(ID.CodecID, "V_MPEG4/ISO/AVC"),
      element(ID.Video, [uintElement(ID.PixelWidth, width), uintElement(ID.PixelHeight, 720)]),
      ...extra,
    ]),
  ]);
const cluster = (timestamp: number) => element(ID.Cluster, [uintElement(ID.Timestamp, timestamp), element(ID.SimpleBlock, hex("81 0000 80 aabbcc"))]);
/** One GetMedia-style document: EBML header, then a Segment of unknown size. */
const doc = (parts: Uint8Array[]) => concatBytes([ebmlHeader, unknownSizeHeader(ID.Segment), ...parts]);

function demux(bytes: Uint8Array, chunk: number): unknown[] {
  const events: unknown[] = [];
  const d = new MatroskaDemuxer((ev: MatroskaEvent) => events.push(ev.type === "frame" ? { ...ev.toJSON(), data: [...ev.data] } : ev));
  for (let i = 0; i < bytes.length; i += chunk) d.push(bytes.subarray(i, i + chunk));
  d.end();
  return events;
}

const pick = (events: unknown[], type: string) => events.filter((e) => (e as { type: string }).type === type);

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a repeated EBML header, Info and Tracks (GetMedia sends them in every fragment)", () => {
  it("are replayed, not read again: the same events as reading each one, at their own offsets", () => {
    const bytes = concatBytes([0, 1, 2].map((k) => doc([info(1_000_000), tracks(1280), cluster(1000 + k)])));
    const read = vi.spyOn(MatroskaDemuxer.prototype, "data");
    const whole = demux(bytes, bytes.length);
    const timesRead = read.mock.calls.filter(([id]) => id === ID.TrackNumber || id === ID.TimestampScale || id === ID.DocType).length;
    read.mockClear();
    const byteByByte = demux(bytes, 1);
    expect(read.mock.calls.filter(([id]) => id === ID.TrackNumber || id === ID.TimestampScale || id === ID.DocType).length).toBe(9);
    expect(timesRead).toBe(3); // the first document's three, once
    expect(whole).toEqual(byteByByte);
    expect(pick(whole, "tracks").map((e) => (e as { offset: number }).offset)).toEqual(pick(byteByByte, "tracks").map((e) => (e as { offset: number }).offset));
    expect(new Set(pick(whole, "ebmlHeader").map((e) => (e as { offset: number }).offset)).size).toBe(3);
  });

  it("reads a changed one again, and replays the changed one after", () => {
    const bytes = concatBytes([
      doc([info(1_000_000), tracks(1280), cluster(1000)]),
      doc([info(100_000), tracks(640), cluster(1000)]),
      doc([info(100_000), tracks(640), cluster(1000)]),
    ]);
    const whole = demux(bytes, bytes.length);
    expect(whole).toEqual(demux(bytes, 1));
    expect(pick(whole, "tracks").map((e) => (e as { tracks: { video: { pixelWidth: number } }[] }).tracks[0]!.video.pixelWidth)).toEqual([1280, 640, 640]);
    expect(pick(whole, "info").map((e) => (e as { timestampScale: number }).timestampScale)).toEqual([1_000_000, 100_000, 100_000]);
    // The replayed TimestampScale times the third document's frame as reading it would: 1000 ticks of 0.1 ms.
    expect(pick(whole, "frame").map((e) => (e as { timestampMs: number }).timestampMs)).toEqual([1000, 100, 100]);
  });

  it("reads one holding an unknown element every time, reporting it every time", () => {
    const odd = tracks(1280, [hex("4fff 81 00")]);
    const bytes = concatBytes([0, 1, 2].map(() => doc([info(1_000_000), odd, cluster(5)])));
    const whole = demux(bytes, bytes.length);
    expect(pick(whole, "unknownElement")).toHaveLength(3);
    expect(whole).toEqual(demux(bytes, 1));
  });
});
