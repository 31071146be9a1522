import { MkvParseError } from "../ebml/errors.js";
import type { ContentEncoding, Track } from "./model.js";

/** Undoes a track's compression on one frame; `offset` (the frame's stream position) is for errors. */
export type FrameDecoder = (frame: Uint8Array, offset: number) => Uint8Array;

const ALGORITHMS: Record<number, string> = { 0: "zlib", 1: "bzlib", 2: "lzo1x", 3: "header stripping" };

/** The compressions that apply to `scope` (1 frames, 2 CodecPrivate), highest order first (the decoding order). */
function compressions(encodings: readonly ContentEncoding[], scope: number): ContentEncoding[] {
  return encodings.filter((e) => e.type === "compression" && (e.scope & scope) !== 0).sort((a, b) => b.order - a.order);
}

function unsupported(e: ContentEncoding, track: number, offset: number, what: string, why = "which kvs-parser does not decode"): MkvParseError {
  const name = ALGORITHMS[e.compressionAlgorithm ?? -1] ?? `ContentCompAlgo ${e.compressionAlgorithm}`;
  return new MkvParseError("UNSUPPORTED_ENCODING", `track ${track} is compressed with ${name}, ${why} (its ${what} would be wrong)`, offset, [
    "Segment",
    "Tracks",
    "TrackEntry",
    "ContentEncodings",
  ]);
}

/**
 * Node's zlib, looked up when a zlib-compressed track is first met rather than when the package is
 * imported: few streams compress their frames, and zlib was about 0.5 MB of the RSS importing the root
 * entry costs (13.7 → 13.1 MB). The runtime keeps the module once loaded. Undefined where the runtime
 * has no Node built-ins.
 */
function loadZlib(): typeof import("node:zlib") | undefined {
  return (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.("node:zlib") as
    | typeof import("node:zlib")
    | undefined;
}

function step(e: ContentEncoding, track: number, what: string, maxOutput: number): FrameDecoder {
  switch (e.compressionAlgorithm) {
    case 0: {
      const z = loadZlib(); // once per track, when its decoder is made; a runtime without zlib fails at the first frame
      return (data, offset) => {
        if (z === undefined) throw unsupported(e, track, offset, what, "which this runtime cannot inflate (it has no node:zlib)");
        try {
          const out = z.inflateSync(data, { maxOutputLength: maxOutput });
          return new Uint8Array(out.buffer, out.byteOffset, out.length);
        } catch (err) {
          throw new MkvParseError("INVALID_BLOCK", `track ${track}: zlib data of the ${what} does not inflate (${(err as Error).message})`, offset);
        }
      };
    }
    case 3: {
      const head = e.compressionSettings ?? new Uint8Array(0);
      return (data) => {
        const out = new Uint8Array(head.length + data.length);
        out.set(head, 0);
        out.set(data, head.length);
        return out;
      };
    }
    default:
      return (_data, offset) => {
        throw unsupported(e, track, offset, what);
      };
  }
}

function chain(steps: readonly FrameDecoder[]): FrameDecoder | null {
  if (steps.length === 0) return null;
  if (steps.length === 1) return steps[0]!;
  return (data, offset) => steps.reduce((d, f) => f(d, offset), data);
}

/**
 * The decoder for a track's frames: zlib is inflated (to at most `maxOutput` bytes), header stripping puts ContentCompSettings back in
 * front; bzlib and lzo1x raise UNSUPPORTED_ENCODING at the first frame. Null when the frames are stored
 * as is (they stay views into the chunks).
 */
export function contentDecoder(track: Track, maxOutput: number): FrameDecoder | null {
  return chain(compressions(track.contentEncodings, 1).map((e) => step(e, track.number, "frames", maxOutput)));
}

/** CodecPrivate as the codec needs it: decompressed when a ContentEncoding's scope includes it (scope 2). */
export function decodeCodecPrivate(
  codecPrivate: Uint8Array | null,
  encodings: readonly ContentEncoding[],
  track: number,
  offset: number,
  maxOutput: number,
): Uint8Array | null {
  if (codecPrivate === null) return null;
  const decode = chain(compressions(encodings, 2).map((e) => step(e, track, "CodecPrivate", maxOutput)));
  return decode === null ? codecPrivate : decode(codecPrivate, offset);
}
