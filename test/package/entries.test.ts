import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The package as a user meets it (built dist/, package.json exports), from a project of its own.
const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { exports: Record<string, unknown> };
const entries = Object.keys(pkg.exports).filter((e) => e !== "./package.json");
const specifier = (e: string) => (e === "." ? "kvs-parser" : `kvs-parser/${e.slice(2)}`);
let project: string;

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), "kvs-parser-consumer-"));
  mkdirSync(join(project, "node_modules"));
  symlinkSync(root, join(project, "node_modules", "kvs-parser"), "dir");
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true }));
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

/** The bare specifiers a built module reaches through its relative imports. */
function externalImports(file: string, seen = new Set<string>(), out = new Set<string>()): Set<string> {
  if (seen.has(file)) return out;
  seen.add(file);
  const text = readFileSync(file, "utf8");
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|(?:^|\n)\s*import\s+"([^"]+)"/g)) {
    const spec = m[1] ?? m[2]!;
    if (spec.startsWith(".")) externalImports(resolve(dirname(file), spec), seen, out);
    else out.add(spec);
  }
  return out;
}

describe("the package's entry points", () => {
  it("kvs-parser (the parser) and kvs-parser/ebml load no AWS SDK and start no process: their static module graphs", () => {
    for (const entry of ["dist/index.js", "dist/ebml/index.js"]) {
      const deps = [...externalImports(join(root, entry))];
      expect(
        deps.filter((d) => d.startsWith("@aws-sdk/") || d === "node:child_process"),
        entry,
      ).toEqual([]);
    }
    expect([...externalImports(join(root, "dist/aws/index.js"))].some((d) => d.startsWith("@aws-sdk/"))).toBe(true);
  });

  it("kvs-parser loads only the rxjs modules it uses (not rxjs's index), and its Observables are rxjs's own", () => {
    // The app has rxjs of its own, deduplicated with ours as npm installs it.
    if (!existsSync(join(project, "node_modules", "rxjs"))) symlinkSync(join(root, "node_modules", "rxjs"), join(project, "node_modules", "rxjs"), "dir");
    const script = `
      const { createRequire } = await import("node:module");
      const { parseMkv, frames } = await import("kvs-parser");
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes("/rxjs/")).length;
      const rxjs = await import("rxjs");
      const out = parseMkv(new Uint8Array(0)).pipe(frames(), rxjs.toArray());
      const all = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes("/rxjs/")).length;
      console.log(loaded, all, out instanceof rxjs.Observable, rxjs.isObservable(parseMkv(new Uint8Array(0))), JSON.stringify(await rxjs.lastValueFrom(out)));`;
    const [loaded, all, ...rest] = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: project, encoding: "utf8" }).trim().split(" ");
    expect(Number(loaded)).toBeGreaterThan(0);
    expect(Number(loaded)).toBeLessThan(Number(all) / 4);
    expect(rest).toEqual(["true", "true", "[]"]);
  });

  it("every entry loads with import and with require (require(esm)) from a project of its own", () => {
    for (const e of entries) {
      const names = execFileSync(
        process.execPath,
        ["--input-type=module", "-e", `const m = await import(${JSON.stringify(specifier(e))}); console.log(Object.keys(m).length)`],
        { cwd: project, encoding: "utf8" },
      );
      expect(Number(names), e).toBeGreaterThan(0);
      const required = execFileSync(process.execPath, ["-e", `console.log(Object.keys(require(${JSON.stringify(specifier(e))})).length)`], {
        cwd: project,
        encoding: "utf8",
        env: { ...process.env, NODE_NO_WARNINGS: "1" },
      });
      expect(Number(required), e).toBe(Number(names));
    }
  });

  for (const [module, resolution] of [
    ["node16", "node16"],
    ["esnext", "bundler"],
  ] as const) {
    it(`types resolve for every entry under moduleResolution ${resolution}`, () => {
      const dir = join(project, resolution);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            module,
            moduleResolution: resolution,
            target: "ES2022",
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types: ["node"],
            typeRoots: [join(root, "node_modules/@types")],
            lib: ["ES2022", "DOM"],
          },
          files: ["use.ts"],
        }),
      );
      const lines = entries.map((e, i) => `import * as m${i} from ${JSON.stringify(specifier(e))};\nexport const k${i}: number = Object.keys(m${i}).length;`);
      lines.push(
        `import { parseMkv, frames, type Frame } from "kvs-parser";\nexport const f = (b: Uint8Array) => parseMkv(b).pipe(frames()).subscribe((x: Frame) => x.timestampMs.toFixed());`,
      );
      lines.push(
        `import { liveMedia, type LiveStatus } from "kvs-parser/aws";\nexport const s: LiveStatus["type"] = "connecting"; export const l = liveMedia;`,
      );
      writeFileSync(join(dir, "use.ts"), lines.join("\n"));
      const tsc = join(root, "node_modules/typescript/bin/tsc");
      const out = (() => {
        try {
          return execFileSync(process.execPath, [tsc, "-p", dir], { cwd: dir, encoding: "utf8" });
        } catch (e) {
          return String((e as { stdout?: string }).stdout ?? e);
        }
      })();
      expect(out).toBe("");
    });
  }

  it("kvs-parser/consumer loads, and a file checkpoint store works, without the optional DynamoDB client installed", () => {
    // An installed copy (not a symlink: Node would resolve from this repository's node_modules) next to
    // every package this repository has except @aws-sdk/client-dynamodb.
    const app = join(project, "no-dynamodb");
    const own = join(app, "node_modules", "kvs-parser");
    mkdirSync(own, { recursive: true });
    cpSync(join(root, "dist"), join(own, "dist"), { recursive: true });
    cpSync(join(root, "package.json"), join(own, "package.json"));
    const modules = join(root, "node_modules");
    for (const name of readdirSync(modules)) {
      if (name.startsWith(".") || name === "kvs-parser") continue;
      if (!name.startsWith("@")) {
        symlinkSync(join(modules, name), join(app, "node_modules", name), "dir");
        continue;
      }
      mkdirSync(join(app, "node_modules", name));
      for (const sub of readdirSync(join(modules, name)))
        if (`${name}/${sub}` !== "@aws-sdk/client-dynamodb") symlinkSync(join(modules, name, sub), join(app, "node_modules", name, sub), "dir");
    }
    expect(existsSync(join(app, "node_modules/@aws-sdk/client-dynamodb"))).toBe(false);
    const script = `
      const { FileCheckpointStore, DynamoDbCheckpointStore } = await import("kvs-parser/consumer");
      const store = new FileCheckpointStore(${JSON.stringify(join(app, "checkpoints"))});
      await store.put("cam", "app", { fragmentNumber: "91343852333181432392682062607743920146264014812", continuationToken: null, updatedAt: Date.now() });
      const back = await store.get("cam", "app");
      let ddb = "loaded";
      try { await new DynamoDbCheckpointStore({ send: async () => ({}) }, "t").get("cam", "app"); } catch (e) { ddb = e.code; }
      console.log(back.fragmentNumber, ddb);`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: app, encoding: "utf8" });
    expect(out.trim()).toBe("91343852333181432392682062607743920146264014812 ERR_MODULE_NOT_FOUND");
  });

  it("the shipped source maps carry their sources (src/ is not in the package)", () => {
    const maps = readdirSync(join(root, "dist"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".js.map"));
    expect(maps.length).toBeGreaterThan(50);
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(root, "dist", m), "utf8")) as { sources: string[]; sourcesContent?: (string | null)[] };
      expect(map.sourcesContent?.length, m).toBe(map.sources.length);
      expect(
        map.sourcesContent!.every((c) => typeof c === "string" && c.length > 0),
        m,
      ).toBe(true);
    }
  });
});
