import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FragmentQueue } from "../../src/consumer/queue.js";
import type { FragmentEvent } from "../../src/kvs/fragment.js";
import { Frame } from "../../src/matroska/frame.js";

const frame = (size: number, n: string) => new Frame({ track: 1, timestampMs: 0, keyframe: true, data: new Uint8Array(size), offset: 0, fragmentNumber: n });
const fragment = (n: string) => ({ type: "fragment", fragmentNumber: n }) as unknown as FragmentEvent;

describe("FragmentQueue: the bounded queue between a source and a handler", () => {
  it("whatever the fragment sizes and timings: every fragment in order, no deadlock, memory within the bound plus one fragment", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 8 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 20000 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 1, max: 5 }),
        async (fragments, maxBytes, delays, chunk) => {
          const q = new FragmentQueue(maxBytes);
          const largest = Math.max(0, ...fragments.map((f) => f.reduce((a, b) => a + b + 96, 0)));
          let peak = 0;
          const producer = (async () => {
            // Events come in chunks: a chunk may end one fragment and start the next before the gate is asked.
            let pushed = 0;
            const push = async (ev: Parameters<FragmentQueue["push"]>[0]) => {
              q.push(ev);
              peak = Math.max(peak, q.heldBytes);
              if (++pushed % chunk === 0) await q.wait();
            };
            for (let i = 0; i < fragments.length; i++) {
              for (const size of fragments[i]!) await push(frame(size, String(i)));
              await push(fragment(String(i)));
            }
            q.end();
          })();
          const got: string[] = [];
          const signal = new AbortController().signal;
          for (let k = 0; ; k++) {
            const item = await q.take(signal);
            if (item === null) break;
            if ("type" in item) throw new Error(`no fragment was skipped, got ${item.type}`);
            expect(item.frames.length).toBe(fragments[Number(item.fragment.fragmentNumber)]!.length);
            got.push(item.fragment.fragmentNumber!);
            const d = delays[k % delays.length]!;
            if (d) await new Promise((r) => setTimeout(r, d));
          }
          await producer;
          expect(got).toEqual(fragments.map((_, i) => String(i)));
          expect(peak).toBeLessThanOrEqual(maxBytes + 2 * largest + 5 * 5096);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("a fragmentDiscarded event drops the frames gathered since the last fragment", () => {
    const q = new FragmentQueue(1 << 20);
    q.push(frame(10, "1"));
    q.push({ type: "fragmentDiscarded", fragmentNumber: "1", frames: 1, reason: "cut" });
    q.push(frame(20, "1"));
    q.push(fragment("1"));
    expect(q.length).toBe(1);
    expect(q.heldBytes).toBe(20 + 96);
  });
});
