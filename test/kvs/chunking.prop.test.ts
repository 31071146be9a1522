import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalise, parseChunked, readFixture } from "../helpers/fixtures.js";

const chunkSizes = (max: number) => fc.array(fc.integer({ min: 1, max }), { minLength: 1, maxLength: 40 });

describe("parsing is independent of how the bytes are chunked", () => {
  for (const [file, runs] of [
    ["test_mixed_tags.mkv", 60],
    ["empty-mkv-with-tags.mkv", 60],
    ["output_get_media_sparse_fragments.mkv", 12],
    ["vogels_330.mkv", 8],
  ] as const) {
    it(`${file}: every chunking (1 byte to 96 KiB pieces) gives the same events`, () => {
      const bytes = readFixture(file);
      const reference = normalise(parseChunked(bytes, [bytes.length]).events);
      fc.assert(
        fc.property(fc.oneof(chunkSizes(16), chunkSizes(98304)), (sizes) => {
          const { events, error } = parseChunked(bytes, sizes);
          expect(error).toBeUndefined();
          expect(normalise(events)).toEqual(reference);
        }),
        { numRuns: runs },
      );
    });
  }

  it("1-byte chunks of a whole GetMedia capture give the same events", () => {
    const bytes = readFixture("output_get_media.mkv");
    expect(normalise(parseChunked(bytes, [1]).events)).toEqual(normalise(parseChunked(bytes, [bytes.length]).events));
  });

  it("a truncated capture fails at the same offset, after the same events, for every chunking", () => {
    const bytes = readFixture("output-get-media-equal-timecode.mkv");
    const ref = parseChunked(bytes, [bytes.length]);
    fc.assert(
      fc.property(chunkSizes(70000), (sizes) => {
        const got = parseChunked(bytes, sizes);
        expect(normalise(got.events)).toEqual(normalise(ref.events));
        expect(got.error).toEqual(ref.error);
      }),
      { numRuns: 10 },
    );
  });
});
