import { describe, expect, it } from "vitest";
import { ID } from "../../src/ebml/schema.js";
import { concatBytes, element, stringElement, uintElement } from "../../src/ebml/writer.js";
import { MatroskaDemuxer } from "../../src/matroska/demuxer.js";
import { Frame, type FrameStamp } from "../../src/matroska/frame.js";
import type { MatroskaEvent } from "../../src/matroska/model.js";
import { hex } from "../helpers/recording-sink.js";

const file = concatBytes([
  element(ID.EBML, [uintElement(ID.EBMLVersion, 1), stringElement(ID.DocType, "matroska")]),
  element(ID.Segment, [
    element(ID.Info, [uintElement(ID.TimestampScale, 1_000_000)]),
    element(ID.Tracks, [element(ID.TrackEntry, [uintElement(ID.TrackNumber, 1), uintElement(ID.TrackType, 1), stringElement(ID.CodecID, "V_TEST")])]),
    element(ID.Cluster, [uintElement(ID.Timestamp, 1000), element(ID.SimpleBlock, hex("81 0000 80 aabb")), element(ID.SimpleBlock, hex("81 0021 00 cc"))]),
  ]),
]);

describe("Frame: built from a named shape", () => {
  it("takes defaults for what is not given, and views a part of a buffer without copying it", () => {
    const buf = new Uint8Array([9, 1, 2, 3, 9]);
    const f = new Frame({ track: 2, timestampMs: 40, keyframe: true, data: buf, dataStart: 1, dataEnd: 4, offset: 100 });
    expect([f.size, [...f.data], f.data.buffer === buf.buffer]).toEqual([3, [1, 2, 3], true]);
    expect([f.durationMs, f.invisible, f.discardable, f.encryption, f.fragmentNumber, f.producerTimestampMs, f.serverTimestampMs]).toEqual([
      null,
      false,
      false,
      null,
      null,
      null,
      null,
    ]);
  });

  it("views the payload through dataBuffer and dataByteOffset when given, as through data", () => {
    const whole = new Uint8Array([7, 7, 9, 1, 2, 3, 9]);
    const buf = whole.subarray(2); // a part of its ArrayBuffer, as a pooled Node Buffer is
    const f = new Frame({
      track: 1,
      timestampMs: 0,
      keyframe: true,
      data: buf,
      dataStart: 1,
      dataEnd: 4,
      dataBuffer: buf.buffer,
      dataByteOffset: buf.byteOffset,
      offset: 0,
    });
    expect([f.size, [...f.data], f.data.buffer === whole.buffer, f.data.byteOffset]).toEqual([3, [1, 2, 3], true, 3]);
    expect(f.data).toBe(f.data); // made once
    expect([...f.copy().data]).toEqual([1, 2, 3]);
  });

  it("keeps the old time names as deprecated aliases of the new ones, and copy() keeps every field", () => {
    const f = new Frame({
      track: 1,
      timestampMs: 0,
      keyframe: false,
      data: new Uint8Array(4),
      offset: 7,
      fragmentNumber: "91",
      producerTimestampMs: 5,
      serverTimestampMs: 6,
    });
    expect([f.producerTimeMs, f.serverTimeMs]).toEqual([5, 6]);
    const c = f.copy();
    expect(c.toJSON()).toEqual(f.toJSON());
    expect(c.data.buffer).not.toBe(f.data.buffer);
  });
});

describe("MatroskaDemuxer: the stamp and the tally", () => {
  it("stamps each frame from the stamp as it is when the frame is built (its owner changes it in place)", () => {
    const stamp: FrameStamp = { fragmentNumber: "F1", producerBaseMs: null, serverBaseMs: 1_000_000, originMs: null };
    const frames: Frame[] = [];
    const d = new MatroskaDemuxer(
      (ev: MatroskaEvent) => void ev,
      {},
      {
        onFrame: (f) => {
          frames.push(f);
          Object.assign(stamp, { fragmentNumber: "F2", producerBaseMs: 5, originMs: 1000 });
        },
      },
    );
    d.stampWith(stamp);
    d.push(file);
    d.end();
    expect(frames.map((f) => [f.timestampMs, f.fragmentNumber, f.serverTimestampMs, f.producerTimestampMs, f.keyframe])).toEqual([
      [1000, "F1", 1_001_000, null, true],
      [1033, "F2", 1_000_033, 38, false],
    ]);
  });

  it("counts every frame it builds, the fast way and the general way, until its tally is reset", () => {
    const withGroup = concatBytes([
      file,
      element(ID.Segment, [
        element(ID.Tracks, [element(ID.TrackEntry, [uintElement(ID.TrackNumber, 2), uintElement(ID.TrackType, 2), stringElement(ID.CodecID, "A_TEST")])]),
        element(ID.Cluster, [uintElement(ID.Timestamp, 2000), element(ID.BlockGroup, [element(ID.Block, hex("82 0005 00 dddddd"))])]),
      ]),
    ]);
    const frames: Frame[] = [];
    const d = new MatroskaDemuxer((ev) => void ev, {}, { onFrame: (f) => frames.push(f) });
    d.push(withGroup);
    const t = d.tally;
    expect([t.frames, t.keyframes, t.payloadBytes, t.perTrack[1], t.perTrack[2], t.firstTimestampMs, t.lastTimestampMs, t.firstOffset]).toEqual([
      3,
      2,
      2 + 1 + 3,
      2,
      1,
      1000,
      2005,
      frames[0]!.offset,
    ]);
    t.reset();
    expect([t.frames, t.keyframes, t.payloadBytes, t.perTrack[1], t.firstTimestampMs, t.lastTimestampMs, t.firstOffset]).toEqual([0, 0, 0, 0, null, null, -1]);
  });

  it("without a stamp, frames carry none", () => {
    const frames: Frame[] = [];
    const d = new MatroskaDemuxer((ev) => {
      if (ev.type === "frame") frames.push(ev);
    });
    d.push(file);
    d.end();
    expect(frames.map((f) => [f.fragmentNumber, f.serverTimestampMs])).toEqual([
      [null, null],
      [null, null],
    ]);
  });
});
