// One adapter per parser: load() resolves to prepare(chunks), which returns run(): parse every chunk and
// return { frames, payloadBytes } (or a promise of it). prepare() is not timed.
// Frames = SimpleBlock/Block payloads (after the block header); peers do not split laces, and the
// bench inputs have no lacing, so counts are comparable to ffprobe's packets.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * What an app does with each frame, the same for the raw and the rx path: reads its payload (a Frame makes
 * its data view on first read) and the fields a consumer uses (track, timestamp, keyframe flag, fragment
 * number), so a parser cannot pass for fast by handing out frames nobody looks at.
 */
function frameTaker() {
  let frames = 0;
  let payloadBytes = 0;
  let check = 0;
  return {
    take(f) {
      frames++;
      payloadBytes += f.data.length;
      check += f.track + f.timestampMs + (f.keyframe ? 1 : 0) + (f.fragmentNumber === null ? 0 : 1);
    },
    counts: () => ({ frames, payloadBytes, check }),
  };
}

/**
 * prepare() for a push parser made by `make(emit)` (one per pass): every chunk pushed, then end(), and
 * every frame it emits taken by a {@link frameTaker}.
 */
function pushedThrough(make) {
  return (chunks) => () => {
    const t = frameTaker();
    const p = make((ev) => {
      if (ev.type === "frame") t.take(ev);
    });
    for (const c of chunks) p.push(c);
    p.end();
    return t.counts();
  };
}

function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** Block header length: track varint + 2 timecode bytes + flags. */
function blockHeaderLength(first) {
  return Math.clz32(first) - 23 + 3;
}

