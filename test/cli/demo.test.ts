import { readdirSync, readFileSync, rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runDemo } from "../../src/cli/demo.js";

describe("kvs-parser demo (the main job)", () => {
  it("three apps read every fragment exactly once; the killed one resumes from its checkpoint", async () => {
    const lines: string[] = [];
    const code = await runDemo({ write: (l) => lines.push(l), fragmentIntervalMs: 40 });
    const text = lines.join("\n");
    expect(code).toBe(0);
    expect(text).toContain("keyframe-thumbnailer: crashed after 5 fragments");
    const rows = lines.filter((l) => /^(frame-counter|keyframe-thumbnailer|metadata-logger) /.test(l));
    expect(rows.length).toBe(3);
    for (const r of rows) {
      const cols = r.split(/\s{2,}/);
      expect(cols[1]).toBe("34"); // fragments
      expect(r).toMatch(/\s0\s+0\s/); // duplicates 0, gaps 0
    }
    expect(rows[1]).toMatch(/keyframe-thumbnailer\s+34\s+\d{47}\s/); // resumed from a checkpointed fragment number
    expect(text).toContain("frame-counter                34");
    expect(text).toMatch(/5556 frames/);
    expect(text).toContain("every app read every fragment exactly once");
    expect(text).toMatch(/shared GetMedia connections: 1,/);
    // The thumbnailer wrote a real JPEG keyframe per fragment, decoded by one ffmpeg process.
    const dir = /(\d+) JPEG keyframes in (\S+)/.exec(text)!;
    const jpegs = readdirSync(dir[2]!).filter((f) => f.endsWith(".jpg"));
    expect(jpegs.length).toBeGreaterThanOrEqual(17);
    for (const j of jpegs) expect([...readFileSync(`${dir[2]}/${j}`).subarray(0, 2)]).toEqual([0xff, 0xd8]);
    rmSync(dir[2]!.replace(/\/keyframes$/, ""), { recursive: true, force: true });
  });
});
