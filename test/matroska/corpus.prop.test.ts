import { readdirSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MkvParseError } from "../../src/ebml/errors.js";
import { fixturePath, normalise, parseChunked, readFixture } from "../helpers/fixtures.js";

// The chunking and corruption properties, over every file of the conformance corpus (fixtures/generated).
const files = readdirSync(fixturePath("generated"))
  .filter((f) => /\.(mkv|mka|webm)$/.test(f))
  .sort();
const reference = new Map(files.map((f) => [f, normalise(parseChunked(readFixture(`generated/${f}`), [1 << 30]).events)]));
const chunkSizes = fc.oneof(
  fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 20 }),
  fc.array(fc.integer({ min: 1, max: 70000 }), { minLength: 1, maxLength: 20 }),
);

describe("the conformance corpus: chunking changes nothing, corruption never crashes", () => {
  it("every file, any chunking: the same events as the whole buffer", () => {
    fc.assert(
      fc.property(fc.constantFrom(...files), chunkSizes, (file, sizes) => {
        const { events, error } = parseChunked(readFixture(`generated/${file}`), sizes);
        expect(error).toBeUndefined();
        expect(normalise(events)).toEqual(reference.get(file));
      }),
      { numRuns: 120 },
    );
  });

  it("every file, random byte edits: events then a clean end or an MkvParseError inside the input; recover mode never throws", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...files),
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), length: fc.integer({ min: 1, max: 24 }) }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 9000 }),
        (file, edits, chunk) => {
          const bad = readFixture(`generated/${file}`).slice();
          for (const e of edits) bad.fill(e.value, e.at % bad.length, (e.at % bad.length) + e.length);
          const strict = parseChunked(bad, [chunk]);
          if (strict.error !== undefined) {
            expect(strict.error).toBeInstanceOf(MkvParseError);
            expect((strict.error as MkvParseError).offset).toBeLessThanOrEqual(bad.length);
          }
          expect(parseChunked(bad, [chunk], { recover: true }).error).toBeUndefined();
        },
      ),
      { numRuns: 250 },
    );
  });
});
