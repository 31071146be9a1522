import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { fixturePath } from "../helpers/fixtures.js";

const cli = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const out = () => {
  const d = mkdtempSync(join(tmpdir(), "kvs-images-"));
  dirs.push(d);
  return d;
};
const run = (args: string[], input?: Buffer) => spawnSync(process.execPath, [cli, ...args], { input, encoding: "utf8" });

describe("kvs-parser images (built CLI)", () => {
  it("--keyframes writes one JPEG per keyframe, named by fragment number and time", () => {
    const dir = out();
    const r = run(["images", fixturePath("output_get_media.mkv"), "-o", dir, "--keyframes", "--width", "320"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("5 images in");
    const files = readdirSync(dir).sort();
    expect(files[0]).toBe("91343852333181432392682062607743920146159169392-0.jpg");
    expect([...readFileSync(join(dir, files[0]!)).subarray(0, 2)]).toEqual([0xff, 0xd8]);
  });

  it("reads stdin with - and writes every frame as PNG, none dropped", () => {
    const dir = out();
    const r = run(["images", "-", "-o", dir, "--format", "png"], readFileSync(fixturePath("generated/h264_aac.mkv")));
    expect(r.status).toBe(0);
    expect(readdirSync(dir).filter((f) => f.endsWith(".png"))).toHaveLength(50);
    expect(r.stdout).not.toContain("dropped");
  });

  it("checks its options: no -o, a bad format, an unknown flag (exit 2 with the usage)", () => {
    expect(run(["images", fixturePath("output_get_media.mkv")]).stderr).toContain("give the output directory with -o DIR");
    expect(run(["images", fixturePath("output_get_media.mkv"), "-o", out(), "--format", "gif"]).status).toBe(2);
    const r = run(["images", fixturePath("output_get_media.mkv"), "-o", out(), "--keyframe"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("usage: kvs-parser images");
    expect(run(["images", "--help"]).stdout).toContain("--keyframes");
  });
});
