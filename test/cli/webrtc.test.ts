import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixturePath } from "../helpers/fixtures.js";
import { type Harness, harness, localAwsEnv } from "../helpers/local-kvs.js";

const cli = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
let h: Harness;
let dir: string;

beforeAll(async () => {
  h = await harness();
  h.kvs.signaling.createChannel("door");
  dir = mkdtempSync(join(tmpdir(), "kvs-webrtc-cli-"));
});
afterAll(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the built CLI against the local endpoint; resolves when it exits (killed after 40 s). */
function start(args: string[]): { done: Promise<{ status: number | null; stdout: string; stderr: string }>; kill: () => void } {
  const child = spawn(process.execPath, [cli, ...args, "--endpoint", h.kvs.endpoint], { env: localAwsEnv(h.kvs.endpoint) });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 40_000);
  const done = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
  return { done, kill: () => child.kill("SIGINT") };
}

describe("kvs-parser webrtc (built CLI, local endpoint)", () => {
  it("master --file serves a viewer; view --json --images prints frames with latency and writes decodable images", { timeout: 60_000 }, async () => {
    const master = start(["webrtc", "master", "door", "--file", fixturePath("generated/h264_opus.mkv")]);
    await new Promise((r) => setTimeout(r, 1500)); // the master is on the channel
    const images = join(dir, "images");
    const view = await start(["webrtc", "view", "door", "--json", "--count", "60", "--images", images, "--no-audio"]).done;
    if (view.status !== 0) console.log("VIEW", view.stderr.slice(-1500), view.stdout.slice(-500));
    expect(view.status).toBe(0);
    const frames = view.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; track: number; keyframe: boolean; bytes: number; latencyMs: number | null });
    expect(frames).toHaveLength(60);
    expect(frames[0]).toMatchObject({ type: "frame", track: 1, keyframe: true });
    expect(frames.filter((f) => f.latencyMs !== null).length).toBeGreaterThan(0);
    expect(view.stderr).toMatch(/connected to door's master/);
    expect(readdirSync(images).filter((f) => f.endsWith(".jpg")).length).toBeGreaterThan(0);
    const m = await master.done;
    expect(m.stdout).toMatch(/viewer .* joined: 1 connected/);
    expect(m.stdout).toMatch(/source ended: \d+ frames sent/);
  });

  it("refuses a wrong use with its usage, and an unknown channel with the service's error", { timeout: 30_000 }, async () => {
    const bad = await start(["webrtc", "master", "door"]).done;
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/one of --stream, --file and --ffmpeg/);
    const missing = await start(["webrtc", "view", "nope", "--count", "1"]).done;
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/RESOURCE_NOT_FOUND|not found/i);
  });
});
