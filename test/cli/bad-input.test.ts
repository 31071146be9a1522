import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffmpeg } from "../helpers/ffmpeg.js";
import { readFixture } from "../helpers/fixtures.js";
import { type Harness, harness } from "../helpers/local-kvs.js";

const cli = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
let dir: string;
let h: Harness;
/** An endpoint on loopback where nothing listens. */
let dead: string;
const input: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "kvs-cli-bad-"));
  // Made before the endpoint starts: ffmpeg runs synchronously.
  input.empty = join(dir, "empty.mkv");
  writeFileSync(input.empty, "");
  input.text = join(dir, "notes.txt");
  writeFileSync(input.text, "these are notes, not media\n");
  input.mp4 = join(dir, "clip.mp4");
  ffmpeg(["-f", "lavfi", "-i", "testsrc=d=1:s=64x64:r=10", "-pix_fmt", "yuv420p", "-y", input.mp4]);
  input.directory = join(dir, "a-folder");
  mkdirSync(input.directory);
  input.missing = join(dir, "missing.mkv");
  input.cut = join(dir, "cut.mkv");
  writeFileSync(input.cut, readFixture("vogels_480.mkv").subarray(0, 3000));
  h = await harness({ credentials: "any" }); // as kvs-parser serve without --credentials: the CLI signs with placeholders;
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  dead = `http://127.0.0.1:${(probe.address() as { port: number }).port}`;
  await new Promise<void>((r) => probe.close(() => r()));
});
afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI with no AWS settings at all (no region, no credentials: the local endpoint needs
 * none). With `until`, sends SIGINT once stderr matches it. Never blocks this process (the endpoint lives here).
 */
function run(args: string[], until?: RegExp): Promise<Outcome> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env, cwd: dir });
    let stdout = "";
    let stderr = "";
    let interrupted = false;
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (until && !interrupted && until.test(stderr)) {
        interrupted = true;
        child.kill("SIGINT");
      }
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

type Case = [input: string, args: () => string[], exit: number, message: RegExp, until?: RegExp];

const out = () => join(dir, "out");
const file = (name: string) => () => input[name]!;

