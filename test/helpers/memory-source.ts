import { Observable } from "rxjs";
import type { FragmentSource } from "../../src/consumer/source.js";
import type { FragmentEvent } from "../../src/kvs/fragment.js";
import { compareFragmentNumbers } from "../../src/kvs/fragment-number.js";
import type { KvsEvent } from "../../src/kvs/parser.js";
import { parseChunked, readFixture } from "./fixtures.js";

/** The events of a capture grouped per fragment, for sources that start after a checkpoint. */
export function fragmentsOf(file: string): { number: string; events: KvsEvent[] }[] {
  const out: { number: string; events: KvsEvent[] }[] = [];
  let cur: KvsEvent[] = [];
  for (const ev of parseChunked(readFixture(file)).events) {
    cur.push(ev);
    if (ev.type === "fragment") {
      out.push({ number: (ev as FragmentEvent).fragmentNumber!, events: cur });
      cur = [];
    }
  }
  return out;
}

/**
 * A source that replays a capture's fragments after the checkpoint, asynchronously, waiting while the
 * app's queue (the gate) is full, then completes. `reads` counts the fragments it handed out.
 */
export function memorySource(file: string, opened?: (after: string | null) => void, reads?: { count: number }): FragmentSource {
  const frags = fragmentsOf(file);
  return ({ after, gate }) =>
    new Observable<KvsEvent>((s) => {
      opened?.(after?.fragmentNumber ?? null);
      let stopped = false;
      void (async () => {
        for (const f of frags) {
          if (after && compareFragmentNumbers(f.number, after.fragmentNumber) <= 0) continue;
          for (const ev of f.events) {
            if (stopped) return;
            s.next(ev);
          }
          if (reads) reads.count++;
          await new Promise((r) => setImmediate(r));
          await gate.wait();
        }
        s.complete();
      })();
      return () => {
        stopped = true;
      };
    });
}
