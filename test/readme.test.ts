import { execFile, execFileSync, spawn } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startLocalKvs } from "../src/testing/local-kvs.js";
import { startDynalite } from "./helpers/dynalite.js";
import { ffmpeg } from "./helpers/ffmpeg.js";
import { fixturePath, readFixture } from "./helpers/fixtures.js";
import { localAwsEnv } from "./helpers/local-kvs.js";

const root = fileURLToPath(new URL("..", import.meta.url));
/** Packets ffmpeg reads from a file (stream copy, no decoding). */
const packets = (path: string) =>
  ffmpeg(["-i", path, "-map", "0", "-c", "copy", "-f", "framecrc", "-"])
    .toString()
    .split("\n")
    .filter((l) => /^\d+,/.test(l)).length;

/** The README's ```ts block marked `<!-- example: NAME -->` (they are plain JavaScript too). */
function snippet(name: string): string {
  const text = readFileSync(join(root, "README.md"), "utf8");
  const m = new RegExp(`<!-- example: ${name} -->\\n\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(text);
  if (!m) throw new Error(`README has no example ${name}`);
  return m[1]!;
}

/** Writes a snippet into a temp folder inside the repository, where "kvs-parser" resolves to this package; removed when `run` is done. */
async function withSnippet<T>(code: string, run: (file: string, dir: string) => T | Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(root, "test", ".readme-"));
  const file = join(dir, "example.mjs");
  writeFileSync(file, code);
  try {
    return await run(file, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("README examples run as written", () => {
  it("the parse example prints fragment numbers and frames", async () => {
    const out = await withSnippet(snippet("parse"), (file) => execFileSync(process.execPath, [file], { cwd: root, encoding: "utf8" }));
    expect(out).toContain("91343852333181432392682062607743920146159169392 1511852109126 60");
    expect(
      out
        .trim()
        .split("\n")
        .filter((l) => /^2 \d+ true \d+$/.test(l)).length,
    ).toBe(1425);
  });

  it("the consume example reads a live stream from the local endpoint, checkpoints, and stops on SIGINT", async () => {
    const kvs = await startLocalKvs({ streams: { "my-camera": { mkv: readFixture("clusters.mkv") } }, idleEndMs: 500 });
    try {
      await withSnippet(snippet("consume"), async (file, dir) => {
        const child = spawn(process.execPath, [file], {
          cwd: dir,
          env: localAwsEnv(kvs.endpoint),
        });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (out += d.toString()));
        const deadline = Date.now() + 15_000;
        while (out.split("\n").filter((l) => /^\d{47} \d+ \d+ \d+$/.test(l)).length < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        child.kill("SIGINT");
        const code = await new Promise<number | null>((r) => child.on("exit", r));
        const lines = out.split("\n").filter((l) => /^\d{47} \d+ \d+ \d+$/.test(l));
        expect(lines.map((l) => l.split(" ")[0])).toEqual(kvs.fragments("my-camera").map((f) => f.fragmentNumber));
        expect(lines.reduce((n, l) => n + Number(l.split(" ")[1]), 0)).toBe(444);
        expect(out).toContain(`stopped 8 ${kvs.fragments("my-camera").at(-1)!.fragmentNumber}`);
        expect(code).toBe(0);
        expect(readdirSync(join(dir, ".kvs-checkpoints"))).toEqual(["my-camera__detector.json"]);
      });
    } finally {
      await kvs.close();
    }
  });

  it("the thumbnails example writes one JPEG per keyframe with its server time", async () => {
    const out = await withSnippet(snippet("thumbnails"), (file) => {
      const text = execFileSync(process.execPath, [file], { cwd: root, encoding: "utf8" });
      rmSync(join(root, "thumbnails"), { recursive: true, force: true });
      return text;
    });
    const lines = out.trim().split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe("91343852333181432392682062607743920146159169392 2017-11-28T06:55:09.126Z 640x360");
  });

  it("the Connect example writes the call's two WAVs from a live stream", async () => {
    const kvs = await startLocalKvs({ streams: { "connect-call": { mkv: readFixture("generated/connect_call.mka") } }, idleEndMs: 500 });
    try {
      await withSnippet(snippet("connect"), async (file, dir) => {
        // Not execFileSync: the endpoint runs in this process and must keep answering.
        const { stdout: out } = await promisify(execFile)(process.execPath, [file], {
          cwd: dir,
          encoding: "utf8",
          env: localAwsEnv(kvs.endpoint, { START_FRAGMENT_NUMBER: kvs.fragments("connect-call")[0]!.fragmentNumber, CALL_SECONDS: "3" }),
        });
        expect(
          out
            .trim()
            .split("\n")
            .map((l) => l.split(" ")[0]),
        ).toEqual(["AUDIO_FROM_CUSTOMER", "AUDIO_TO_CUSTOMER"]);
        expect(out).toContain(" 64000");
        expect(
          readdirSync(dir)
            .filter((f) => f.endsWith(".wav"))
            .sort(),
        ).toEqual(["AUDIO_FROM_CUSTOMER.wav", "AUDIO_TO_CUSTOMER.wav"]);
      });
    } finally {
      await kvs.close();
    }
  });

  it("the produce example puts a file into a stream with PutMedia: every fragment persisted, as the endpoint stored them", async () => {
    const kvs = await startLocalKvs({ streams: { "my-camera": {} }, idleEndMs: 300 });
    try {
      await withSnippet(snippet("produce"), async (file, dir) => {
        const { stdout: out } = await promisify(execFile)(process.execPath, [file], {
          cwd: dir,
          encoding: "utf8",
          env: localAwsEnv(kvs.endpoint, { FILE: fixturePath("vogels_480.mkv") }),
        });
        const stored = kvs.fragments("my-camera");
        expect(stored.length).toBeGreaterThan(1);
        expect(out.trim().split("\n")).toEqual(stored.map((f) => `persisted ${f.fragmentNumber}`));
      });
    } finally {
      await kvs.close();
    }
  });

  it("the webrtc example serves a file as a channel's master and prints 50 frames a viewer received, with their latency", { timeout: 40_000 }, async () => {
    const kvs = await startLocalKvs({});
    kvs.signaling.createChannel("front-door");
    try {
      await withSnippet(snippet("webrtc"), async (file, dir) => {
        const { stdout: out } = await promisify(execFile)(process.execPath, [file], {
          cwd: dir,
          encoding: "utf8",
          timeout: 30_000,
          env: localAwsEnv(kvs.endpoint, { FILE: fixturePath("generated/h264_opus.mkv") }),
        });
        const lines = out.trim().split("\n");
        expect(lines).toHaveLength(50);
        for (const l of lines) expect(l).toMatch(/^[12] (key|-) \d+ bytes -?\d+ ms$/);
        expect(lines.filter((l) => l.startsWith("1 key")).length).toBeGreaterThanOrEqual(1);
        expect(kvs.signaling.presence("front-door").viewers).toEqual([]); // the viewer left, the master closed
      });
    } finally {
      await kvs.close();
    }
  });

  it("the record example writes every frame of the live stream to MKV, then the last hour as one MP4", async () => {
    const kvs = await startLocalKvs({ streams: { "my-camera": { mkv: readFixture("clusters.mkv") } }, idleEndMs: 300 });
    try {
      await withSnippet(snippet("record"), async (file, dir) => {
        const { stdout: out } = await promisify(execFile)(process.execPath, [file], {
          cwd: dir,
          encoding: "utf8",
          env: localAwsEnv(kvs.endpoint, { SECONDS: "3" }),
        });
        const lines = out.trim().split("\n");
        const recorded = lines.filter((l) => l.startsWith("recorded ")).map((l) => l.split(" "));
        expect(recorded.length).toBe(1);
        expect(Number(recorded[0]![2])).toBe(kvs.fragments("my-camera").length);
        expect(Number(recorded[0]![3])).toBe(444);
        expect(packets(join(dir, recorded[0]![1]!))).toBe(444);
        expect(lines.at(-1)).toBe(`clip ${kvs.fragments("my-camera").length} fragments`);
        expect(packets(join(dir, "recordings", "last-hour.mp4"))).toBe(444);
      });
    } finally {
      await kvs.close();
    }
  });

  it("the fleet example: two workers share three streams, every fragment handled, stopped on SIGTERM", async () => {
    const names = ["camera-1", "camera-2", "camera-3"];
    const kvs = await startLocalKvs({ streams: Object.fromEntries(names.map((n) => [n, { mkv: readFixture("clusters.mkv") }])), idleEndMs: 500 });
    const dynamo = await startDynalite();
    const workers: ReturnType<typeof spawn>[] = [];
    try {
      await withSnippet(snippet("fleet"), async (file, dir) => {
        const outs = ["", ""];
        const errs = ["", ""];
        for (const k of [0, 1]) {
          const child = spawn(process.execPath, [file], { cwd: dir, env: localAwsEnv(kvs.endpoint, { DYNAMODB_ENDPOINT: dynamo.endpoint }) });
          child.stdout!.on("data", (d: Buffer) => (outs[k] += d.toString()));
          child.stderr!.on("data", (d: Buffer) => (errs[k] += d.toString()));
          workers.push(child);
        }
        const expected = names.flatMap((n) => kvs.fragments(n).map((f) => `${n} ${f.fragmentNumber}`)).sort();
        const handled = () =>
          [
            ...new Set(
              outs
                .join("")
                .split("\n")
                .filter(Boolean)
                .map((l) => l.split(" ").slice(0, 2).join(" ")),
            ),
          ].sort();
        const deadline = Date.now() + 30_000;
        // Balanced: each worker holds 1 or 2 of the 3 streams once it sees the other.
        const balanced = () => errs.every((e) => /holding [12] of 3 streams \(2 workers\)/.test(e));
        while (!(handled().length >= expected.length && balanced()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        expect(handled()).toEqual(expected);
        expect(balanced()).toBe(true);
        const exits = workers.map((w) => new Promise((r) => w.once("exit", r)));
        for (const w of workers) w.kill("SIGTERM");
        expect(await Promise.all(exits)).toEqual([0, 0]);
        expect(errs.join("")).toContain("stopped after");
      });
    } finally {
      for (const w of workers) w.kill("SIGKILL");
      await dynamo.close();
      await kvs.close();
    }
  }, 60_000);
});
