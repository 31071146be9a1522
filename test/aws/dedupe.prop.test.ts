import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { FragmentEvent } from "../../src/kvs/fragment.js";
import { KvsParser, type KvsEvent } from "../../src/kvs/parser.js";
import { FragmentDeduper, ReadPosition } from "../../src/aws/dedupe.js";
import { checksum, parseChunked, readFixture } from "../helpers/fixtures.js";

// A GetMedia stream cut at arbitrary points and resumed the way the service resumes a
// CONTINUATION_TOKEN (at the fragment after the last completed one): the deduper must deliver every
// frame and fragment exactly once, in order.
const bytes = readFixture("test_mixed_tags.mkv");
const reference = parseChunked(bytes).events;
const fragments = reference.filter((e): e is FragmentEvent => e.type === "fragment");
const frameIds = (events: readonly KvsEvent[]) => events.flatMap((e) => (e.type === "frame" ? [`${e.fragmentNumber}/${e.offset}/${checksum(e.data)}`] : []));

function resumeOffset(pos: ReadPosition): number {
  if (pos.lastCompleted === null) return 0;
  const i = fragments.findIndex((f) => f.fragmentNumber === pos.lastCompleted);
  return i + 1 < fragments.length ? fragments[i + 1]!.startOffset : bytes.length;
}

describe("FragmentDeduper across reconnects", () => {
  it("every frame and fragment arrives exactly once, in order, whatever the cut points", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 6000 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 5000 }), (cuts, chunk) => {
        const pos = new ReadPosition();
        const delivered: KvsEvent[] = [];
        let k = 0;
        for (let guard = 0; guard < 200; guard++) {
          const start = resumeOffset(pos);
          if (start >= bytes.length) break;
          // Offsets in each connection's parser restart at 0; shift them back to file offsets for the check.
          const deduper = new FragmentDeduper(pos, (ev) =>
            delivered.push(ev.type === "frame" ? Object.assign(Object.create(Object.getPrototypeOf(ev)), ev, { offset: ev.offset + start }) : ev),
          );
          const parser = new KvsParser((ev) => deduper.push(ev), { recover: true });
          // The listed cuts first, then one connection that runs to the end.
          const end = k < cuts.length ? Math.min(bytes.length, start + cuts[k++]! * 4) : bytes.length;
          for (let i = start; i < end; i += chunk) parser.push(bytes.subarray(i, Math.min(end, i + chunk)));
        }
        expect(frameIds(delivered)).toEqual(frameIds(reference));
        expect(delivered.filter((e): e is FragmentEvent => e.type === "fragment").map((f) => f.fragmentNumber)).toEqual(fragments.map((f) => f.fragmentNumber));
      }),
      { numRuns: 200 },
    );
  });

  it("resuming after a checkpoint drops the checkpointed fragment and everything before it", () => {
    const pos = new ReadPosition({ fragmentNumber: fragments[3]!.fragmentNumber! });
    const out: KvsEvent[] = [];
    const d = new FragmentDeduper(pos, (ev) => out.push(ev));
    const parser = new KvsParser((ev) => d.push(ev));
    parser.push(bytes);
    expect(out.filter((e): e is FragmentEvent => e.type === "fragment").map((f) => f.fragmentNumber)).toEqual(fragments.slice(4).map((f) => f.fragmentNumber));
    expect(out.filter((e) => e.type === "frame").length).toBe(60);
    expect(out[0]!.type).toBe("ebmlHeader");
  });
});
