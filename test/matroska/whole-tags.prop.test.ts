import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ID } from "../../src/ebml/schema.js";
import { concatBytes, element, stringElement, uintElement } from "../../src/ebml/writer.js";
import { MatroskaDemuxer } from "../../src/matroska/demuxer.js";
import type { MatroskaEvent } from "../../src/matroska/model.js";

const header = element(ID.EBML, [uintElement(ID.EBMLVersion, 1), stringElement(ID.DocType, "matroska")]);

/** Any of the children a SimpleTag may have, including those the one-pass reader leaves to the general way. */
const simpleChild = fc.oneof(
  fc.string({ maxLength: 50 }).map((s) => stringElement(ID.TagName, s)),
  fc.string({ maxLength: 60 }).map((s) => stringElement(ID.TagString, s)),
  fc.constantFrom("und", "eng", "fre").map((s) => stringElement(ID.TagLanguage, s)),
  fc.integer({ min: 0, max: 1 }).map((v) => uintElement(ID.TagDefault, v)),
  fc.uint8Array({ maxLength: 8 }).map((b) => element(ID.TagBinary, b)),
  fc.constant(element(ID.Void, new Uint8Array(3))),
  fc.constant(element(ID.SimpleTag, [stringElement(ID.TagName, "NESTED"), stringElement(ID.TagString, "x")])),
);
const targets = fc.array(
  fc.oneof(
    fc.integer({ min: 10, max: 70 }).map((v) => uintElement(ID.TargetTypeValue, v)),
    fc.constantFrom("MOVIE", "TRACK").map((s) => stringElement(ID.TargetType, s)),
    fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }).map((v) => uintElement(ID.TagTrackUID, v)),
  ),
  { maxLength: 3 },
);
const tag = fc
  .tuple(fc.option(targets), fc.array(fc.array(simpleChild, { maxLength: 4 }), { maxLength: 4 }))
  .map(([t, sts]) => element(ID.Tag, [...(t === null ? [] : [element(ID.Targets, t)]), ...sts.map((c) => element(ID.SimpleTag, c))]));

function tagsEvents(bytes: Uint8Array, chunk: number): unknown[] {
  const out: unknown[] = [];
  const d = new MatroskaDemuxer((ev: MatroskaEvent) => {
    if (ev.type === "tags") out.push(ev);
  });
  for (let i = 0; i < bytes.length; i += chunk) d.push(bytes.subarray(i, i + chunk));
  d.end();
  return out;
}

describe("Tags read in one pass (whole in a chunk) and the general way (cut into 1-byte chunks)", () => {
  it("give the same tags events, whatever the children", () => {
    fc.assert(
      fc.property(fc.array(tag, { minLength: 1, maxLength: 4 }), (tags) => {
        const file = concatBytes([header, element(ID.Segment, [element(ID.Tags, tags)])]);
        expect(tagsEvents(file, file.length)).toEqual(tagsEvents(file, 1));
      }),
      { numRuns: 300 },
    );
  });
});