/** Every command × bad input: the exit code and the message each must give. */
const CASES: Record<string, Case[]> = {
  inspect: [
    ["empty", () => ["inspect", file("empty")()], 1, /empty\.mkv is empty: no bytes to read/],
    ["text", () => ["inspect", file("text")()], 1, /not EBML\/Matroska: the input looks like text: "these are notes/],
    ["MP4", () => ["inspect", file("mp4")()], 1, /not EBML\/Matroska: the input looks like an MP4\/QuickTime file/],
    ["MP4 with --recover", () => ["inspect", "--recover", file("mp4")()], 1, /no EBML\/Matroska element in \d+ bytes: the input looks like an MP4/],
    ["directory", () => ["inspect", file("directory")()], 1, /a-folder is a directory, not a file/],
    ["missing path", () => ["inspect", file("missing")()], 1, /no such file: .*missing\.mkv/],
    ["cut file", () => ["inspect", file("cut")()], 1, /input ends inside SimpleBlock \(\d+ of \d+ bytes\) at byte 742/],
    [
      "unknown flag",
      () => ["inspect", "--bogus", file("cut")()],
      2,
      /^kvs-parser inspect: unknown option --bogus \(a value starting with "-" goes after --\)$/m,
    ],
  ],
  images: [
    ["empty", () => ["images", file("empty")(), "-o", out()], 1, /empty\.mkv is empty: no bytes to read/],
    ["text", () => ["images", file("text")(), "-o", out()], 1, /not EBML\/Matroska: the input looks like text/],
    ["MP4", () => ["images", file("mp4")(), "-o", out()], 1, /not EBML\/Matroska: the input looks like an MP4/],
    ["directory", () => ["images", file("directory")(), "-o", out()], 1, /a-folder is a directory, not a file/],
    ["missing path", () => ["images", file("missing")(), "-o", out()], 1, /no such file: .*missing\.mkv/],
    ["cut file", () => ["images", file("cut")(), "-o", out()], 1, /input ends inside SimpleBlock .* at byte 742/],
    [
      "unknown stream",
      () => ["images", "no-such-stream", "-o", out(), "--endpoint", h.kvs.endpoint],
      1,
      /RESOURCE_NOT_FOUND \(ResourceNotFoundException\): Stream no-such-stream is not found/,
    ],
    [
      "dead endpoint",
      () => ["images", "cam", "-o", out(), "--endpoint", dead],
      0,
      /connecting to stream cam at http:\/\/127\.0\.0\.1:\d+[\s\S]*retrying in [\d.]+ s \(failure 1 in a row\): .*ECONNREFUSED/,
      /failure 1 in a row/,
    ],
  ],
  tail: [
    [
      "unknown stream",
      () => ["tail", "no-such-stream", "--endpoint", h.kvs.endpoint],
      1,
      /RESOURCE_NOT_FOUND \(ResourceNotFoundException\): Stream no-such-stream is not found/,
    ],
    [
      "dead endpoint",
      () => ["tail", "cam", "--endpoint", dead],
      0,
      /connecting to stream cam at http:\/\/127\.0\.0\.1:\d+ \(from NOW\)\nretrying in [\d.]+ s \(failure 1 in a row\): GetDataEndpoint: NETWORK_ERROR: connect ECONNREFUSED/,
      /failure 2 in a row/,
    ],
    ["bad --count", () => ["tail", "cam", "--count", "0"], 2, /--count needs a positive integer, got "0"/],
  ],
  record: [
    [
      "unknown stream",
      () => ["record", "no-such-stream", "-o", join(dir, "r.mkv"), "--endpoint", h.kvs.endpoint],
      1,
      /RESOURCE_NOT_FOUND \(ResourceNotFoundException\)/,
    ],
    ["dead endpoint", () => ["record", "cam", "-o", join(dir, "r.mkv"), "--endpoint", dead], 0, /retrying in .*ECONNREFUSED/, /failure 1 in a row/],
    ["output not MKV or MP4", () => ["record", "cam", "-o", join(dir, "r.avi")], 2, /the output file ends in \.mkv or \.mp4/],
  ],
  view: [
    [
      "unknown stream",
      () => ["view", "no-such-stream", "--endpoint", h.kvs.endpoint],
      1,
      /RESOURCE_NOT_FOUND \(ResourceNotFoundException\): Stream no-such-stream is not found[\s\S]*the page at http:\/\/127\.0\.0\.1:\d+\/ shows it/,
    ],
    ["dead endpoint", () => ["view", "cam", "--endpoint", dead], 0, /retrying in .*ECONNREFUSED/, /failure 1 in a row/],
  ],
  demo: [["an argument", () => ["demo", "extra"], 2, /demo takes no arguments/]],
};

describe("every command says what went wrong (built CLI, no AWS settings in the environment)", () => {
  for (const [command, cases] of Object.entries(CASES)) {
    describe(command, () => {
      for (const [name, args, exit, message, until] of cases) {
        it(`${name} → exit ${exit}${until ? " once interrupted" : ""}`, async () => {
          const r = await run(args(), until);
          expect(r.stderr).toMatch(message);
          expect(r.stderr).not.toMatch(/see the cause\)\s*$/); // a cause is printed, never only pointed at
          expect(r.status).toBe(exit);
        });
      }
    });
  }

  it("--version prints the package's version", async () => {
    const r = await run(["--version"]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("a failure's cause chain is printed, not only pointed at", async () => {
    // No region and a non-local endpoint: the SDK's error is the cause of ours.
    const r = await run(["tail", "cam", "--endpoint", "http://kvs.invalid"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/CONFIGURATION_ERROR: no AWS region \(set AWS_REGION .*--region/);
    expect(r.stderr).toMatch(/^ {2}caused by .*Region is missing/m);
  });
});
