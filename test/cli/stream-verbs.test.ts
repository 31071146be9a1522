import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { splitClusters } from "../../src/kvs/fragment-writer.js";
import { ffmpeg } from "../helpers/ffmpeg.js";
import { fixturePath, readFixture } from "../helpers/fixtures.js";
import { type Harness, harness, localAwsEnv } from "../helpers/local-kvs.js";

const cli = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
let h: Harness;
let dir: string;
const T0 = Date.UTC(2026, 10, 1);
/** The archived stream: clusters.mkv's 8 fragments (444 frames) from T0. */
let archivedFrames = 0;

beforeAll(async () => {
  h = await harness();
  h.kvs.createStream("cam");
  const stored = h.kvs.appendClusters("cam", splitClusters(readFixture("clusters.mkv")), { serverStartMs: T0 });
  archivedFrames = 444;
  expect(stored).toHaveLength(8);
  dir = mkdtempSync(join(tmpdir(), "kvs-cli-"));
});
afterAll(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the built CLI against the local endpoint (asynchronously: the endpoint lives in this process). */
function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args, ...(args.includes("--help") ? [] : ["--endpoint", h.kvs.endpoint])], {
      env: localAwsEnv(h.kvs.endpoint),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 45_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
const videoPackets = (path: string) =>
  ffmpeg(["-i", path, "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"])
    .toString()
    .split("\n")
    .filter((l) => /^0,/.test(l)).length;

describe("CLI verbs against the local endpoint (built CLI)", () => {
  it("tail --json: one JSON line per fragment with lag, --count stops it", async () => {
    const r = await run(["tail", "cam", "--from", "EARLIEST", "--count", "5", "--json"]);
    expect(r.status).toBe(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(5);
    expect(lines.map((l) => l.fragmentNumber)).toEqual(
      h.kvs
        .fragments("cam")
        .slice(0, 5)
        .map((f) => f.fragmentNumber),
    );
    for (const l of lines) {
      expect(l).toMatchObject({ type: "fragment", frames: expect.any(Number), bytes: expect.any(Number) });
      expect(l.lagMs).toBeGreaterThan(0);
    }
  });

  it("put STREAM FILE: re-fragmented, uploaded with PutMedia, every fragment persisted (exit 0), and GetMedia gives the file's frames back", async () => {
    h.kvs.createStream("put-cam");
    const r = await run(["put", "put-cam", fixturePath("vogels_480.mkv"), "--tag", "site=north"]);
    expect(r.stderr).toMatch(/putting .*vogels_480\.mkv into stream put-cam/);
    expect(r.status).toBe(0);
    const stored = h.kvs.fragments("put-cam");
    expect(r.stdout).toContain(`${stored.length} fragments persisted in 1 connection`);
    const back = await run(["tail", "put-cam", "--from", "EARLIEST", "--count", String(stored.length), "--json"]);
    const frames = back.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { frames: number })
      .reduce((n, l) => n + l.frames, 0);
    expect(frames).toBe(2334);
    h.kvs.createStream("put-live");
    const live = await run(["put", "put-live", "--ffmpeg=-f lavfi -i testsrc=size=160x120:rate=25 -t 2 -c:v libx264 -g 25 -pix_fmt yuv420p"]);
    expect(live.status).toBe(0);
    expect(live.stderr).toMatch(/putting ffmpeg -f lavfi .* into stream put-live/);
    expect(h.kvs.fragments("put-live").length).toBeGreaterThanOrEqual(1);
    expect(live.stdout).toContain(`${h.kvs.fragments("put-live").length} fragments persisted`);
    const bad = await run(["put", "put-cam", fixturePath("CAPTURES-MANIFEST.md")]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/not EBML\/Matroska: the input looks like text/);
  });

  it("tail --frames: fragments and their frames, for people", async () => {
    const r = await run(["tail", "cam", "--from", "EARLIEST", "--count", "1", "--frames"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {2}frame track 1 t=0 ms key \d+ B$/m);
    expect(r.stdout).toMatch(/^fragment \d{47} server 2026-11-01T00:00:00\.000Z frames 59 .* lag \d+ ms, \d+ ms behind now$/m);
  });

  it("record --from --to -o clip.mp4: the archived range through GetClip, every frame", async () => {
    const out = join(dir, "clip.mp4");
    const r = await run(["record", "cam", "--from", new Date(T0).toISOString(), "--to", String((T0 + 60_000) / 1000), "-o", out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("8 fragments in 1 GetClip calls");
    expect(videoPackets(out)).toBe(archivedFrames);
  });

  it("record --from --to -o range.mkv: the archived range merged into one MKV", async () => {
    const out = join(dir, "range.mkv");
    const r = await run(["record", "cam", "--from", new Date(T0).toISOString(), "--to", new Date(T0 + 60_000).toISOString(), "-o", out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("recorded 8 fragments");
    expect(videoPackets(out)).toBe(archivedFrames);
  });

  it("record live -o live.mp4 --count 4: a playable MP4 holding every frame of the 4 fragments", async () => {
    const out = join(dir, "live.mp4");
    const r = await run(["record", "cam", "--from", "EARLIEST", "--count", "4", "-o", out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("recorded 4 fragments");
    const tail = await run(["tail", "cam", "--from", "EARLIEST", "--count", "4", "--json"]);
    const frames = tail.stdout
      .trim()
      .split("\n")
      .reduce((n, l) => n + (JSON.parse(l) as { frames: number }).frames, 0);
    expect(videoPackets(out)).toBe(frames);
    expect(readFileSync(out).subarray(4, 8).toString()).toBe("ftyp");
  });

  it("images STREAM --keyframes: one JPEG per keyframe of the fragments read", async () => {
    const out = join(dir, "jpegs");
    const r = await run(["images", "cam", "--keyframes", "-o", out, "--from", "EARLIEST", "--count", "3", "--width", "160"]);
    expect(r.status, r.stderr).toBe(0);
    const files = readdirSync(out);
    expect(files).toHaveLength(3);
    for (const f of files) expect([...readFileSync(join(out, f)).subarray(0, 2)]).toEqual([0xff, 0xd8]);
  });

  it("each verb has --help, and bad arguments exit 2 with its usage", async () => {
    for (const verb of ["tail", "record", "images", "view"]) {
      const r = await run([verb, "--help"]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`usage: kvs-parser ${verb}`);
      expect(r.stdout).toContain("--endpoint");
    }
    const bad = await run(["record", "cam", "-o", join(dir, "x.avi")]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("ends in .mkv or .mp4");
    const noTo = await run(["record", "cam", "--to", "2026-11-01T00:00:00Z", "-o", join(dir, "x.mkv")]);
    expect(noTo.stderr).toContain("needs --from TIME");
  });
});
