import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MkvParseError } from "../../src/ebml/errors.js";
import type { FragmentEvent } from "../../src/kvs/fragment.js";
import { toGetMediaForm } from "../../src/kvs/fragment-writer.js";
import { KvsParser } from "../../src/kvs/parser.js";
import { readFixture } from "../helpers/fixtures.js";

// A GetMedia response as KVS sends it near the live edge (clusters of unknown size), and where each
// fragment lies in it.
const clean = toGetMediaForm(readFixture("clusters.mkv"), { unknownSizeClusters: true });
const spans: { number: string; start: number; end: number }[] = [];
new KvsParser(
  (ev) => {
    if (ev.type === "fragment") spans.push({ number: ev.fragmentNumber!, start: ev.startOffset, end: ev.endOffset });
  },
  { documentStream: true },
).push(clean);

type Edit = { kind: "insert" | "replace"; at: number; length: number; bytes: Uint8Array };

/** An element header that lies: a plausible ID with a size far past the bytes around it, then some noise. */
const lyingHeader = fc
  .tuple(
    fc.constantFrom([0xec], [0xa3], [0xbf], [0xa0], [0x4f, 0x90], [0x1f, 0x43, 0xb6, 0x75], [0x12, 0x54, 0xc3, 0x67], [0x73, 0x73], [0x67, 0xc8]),
    fc.integer({ min: 1, max: 8 }),
    fc.uint8Array({ maxLength: 64 }),
  )
  .map(([id, sizeLength, noise]) => {
    const size = new Uint8Array(sizeLength);
    size[0] = 1 << (8 - sizeLength); // the length marker, then the value: large, not "unknown"
    if (sizeLength > 1) size[1] = 0x40;
    else size[0] |= 0x70;
    return Uint8Array.from([...id, ...size, ...noise]);
  });

const edit: fc.Arbitrary<Edit> = fc.record({
  kind: fc.constantFrom("insert" as const, "replace" as const),
  at: fc.integer({ min: 0, max: clean.length - 1 }),
  length: fc.integer({ min: 1, max: 3000 }),
  bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 3000 }), lyingHeader),
});

function apply(e: Edit): { bytes: Uint8Array; from: number; to: number; delta: number } {
  const removed = e.kind === "replace" ? Math.min(e.length, clean.length - e.at) : 0;
  const bytes = new Uint8Array(clean.length - removed + e.bytes.length);
  bytes.set(clean.subarray(0, e.at));
  bytes.set(e.bytes, e.at);
  bytes.set(clean.subarray(e.at + removed), e.at + e.bytes.length);
  return { bytes, from: e.at, to: e.at + removed, delta: e.bytes.length - removed };
}

/**
 * What the live reader does with a response that carries the edit once: parse it (as liveMedia does:
 * a document stream, nothing recovered in place); on an error, reconnect after the last fragment
 * delivered, and the service sends the clean bytes from there.
 */
function readLive(e: Edit, chunk: number) {
  const { bytes, from, to, delta } = apply(e);
  const delivered: string[] = [];
  let silentAt: string | null = null;
  // The first fragment wholly after the edit: it must be delivered (or an error raised) by its last byte.
  const next = spans.find((s) => s.start >= to && !(e.kind === "insert" && s.start < from));
  const nextEnd = next ? next.end + delta : Infinity;
  let failed = false;
  const parser = new KvsParser(
    (ev) => {
      if (ev.type !== "fragment") return;
      const f = ev as FragmentEvent;
      // As liveMedia's reader does: a fragment without its number or its closing tags is bad bytes, and ends the connection.
      if (f.fragmentNumber === null || f.continuationToken === null)
        throw new MkvParseError("INVALID_VALUE", "a fragment without its number or closing tags", f.endOffset);
      delivered.push(f.fragmentNumber);
    },
    { documentStream: true },
  );
  try {
    for (let i = 0; i < bytes.length; i += chunk) {
      parser.push(bytes.subarray(i, Math.min(bytes.length, i + chunk)));
      if (next && i + chunk >= nextEnd && !delivered.includes(next.number) && silentAt === null) silentAt = next.number;
    }
  } catch (err) {
    expect(err).toBeInstanceOf(MkvParseError);
    failed = true;
  }
  // Reconnect after the last fragment delivered (its continuation token): clean bytes from the next one.
  const last = delivered.at(-1);
  const resumeAt = last === undefined ? 0 : spans.findIndex((s) => s.number === last) + 1;
  const again: string[] = [];
  if (resumeAt < spans.length) {
    new KvsParser(
      (ev) => {
        if (ev.type === "fragment" && ev.continuationToken !== null) again.push(ev.fragmentNumber!);
      },
      { documentStream: true },
    ).push(clean.subarray(spans[resumeAt]!.start));
  }
  return {
    delivered,
    again,
    silentAt,
    failed,
    touched: spans.filter((s) => s.end > from && s.start < Math.max(to, from + 1) && !(e.kind === "insert" && s.start === from)),
  };
}

describe("a GetMedia response with bad bytes written once (inserted or replacing a range)", () => {
  it("every fragment the bad bytes did not touch is delivered exactly once, and none is read past in silence", () => {
    fc.assert(
      fc.property(edit, fc.constantFrom(1, 7, 4096, 65536, 1 << 20), (e, chunk) => {
        const { delivered, again, silentAt, touched } = readLive(e, chunk);
        // Never silent: by the last byte of the first intact fragment after the edit, it was delivered or an error ended the connection.
        expect(silentAt).toBeNull();
        const all = [...delivered, ...again];
        expect(new Set(all).size).toBe(all.length); // nothing twice
        const touchedNumbers = new Set(touched.map((s) => s.number));
        for (const s of spans) if (!touchedNumbers.has(s.number)) expect(all).toContain(s.number);
      }),
      {
        numRuns: 300,
        // Found by CI: the bytes replace the name of the FRAGMENT_NUMBER tag, so the fragment arrives with its token but no number.
        examples: [[{ kind: "replace", at: 1097209, length: 11, bytes: Uint8Array.from([160, 2, 64, 0, 0, 0, 0, 0, 0, 0, 0]) }, 1]],
      },
    );
  });
});
