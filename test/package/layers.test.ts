import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The floors of the design (DESIGN.md): data flows one way, down; no module imports one above it, and two
// folders on one floor (decode/record, produce/webrtc) do not import each other.
const FLOORS: Record<string, number> = {
  ebml: 0,
  matroska: 1,
  kvs: 2,
  rx: 3,
  codec: 4,
  decode: 5,
  record: 5,
  aws: 6,
  produce: 7,
  webrtc: 7,
  consumer: 8,
  testing: 9,
  cli: 10,
};
/** Imports that break the rules today, each to go (not to grow). */
const KNOWN = new Set<string>([]);

const src = resolve(fileURLToPath(new URL("../../src", import.meta.url)));
const files = (readdirSync(src, { recursive: true, encoding: "utf8" }) as string[]).filter((f) => f.endsWith(".ts"));
/** Each module's relative imports (static, dynamic and re-exports; type-only ones too), as paths under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(src, file), "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import\()\s*"(\.{1,2}\/[^"]+)"/g))
    out.push(relative(src, resolve(dirname(join(src, file)), m[1]!)).replace(/\.js$/, ".ts"));
  return out;
}
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe("the floors of the design, checked over the import graph of src/", () => {
  it("every folder of src/ is a floor", () => {
    expect([...new Set(files.map((f) => f.split("/")[0]!))].filter((d) => !d.endsWith(".ts") && !(d in FLOORS))).toEqual([]);
  });

  it("no module imports a floor above its own, nor a sibling folder on its floor", () => {
    const broken: string[] = [];
    for (const [from, imports] of graph) {
      const a = from.split("/")[0]!;
      if (!(a in FLOORS)) continue; // src/index.ts: the package's root entry
      for (const to of imports) {
        const b = to.split("/")[0]!;
        if (a === b) continue;
        const up = FLOORS[b]! > FLOORS[a]!;
        const sibling = FLOORS[b] === FLOORS[a];
        if ((up || sibling) && !KNOWN.has(`${from} -> ${to}`)) broken.push(`${from} -> ${to} (${up ? "up" : "sibling"})`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("no import cycles between modules (type-only imports count)", () => {
    const cycles: string[] = [];
    const state = new Map<string, 1 | 2>();
    const visit = (f: string, path: string[]) => {
      state.set(f, 1);
      for (const to of graph.get(f) ?? []) {
        if (state.get(to) === 1) cycles.push([...path.slice(path.indexOf(to)), to].join(" -> "));
        else if (!state.has(to)) visit(to, [...path, to]);
      }
      state.set(f, 2);
    };
    for (const f of files) if (!state.has(f)) visit(f, [f]);
    expect(cycles).toEqual([]);
  });
});
