import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MkvParseError } from "../../src/ebml/errors.js";
import type { FragmentEvent } from "../../src/kvs/fragment.js";
import { normalise, parseChunked, readFixture } from "../helpers/fixtures.js";

type Edit = { at: number; kind: "flip" | "insert" | "delete" | "zero"; value: number; length: number };

function corrupt(bytes: Uint8Array, edits: readonly Edit[]): Uint8Array {
  let out = bytes;
  for (const e of edits) {
    const at = e.at % Math.max(1, out.length);
    if (e.kind === "flip") {
      out = out.slice();
      out[at] = out[at]! ^ (e.value || 1);
    } else if (e.kind === "zero") {
      out = out.slice();
      out.fill(0, at, at + e.length);
    } else if (e.kind === "insert") {
      const ins = new Uint8Array(e.length).fill(e.value);
      out = Uint8Array.from([...out.subarray(0, at), ...ins, ...out.subarray(at)]);
    } else {
      out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + e.length)]);
    }
  }
  return out;
}

const edit = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom("flip" as const, "insert" as const, "delete" as const, "zero" as const),
  value: fc.integer({ min: 0, max: 255 }),
  length: fc.integer({ min: 1, max: 40 }),
});

describe("random corruption never crashes, hangs or throws anything but MkvParseError", () => {
  const bytes = readFixture("test_mixed_tags.mkv");

  it("strict mode: events then either a clean end or an MkvParseError with a sane offset", () => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 5000 }), (edits, chunk) => {
        const bad = corrupt(bytes, edits);
        const { error } = parseChunked(bad, [chunk]);
        if (error !== undefined) {
          expect(error).toBeInstanceOf(MkvParseError);
          const e = error as MkvParseError;
          expect(e.offset).toBeGreaterThanOrEqual(0);
          expect(e.offset).toBeLessThanOrEqual(bad.length);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("recover mode: never throws, reports what it skipped, the same way for every chunking", () => {
    fc.assert(
      fc.property(
        fc.array(edit, { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 8 }),
        (edits, sizes) => {
          const bad = corrupt(bytes, edits);
          const whole = parseChunked(bad, [bad.length], { recover: true });
          expect(whole.error).toBeUndefined();
          const chunked = parseChunked(bad, sizes, { recover: true });
          expect(chunked.error).toBeUndefined();
          expect(normalise(chunked.events)).toEqual(normalise(whole.events));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("recover mode: a garbage burst inside one fragment loses only that fragment's tail", () => {
    const clean = parseChunked(bytes).events.filter((e): e is FragmentEvent => e.type === "fragment");
    // Overwrite 64 bytes in the middle of fragment 4's cluster.
    const f = clean[4]!;
    const at = Math.floor((f.startOffset + f.endOffset) / 2);
    const bad = bytes.slice();
    bad.fill(0, at, at + 64);
    const got = parseChunked(bad, [4096], { recover: true }).events;
    const frags = got.filter((e): e is FragmentEvent => e.type === "fragment");
    const numbers = frags.map((x) => x.fragmentNumber).filter((n) => n !== null);
    expect(numbers).toEqual(clean.map((x) => x.fragmentNumber));
    expect(frags.filter((x) => !x.complete).map((x) => x.fragmentNumber)).toEqual([f.fragmentNumber]);
    expect(got.some((e) => e.type === "recovered")).toBe(true);
  });
});
