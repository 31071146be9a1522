import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { fixturePath } from "../helpers/fixtures.js";

const cli = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const run = (args: string[], input?: Buffer) => execFileSync(process.execPath, [cli, ...args], { input, encoding: "utf8" });

describe("kvs-parser inspect (built CLI)", () => {
  it("prints tracks, one line per fragment and totals", () => {
    const out = run(["inspect", fixturePath("output_get_media.mkv")]);
    expect(out).toContain("track 1: video V_MPEG4/ISO/AVC 640x360");
    expect(out.match(/^fragment \d{47} /gm)?.length).toBe(5);
    expect(out).toContain("total: 5 fragments, 300 frames (track 1: 300)");
  });
  it("--json prints one object per line, frames in the documented shape", () => {
    const lines = run(["inspect", fixturePath("vogels_480.mkv"), "--json"]).trim().split("\n").map((l) => JSON.parse(l));
    const framesOut = lines.filter((l) => l.type === "frame");
    expect(framesOut.length).toBe(2334);
    expect(Object.keys(framesOut[0])).toEqual(["type", "track", "timestampMs", "size", "keyframe", "offset", "fragmentNumber"]);
    expect(framesOut[0]).toMatchObject({ type: "frame", track: 1, timestampMs: 0, keyframe: true, fragmentNumber: null });
    expect(lines.filter((l) => l.type === "fragment").length).toBe(1);
  });
  it("reads stdin with -", () => {
    const out = run(["inspect", "-", "--json"], execFileSync("cat", [fixturePath("test_mixed_tags.mkv")]));
    expect(out.trim().split("\n").filter((l) => JSON.parse(l).type === "fragment").length).toBe(10);
  });
  it("exits non-zero with the byte offset on a cut file, and --recover reports it instead", () => {
    expect(() => execFileSync(process.execPath, [cli, "inspect", fixturePath("output-get-media-equal-timecode.mkv")], { stdio: "pipe" })).toThrow(/at byte 1272988/);
    const out = run(["inspect", fixturePath("output-get-media-equal-timecode.mkv"), "--recover"]);
    expect(out).toContain("INCOMPLETE");
    expect(out).toMatch(/recovered: .* at byte 1272988/);
  });
});
