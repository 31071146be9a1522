import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KeptBytes } from "../../src/ebml/kept-bytes.js";

const sameAs = (a: Uint8Array, buf: Uint8Array, s: number, e: number) => a.length === e - s && a.every((b, k) => b === buf[s + k]);

describe("KeptBytes", () => {
  it("matches exactly the bytes it kept, at any offset of any buffer, whatever their length", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 80 }),
        fc.uint8Array({ minLength: 0, maxLength: 200 }),
        fc.nat(),
        fc.nat(),
        fc.nat({ max: 79 }),
        fc.boolean(),
        (kept, other, at, len, flip, asBuffer) => {
          const k = new KeptBytes(kept, 0, kept.length);
          // The kept bytes inside a larger buffer (a Node Buffer or a view at an odd byte offset), maybe with one byte changed.
          const whole = new Uint8Array(other.length + kept.length + 3);
          whole.set(other.subarray(0, at % (other.length + 1)), 1);
          const s = 1 + (at % (other.length + 1));
          whole.set(kept, s);
          const buf = asBuffer ? Buffer.from(whole.buffer, 0, whole.length) : whole.subarray(0);
          expect(k.matches(buf, s, s + kept.length)).toBe(true);
          if (kept.length > 0) {
            buf[s + (flip % kept.length)]! ^= 0x40;
            expect(k.matches(buf, s, s + kept.length)).toBe(false);
          }
          const e = Math.min(buf.length, s + (len % (kept.length + 4)));
          expect(k.matches(buf, s, e)).toBe(sameAs(k.bytes, buf, s, e));
        },
      ),
    );
  });

  it("hashes the same bytes the same wherever they lie", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat({ max: 9 }), fc.nat({ max: 255 }), (bytes, pad, seed) => {
        const a = new Uint8Array(bytes.length + pad);
        a.set(bytes, pad);
        expect(KeptBytes.hash(a, pad, a.length, seed)).toBe(KeptBytes.hash(bytes, 0, bytes.length, seed));
      }),
    );
  });
});
