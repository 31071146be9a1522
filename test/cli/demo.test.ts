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
    expect(text).toContain("producer: 34 fragments persisted (PutMedia acknowledgements), in 4 uploads");
    expect(text).toMatch(/shared GetMedia connections: 1,/);
    // Record: the archive in MKV files (a new one where the tracks change), the first camera as an MP4 clip.
    expect(text).toMatch(/record: kvs-\d{47}\.mkv \(8 fragments, 444 frames\), kvs-\d{47}\.mkv \(9 fragments, 2334 frames\), /);
    expect(text).toContain("from GetClip: 8 fragments, 444 video frames");
    // View: the page's media was served live.
    expect(text).toMatch(/viewer: open http:\/\/127\.0\.0\.1:\d+\//);
    expect(text).toMatch(/the viewer served 34 fMP4 segments live; a test client read [1-9]\d+ bytes/);
    // The thumbnailer wrote a real JPEG keyframe per fragment, decoded by one ffmpeg process.
    const dir = /(\d+) JPEG keyframes in (\S+)/.exec(text)!;
    const jpegs = readdirSync(dir[2]!).filter((f) => f.endsWith(".jpg"));
    expect(jpegs.length).toBeGreaterThanOrEqual(17);
    for (const j of jpegs) expect([...readFileSync(`${dir[2]}/${j}`).subarray(0, 2)]).toEqual([0xff, 0xd8]);
    rmSync(dir[2]!.replace(/\/keyframes$/, ""), { recursive: true, force: true });
  });
});

describe("kvs-parser demo stops on SIGINT / SIGTERM", () => {
  it("mid-run: returns 130 at once, the endpoint and apps released", async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    const started = performance.now();
    const code = await runDemo({
      write: (l) => {
        lines.push(l);
        if (l.startsWith("viewer: open")) stop.abort();
      },
      fragmentIntervalMs: 40,
      signal: stop.signal,
    });
    expect(code).toBe(130);
    expect(lines.at(-1)).toBe("interrupted: stopping the endpoint, the apps and the viewer");
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it("--hold: the hold ends on the signal, not after its seconds", async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    let heldAt = 0;
    const code = await runDemo({
      write: (l) => {
        lines.push(l);
        if (/stays up 600 s/.test(l)) {
          heldAt = performance.now();
          setTimeout(() => stop.abort(), 200);
        }
      },
      fragmentIntervalMs: 40,
      holdSeconds: 600,
      signal: stop.signal,
    });
    expect(heldAt).toBeGreaterThan(0);
    expect(performance.now() - heldAt).toBeLessThan(5_000);
    expect(code).toBe(130);
    const dir = /JPEG keyframes in (\S+)/.exec(lines.join("\n"))?.[1];
    if (dir) rmSync(dir.replace(/\/keyframes$/, ""), { recursive: true, force: true });
  });
});