export const adapters = {
  /** kvs-parser: the KvsParser callback API (what parseMkv wraps), every Frame taken whole (see {@link frameTaker}). */
  async "kvs-parser"() {
    const { KvsParser } = await import("../../dist/index.js");
    return pushedThrough((emit) => new KvsParser(emit));
  },

  /**
   * kvs-parser as the KVS readers (getMedia, live media, the archive) run it on a GetMedia response:
   * documentStream set, so a size that runs into the next fragment's EBML header is caught there (the
   * reader looks for that header in what it passes over).
   */
  async "kvs-parser (documentStream)"() {
    const { KvsParser } = await import("../../dist/index.js");
    return pushedThrough((emit) => new KvsParser(emit, { documentStream: true }));
  },

  /**
   * kvs-parser made anew every ~1 MB, as a live reader does per connection or a process reading many
   * streams does all the time: a new KvsParser at the first fragment start after each MB (GetMedia-form
   * input: every fragment is a whole document). Compared with "kvs-parser" (one long-lived parser).
   */
  async "kvs-parser (churn)"() {
    const { KvsParser } = await import("../../dist/index.js");
    return (chunks) => {
      const whole = concat(chunks);
      const starts = [];
      new KvsParser((ev) => {
        if (ev.type === "ebmlHeader") starts.push(ev.offset);
      }).push(whole);
      if (starts.length < 2) throw new Error("churn needs an input of many documents (GetMedia form)");
      const size = chunks[0].length;
      const pieces = [];
      let from = 0;
      for (const s of [...starts.slice(1), whole.length]) {
        if (s - from < 1 << 20 && s !== whole.length) continue;
        const part = [];
        for (let i = from; i < s; i += size) part.push(whole.slice(i, Math.min(s, i + size)));
        pieces.push(part);
        from = s;
      }
      return () => {
        const t = frameTaker();
        for (const part of pieces) {
          const p = new KvsParser((ev) => {
            if (ev.type === "frame") t.take(ev);
          });
          for (const c of part) p.push(c);
          p.end();
        }
        return t.counts();
      };
    };
  },

  /**
   * The Matroska floor under the raw path: kvs-parser's own demuxer (an internal module) with no KVS layer
   * above it (no fragment events, no tags read into fragments, frames not stamped), every Frame taken as
   * the raw path takes it. Not a contender users have: it tells what the KVS layer costs (fragment-cost.mjs).
   */
  async "kvs-parser (demuxer)"() {
    const { MatroskaDemuxer } = await import("../../dist/matroska/demuxer.js");
    return pushedThrough((emit) => new MatroskaDemuxer(emit));
  },

  /** kvs-parser through parseMkv(...).pipe(frames()): the RxJS edge. */
  async "kvs-parser (rx)"() {
    const { parseMkv, frames: framesOp } = await import("../../dist/index.js");
    return (chunks) => () => {
      const t = frameTaker();
      parseMkv(chunks)
        .pipe(framesOp())
        .subscribe((f) => t.take(f));
      return t.counts();
    };
  },

  /** ts-ebml's Decoder (decode(ArrayBuffer) per chunk). */
  async "ts-ebml"() {
    const { Decoder } = require("ts-ebml");
    return (chunks) => {
      const buffers = chunks.map((c) => Uint8Array.prototype.slice.call(c).buffer); // a copy (Buffer#slice would be a view)
      return () => {
        const d = new Decoder();
        let frames = 0;
        let payloadBytes = 0;
        for (const ab of buffers) {
          for (const el of d.decode(ab)) {
            if (el.name === "SimpleBlock" || el.name === "Block") {
              frames++;
              payloadBytes += el.data.length - blockHeaderLength(el.data[0]);
            }
          }
        }
        return { frames, payloadBytes };
      };
    };
  },

  /** ebml-stream's EbmlStreamDecoder (a Transform), written synchronously. */
  async "ebml-stream"() {
    const { EbmlStreamDecoder, EbmlTagId } = require("ebml-stream");
    return (chunks) => () =>
      new Promise((resolve, reject) => {
        const d = new EbmlStreamDecoder();
        let frames = 0;
        let payloadBytes = 0;
        d.on("data", (tag) => {
          if (tag.id === EbmlTagId.SimpleBlock || tag.id === EbmlTagId.Block) {
            frames++;
            payloadBytes += tag.payload.length;
          }
        });
        d.on("error", reject);
        d.on("finish", () => resolve({ frames, payloadBytes }));
        for (const c of chunks) d.write(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
        d.end();
      });
  },

  /** mediabunny: Input over the whole buffer, packets of every track. */
  async mediabunny() {
    const mb = await import("mediabunny");
    return (chunks) => {
      const whole = concat(chunks); // mediabunny reads a whole buffer (or random-access source), not pushed chunks
      return async () => {
        const input = new mb.Input({ source: new mb.BufferSource(whole), formats: [mb.MATROSKA, mb.WEBM] });
        let frames = 0;
        let payloadBytes = 0;
        for (const track of await input.getTracks()) {
          const sink = new mb.EncodedPacketSink(track);
          for await (const packet of sink.packets(undefined, undefined, { metadataOnly: false })) {
            frames++;
            payloadBytes += packet.byteLength;
          }
        }
        return { frames, payloadBytes };
      };
    };
  },

  /** matroska (npm): its streaming Decoder (a Writable) building a document tree. */
  async matroska() {
    const { Decoder } = require("matroska");
    return (chunks) => () =>
      new Promise((resolve, reject) => {
        const d = new Decoder();
        d.on("error", reject);
        d.on("finish", () => {
          let frames = 0;
          let payloadBytes = 0;
          const walk = (node) => {
            for (const ch of node.children ?? []) {
              if (ch.name === "SimpleBlock" || ch.name === "Block") {
                frames++;
                const size = ch.getDataSize?.() ?? ch.dataSize ?? ch.data?.length ?? 0;
                payloadBytes += size - (ch.data ? blockHeaderLength(ch.data[0]) : 4);
              }
              walk(ch);
            }
          };
          walk(d.document);
          resolve({ frames, payloadBytes });
        });
        for (const c of chunks) d.write(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
        d.end();
      });
  },

  /**
   * Baseline, the parsing floor: a minimal streaming EBML walker (see {@link streamingWalker}) over the
   * same chunks. No schema, no events, no lacing, no errors, no timestamps.
   */
  async walker() {
    return (chunks) => () => {
      const w = streamingWalker();
      for (const chunk of chunks) w.push(chunk);
      return { frames: w.frames, payloadBytes: w.payloadBytes };
    };
  },
};

const MASTERS = new Set([0x1a45dfa3, 0x18538067, 0x1f43b675, 0xa0, 0x1654ae6b, 0xae, 0x1254c367, 0x7373, 0x67c8, 0x114d9b74, 0x1549a966, 0x1c53bb6b]);

/**
 * The least any streaming parser that delivers frames must do: push chunks one at a time; it reads
 * element headers (carrying one across chunks), descends into masters, skips other payloads, and hands
 * out each frame payload contiguously (a view when inside one chunk, a copy when it straddles). Its
 * state lives in the object between pushes, in locals within one.
 */
export function streamingWalker() {
  const carry = new Uint8Array(16);
  const w = {
    frames: 0,
    payloadBytes: 0,
    carried: 0,
    skip: 0,
    copy: null,
    copyFill: 0,
    push(chunk) {
      let frames = w.frames;
      let payloadBytes = w.payloadBytes;
      let carried = w.carried;
      let skip = w.skip;
      let copy = w.copy;
      let copyFill = w.copyFill;
      let buf = chunk;
      let i = 0;
      let n = chunk.length;
      let base = 0; // bytes of `buf` taken from the carry
      if (carried > 0) {
        const take = Math.min(16 - carried, n);
        carry.set(chunk.subarray(0, take), carried);
        buf = carry;
        n = carried + take;
        base = carried;
      }
      for (;;) {
        if (buf === carry && i >= base) {
          // Past the carried bytes: go on in the chunk itself.
          i -= base;
          buf = chunk;
          n = chunk.length;
          carried = 0;
        }
        if (i >= n) break;
        if (copy !== null) {
          const take = Math.min(copy.length - copyFill, n - i);
          copy.set(buf.subarray(i, i + take), copyFill);
          copyFill += take;
          i += take;
          if (copyFill === copy.length) {
            frames++;
            payloadBytes += copy.length - (Math.clz32(copy[0]) - 23 + 3);
            copy = null;
          }
          continue;
        }
        if (skip > 0) {
          const take = Math.min(skip, n - i);
          skip -= take;
          i += take;
          continue;
        }
        if (n - i < 12 && buf !== carry) {
          carry.set(buf.subarray(i, n), 0);
          carried = n - i;
          i = n;
          break;
        }
        const b0 = buf[i];
        const il = Math.clz32(b0) - 23;
        let id = b0;
        for (let k = 1; k < il; k++) id = id * 256 + buf[i + k];
        const s0 = buf[i + il];
        const sl = Math.clz32(s0) - 23;
        let size = s0 & (0xff >> sl);
        for (let k = 1; k < sl; k++) size = size * 256 + buf[i + il + k];
        i += il + sl;
        if (MASTERS.has(id)) continue;
        if (id === 0xa3 || id === 0xa1) {
          if (i + size <= n && buf === chunk) {
            // The frame payload as a view into the chunk (what a parser hands its caller).
            const header = Math.clz32(buf[i]) - 23 + 3;
            const frame = new Uint8Array(buf.buffer, buf.byteOffset + i + header, size - header);
            frames++;
            payloadBytes += frame.length;
            i += size;
          } else {
            copy = Buffer.allocUnsafeSlow(size);
            copyFill = 0;
          }
          continue;
        }
        skip = size;
      }
      w.frames = frames;
      w.payloadBytes = payloadBytes;
      w.carried = carried;
      w.skip = skip;
      w.copy = copy;
      w.copyFill = copyFill;
    },
  };
  return w;
}
