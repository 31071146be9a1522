import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MagicIndex } from "../../src/ebml/document-boundary.js";

const MAGIC = [0x1a, 0x45, 0xdf, 0xa3];

/** The answer by the definition: the first i in [from, to - 4] where the four bytes start. */
function firstMagic(bytes: Uint8Array, from: number, to: number): number {
  for (let i = from; i + 4 <= to; i++) if (MAGIC.every((b, k) => bytes[i + k] === b)) return i;
  return -1;
}

describe("MagicIndex: where an EBML header's ID occurs in a chunk", () => {
  it("answers any sequence of ranges as a search of each range would, for Buffers and plain arrays, and after the chunk's bytes change", () => {
    const chunkArb = fc
      .array(
        fc.oneof({ weight: 5, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 90 }) }, { weight: 1, arbitrary: fc.constant(Uint8Array.from(MAGIC)) }),
        {
          maxLength: 12,
        },
      )
      .map((parts) => Uint8Array.from(parts.flatMap((p) => [...p])));
    fc.assert(
      fc.property(chunkArb, fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 20 }), fc.boolean(), (bytes, ranges, asBuffer) => {
        const chunk = asBuffer ? Buffer.from(bytes) : bytes;
        const index = new MagicIndex();
        for (const [a, b] of ranges) {
          const from = a % (chunk.length + 1);
          const to = from + (b % (chunk.length - from + 1));
          expect(index.find(chunk, from, to)).toBe(firstMagic(chunk, from, to));
        }
        // The same buffer refilled: forget() makes the index search again.
        chunk.fill(0);
        chunk.set(MAGIC.slice(0, Math.min(4, chunk.length)), Math.max(0, chunk.length - 4));
        index.forget();
        expect(index.find(chunk, 0, chunk.length)).toBe(firstMagic(chunk, 0, chunk.length));
      }),
      { numRuns: 500 },
    );
  });
});
