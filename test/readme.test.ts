import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The ```ts blocks of the README that import from "kvs-parser" (they are plain JavaScript too). */
function snippets(): string[] {
  const text = readFileSync(join(root, "README.md"), "utf8");
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((s) => s.includes('from "kvs-parser"'));
}

describe("README examples run as written", () => {
  it("the parse example prints fragment numbers and frames", () => {
    const [parse] = snippets();
    expect(parse).toBeDefined();
    // Inside the repository, "kvs-parser" resolves to this package through its exports map.
    const dir = mkdtempSync(join(root, "test", ".readme-"));
    try {
      const file = join(dir, "example.mjs");
      writeFileSync(file, parse!);
      const out = execFileSync(process.execPath, [file], { cwd: root, encoding: "utf8" });
      expect(out).toContain("91343852333181432392682062607743920146159169392 1511852109126 60");
      expect(out.trim().split("\n").filter((l) => /^2 \d+ true \d+$/.test(l)).length).toBe(1425);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
