import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { fixturePath } from "../helpers/fixtures.js";

const cli = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const run = (args: string[], input?: Buffer) => execFileSync(process.execPath, [cli, ...args], { input, encoding: "utf8" });
/** Runs the CLI expecting failure: its exit code, stdout and stderr. */
function fail(args: string[], input?: Buffer): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { input, encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("kvs-parser inspect (built CLI)", () => {
  it("prints tracks, one line per fragment and totals", () => {
    const out = run(["inspect", fixturePath("output_get_media.mkv")]);
    expect(out).toContain("track 1: video V_MPEG4/ISO/AVC 640x360");
    expect(out.match(/^fragment \d{47} /gm)?.length).toBe(5);
    expect(out).toContain("total: 5 fragments, 300 frames (track 1: 300)");
  });
  it("--json prints one object per line, frames in the documented shape", () => {
    const lines = run(["inspect", fixturePath("vogels_480.mkv"), "--json"])
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const framesOut = lines.filter((l) => l.type === "frame");
    expect(framesOut.length).toBe(2334);
    expect(Object.keys(framesOut[0])).toEqual([
      "type",
      "track",
      "timestampMs",
      "producerTimestampMs",
      "serverTimestampMs",
      "size",
      "keyframe",
      "offset",
      "fragmentNumber",
    ]);
    expect(framesOut[0]).toMatchObject({ type: "frame", track: 1, timestampMs: 0, keyframe: true, fragmentNumber: null });
    expect(lines.filter((l) => l.type === "fragment").length).toBe(1);
  });
  it("reads stdin with -", () => {
    const out = run(["inspect", "-", "--json"], execFileSync("cat", [fixturePath("test_mixed_tags.mkv")]));
    expect(
      out
        .trim()
        .split("\n")
        .filter((l) => JSON.parse(l).type === "fragment").length,
    ).toBe(10);
  });
  it("exits non-zero with the byte offset on a cut file, and --recover reports it instead", () => {
    expect(() => execFileSync(process.execPath, [cli, "inspect", fixturePath("output-get-media-equal-timecode.mkv")], { stdio: "pipe" })).toThrow(
      /at byte 1272988/,
    );
    const out = run(["inspect", fixturePath("output-get-media-equal-timecode.mkv"), "--recover"]);
    expect(out).toContain("INCOMPLETE");
    expect(out).toMatch(/recovered: .* at byte 1272988/);
  });

  it("prints per-track frame counts, durations and rates (h264_aac.mkv: 50 frames at 25 fps over 2 s, as ffprobe says)", () => {
    const out = run(["inspect", fixturePath("generated/h264_aac.mkv")]);
    expect(out).toContain("track 1: 50 frames (2 key), 2.000 s, 25.00 fps");
    expect(out).toMatch(/^track 2: 95 frames, 2\.0\d\d s/m);
  });
  it("an empty input is an error (exit 1), not '0 fragments'", () => {
    const r = fail(["inspect", "-"], Buffer.alloc(0));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("empty input");
    expect(r.stdout).not.toContain("0 fragments");
  });
  it("a cut file prints the totals read so far, then the error with its offset (exit 1)", () => {
    const r = fail(["inspect", "-"], readFileSync(fixturePath("generated/h264_aac.mkv")).subarray(0, 50000));
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("total: 0 fragments, 72 frames");
    expect(r.stderr).toMatch(/input ends inside SimpleBlock .* at byte 49480/);
  });
  it("input that is not Matroska says what it looks like", () => {
    const r = fail(["inspect", fixturePath("../package.json")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not EBML\/Matroska: the input looks like text/);
  });
  it("an unknown flag is an error with the usage (exit 2); --help prints each command's usage", () => {
    const r = fail(["inspect", fixturePath("vogels_480.mkv"), "--jsno"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown option --jsno");
    expect(r.stderr).toContain("usage: kvs-parser inspect");
    expect(run(["inspect", "--help"])).toContain("--max-element-size");
    expect(run(["demo", "--help"])).toContain("usage: kvs-parser demo");
    expect(run(["--help"])).toMatch(/inspect .*\n.*tail .*\n.*record .*\n.*images .*\n.*view .*\n.*put .*\n.*webrtc .*\n.*serve .*\n.*demo/);
    expect(fail(["nope"]).status).toBe(2);
  });
  it("--max-element-size limits what is held: a small limit stops at the first larger element", () => {
    const r = fail(["inspect", fixturePath("generated/h264_aac.mkv"), "--max-element-size", "16"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/exceeds the limit of 16/);
  });
});
