import fc from "fast-check";
import { H264Packetizer } from "werift";
import { describe, expect, it } from "vitest";
import { RtpFrameAssembler, type RtpPacketLike } from "../../src/webrtc/rtp-assembler.js";
import { h264IsKeyframe, h264NalUnits, h264StartsFrame } from "../../src/webrtc/rtp-payload.js";

/**
 * A synthetic H.264 stream: frames of NAL units (a keyframe every `gop`), SPS + PPS before each IDR, no
 * access unit delimiters (as browsers and x264 in Matroska send it: an SPS is the first unit of its frame).
 */
const stream = fc
  .record({
    gop: fc.integer({ min: 1, max: 6 }),
    sizes: fc.array(fc.integer({ min: 2, max: 4000 }), { minLength: 1, maxLength: 30 }),
    seq0: fc.integer({ min: 0, max: 0xffff }),
    ts0: fc.integer({ min: 0, max: 0xffffffff }),
  })
  .map(({ gop, sizes, seq0, ts0 }) => {
    const frames = sizes.map((size, i) => {
      const key = i % gop === 0;
      const slice = new Uint8Array(size);
      slice[0] = key ? 0x65 : 0x41;
      for (let j = 1; j < size; j++) slice[j] = (i * 31 + j) & 0xff || 1;
      const units = key ? [Uint8Array.of(0x67, 0x42, 0xc0, 0x1e), Uint8Array.of(0x68, 0xce, 0x3c, 0x80), slice] : [slice];
      return { key, units };
    });
    const pk = new H264Packetizer({ payloadType: 102, ssrc: 1, sequenceNumber: seq0, maxPayloadSize: 1200 });
    const packets: { frame: number; p: RtpPacketLike }[] = [];
    frames.forEach((f, i) => {
      const annexB = Buffer.concat(f.units.flatMap((u) => [Buffer.of(0, 0, 0, 1), Buffer.from(u)]));
      for (const p of pk.packetize(annexB, (ts0 + i * 3000) >>> 0))
        packets.push({ frame: i, p: { sequenceNumber: p.header.sequenceNumber, timestamp: p.header.timestamp, marker: p.header.marker, payload: p.payload } });
    });
    return { frames, packets };
  });

const key = (units: readonly Uint8Array[]) => units.map((u) => Buffer.from(u).toString("hex")).join("|");

function run(packets: readonly RtpPacketLike[], arrivalMs: readonly number[], maxWaitMs = 100) {
  const out: RtpPacketLike[][] = [];
  let dropped = 0;
  let awaitingKeyframe = 0;
  let keyframesAsked = 0;
  const a = new RtpFrameAssembler(
    { audio: false, isKeyframe: h264IsKeyframe, startsFrame: h264StartsFrame, maxWaitMs },
    {
      frame: (p) => out.push([...p]),
      dropped: (n, reason) => {
        dropped += n;
        if (reason === "awaitingKeyframe") awaitingKeyframe += n;
      },
      needKeyframe: () => keyframesAsked++,
    },
  );
  packets.forEach((p, i) => {
    a.push(p, arrivalMs[i]!);
    a.flush(arrivalMs[i]!);
  });
  a.flush(Number.MAX_SAFE_INTEGER);
  return { out, dropped, awaitingKeyframe, keyframesAsked, pending: a.pending };
}

describe("RtpFrameAssembler (properties)", () => {
  it("hands out every frame whole and in order when nothing is lost, whatever the reordering within the wait and duplicates", () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 10 }), ({ frames, packets }, swaps, dups) => {
        // Reordered after the first packet (one that comes before the stream's first is, for the viewer,
        // from before it joined: it starts at the first frame start it sees).
        const order = packets.map((x) => x.p);
        for (const s of swaps) {
          const i = 1 + (s % order.length);
          if (i + 1 < order.length) [order[i], order[i + 1]] = [order[i + 1]!, order[i]!]; // neighbours swapped
        }
        for (const d of dups) order.splice(d % order.length, 0, order[d % order.length]!); // duplicates
        const { out, dropped } = run(
          order,
          order.map(() => 0),
        );
        expect(dropped).toBe(0);
        expect(out.map((p) => key(h264NalUnits(p)))).toEqual(frames.map((f) => key(f.units)));
      }),
    );
  });

  it("never hands out a frame with a packet missing, and after a loss only from a keyframe on (each drop counted, a keyframe asked)", () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), ({ frames, packets }, losses) => {
        const lost = new Set(losses.map((l) => l % packets.length));
        const kept = packets.filter((_, i) => !lost.has(i));
        const damaged = new Set([...lost].map((i) => packets[i]!.frame));
        // Arrivals 10 ms apart, so each gap outlives the wait long before the stream ends.
        const { out, dropped, awaitingKeyframe, keyframesAsked } = run(
          kept.map((x) => x.p),
          kept.map((_, i) => i * 10),
          25,
        );
        const whole = new Map(frames.map((f, i) => [key(f.units), i]));
        const got = out.map((p) => whole.get(key(h264NalUnits(p))));
        for (const g of got) expect(g).toBeDefined(); // each one a whole frame of the stream
        for (const g of got) expect(damaged.has(g!)).toBe(false);
        expect([...got].sort((a, b) => a! - b!)).toEqual(got); // in order
        // After each damaged frame, the next frame handed out is a keyframe.
        for (const d of damaged) {
          const after = got.find((g) => g! > d);
          if (after !== undefined) expect(frames[after]!.key).toBe(true);
        }
        // Every frame of which a packet came is handed out or counted as dropped, none twice.
        const arrived = new Set(kept.map((x) => x.frame)).size;
        expect(out.length + dropped).toBeGreaterThanOrEqual(arrived);
        expect(out.length + dropped).toBeLessThanOrEqual(frames.length);
        if (awaitingKeyframe > 0) expect(keyframesAsked).toBeGreaterThan(0);
      }),
    );
  });

  it("holds at most what waits for a gap, and lets it go once the wait is over", () => {
    fc.assert(
      fc.property(stream, ({ packets }) => {
        const a = new RtpFrameAssembler(
          { audio: false, isKeyframe: h264IsKeyframe, startsFrame: h264StartsFrame, maxWaitMs: 50 },
          { frame: () => {}, dropped: () => {}, needKeyframe: () => {} },
        );
        for (const x of packets.slice(1)) a.push(x.p, 0); // the very first packet never comes
        a.flush(1000);
        expect(a.pending).toBe(0);
      }),
    );
  });
});

describe("H.264 RTP payloads (RFC 6184)", () => {
  it("refuses an FU-A continuation without its start, with the packet's sequence number", () => {
    const pk = new H264Packetizer({ payloadType: 102, ssrc: 1, sequenceNumber: 10 });
    const big = Buffer.concat([Buffer.of(0, 0, 0, 1, 0x65), Buffer.alloc(3000, 7)]);
    const ps = pk.packetize(big, 0).map((p) => ({ sequenceNumber: p.header.sequenceNumber, timestamp: 0, marker: p.header.marker, payload: p.payload }));
    expect(() => h264NalUnits(ps.slice(1))).toThrow(expect.objectContaining({ code: "RTP_PAYLOAD", sequenceNumber: 11 }));
  });
});
