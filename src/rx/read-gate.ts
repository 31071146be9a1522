import { defer, type Observable } from "rxjs";

/**
 * How a slow consumer holds a reader back: the reader asks before reading the next chunk, and waits
 * while the answer is a promise (the socket then fills and TCP slows the sender). Null means go on.
 */
export interface ReadGate {
  wait(): Promise<void> | null;
}

/** Where a reader observable keeps the hook downstream consumers attach their gates with. */
const ATTACH = Symbol.for("kvs-parser.attachGate");

type Attachable = { [ATTACH]?: (gate: ReadGate) => () => void; source?: unknown };

/**
 * A reader observable that consumers downstream can hold back: `make` gets the options with `gate` set to
 * one that waits on the given gate and on every gate attached with {@link attachGate} (undefined when
 * there is none when a subscription starts, so unheld readers keep their synchronous path).
 */
export function gatedReader<O extends { readonly gate?: ReadGate }, T>(options: O, make: (options: O) => Observable<T>): Observable<T> {
  const attached = new Set<ReadGate>();
  const given = options.gate;
  const joined: ReadGate = {
    wait() {
      const w = given?.wait() ?? null;
      if (w !== null) return w;
      for (const g of attached) {
        const a = g.wait();
        if (a !== null) return a;
      }
      return null;
    },
  };
  const reader = defer(() => make(given === undefined && attached.size === 0 ? options : { ...options, gate: joined }));
  (reader as Attachable)[ATTACH] = (gate) => {
    attached.add(gate);
    return () => attached.delete(gate);
  };
  return reader;
}

/**
 * Attaches a consumer's gate to the nearest reader up an operator chain (`parseMkv(…).pipe(filter(…), op)`:
 * rxjs keeps each operator's source); returns the detach function, or null when no reader was found.
 */
export function attachGate(source: Observable<unknown>, gate: ReadGate): (() => void) | null {
  let o: unknown = source;
  for (let depth = 0; o !== null && typeof o === "object" && depth < 64; depth++) {
    const attach = (o as Attachable)[ATTACH];
    if (attach) return attach(gate);
    o = (o as Attachable).source;
  }
  return null;
}
