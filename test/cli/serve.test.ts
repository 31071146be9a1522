import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateStreamCommand, DescribeStreamCommand } from "@aws-sdk/client-kinesis-video";
import { lastValueFrom, toArray } from "rxjs";
import { afterAll, describe, expect, it } from "vitest";
import { listFragments, mediaForFragments } from "../../src/aws/archive.js";
import { KvsClients } from "../../src/aws/clients.js";
import type { FragmentEvent } from "../../src/kvs/fragment.js";
import { compareFragmentNumbers } from "../../src/kvs/fragment-number.js";
import { mkvSource } from "../../src/produce/mkv-source.js";
import { type PutMediaEvent, putMedia } from "../../src/produce/put-media.js";
import { startLocalKvs } from "../../src/testing/local-kvs.js";
import { readFixture } from "../helpers/fixtures.js";
import { localAwsEnv } from "../helpers/local-kvs.js";

// `kvs-parser serve --data DIR` as a process: what PutMedia persisted survives kill -9, whole.
const MAIN = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const credentials = { accessKeyId: "AKIDSERVE", secretAccessKey: "serve-secret" };
const dirs: string[] = [];
const procs = new Set<ChildProcess>();
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "kvs-serve-"));
  dirs.push(d);
  return d;
};

/** Starts the server; resolves with its endpoint (from its first line) and the process. */
function serve(args: string[]): Promise<{ endpoint: string; proc: ChildProcess; exited: Promise<number | null>; output: () => string }> {
  const proc = spawn(process.execPath, [MAIN, "serve", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"], env: localAwsEnv("") });
  procs.add(proc);
  let out = "";
  const exited = new Promise<number | null>((r) =>
    proc.once("exit", (code) => {
      procs.delete(proc);
      r(code);
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no endpoint printed: ${out}`)), 10_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /serve: (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ endpoint: m[1]!, proc, exited, output: () => out });
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`serve exited: ${out}`));
    });
  });
}

const clientsFor = (endpoint: string) => new KvsClients({ region: "us-east-1", endpoint, credentials });

async function upload(clients: KvsClients, stream: string, killAfterPersisted?: { count: number; kill: () => void }) {
  const persisted: string[] = [];
  await new Promise<void>((resolve) =>
    putMedia(clients, stream, mkvSource(readFixture("vogels_480.mkv"), { realtime: killAfterPersisted !== undefined }), {
      retry: { baseMs: 20, maxMs: 100, maxAttempts: 2 },
    }).subscribe({
      next: (ev: PutMediaEvent) => {
        if (ev.type === "ack" && ev.event === "PERSISTED" && ev.fragmentNumber) {
          persisted.push(ev.fragmentNumber);
          if (killAfterPersisted && persisted.length === killAfterPersisted.count) killAfterPersisted.kill();
        }
      },
      error: () => resolve(),
      complete: resolve,
    }),
  );
  return persisted;
}

async function stored(clients: KvsClients, stream: string): Promise<FragmentEvent[]> {
  const list = await listFragments(clients, stream, { range: { start: new Date(0), end: new Date(4e12) } });
  if (list.length === 0) return [];
  const events = await lastValueFrom(mediaForFragments(clients, stream, { fragments: list.map((f) => f.fragmentNumber) }).pipe(toArray()));
  return events.filter((e): e is FragmentEvent => e.type === "fragment");
}

describe("kvs-parser serve", () => {
  it("keeps what PutMedia persisted across kill -9, every fragment whole, numbering going on after it", async () => {
    const data = tempDir();
    const first = await serve(["--data", data, "--credentials", `${credentials.accessKeyId}:${credentials.secretAccessKey}`]);
    let clients = clientsFor(first.endpoint);
    const { StreamARN } = await clients.control.send(new CreateStreamCommand({ StreamName: "cam", DataRetentionInHours: 24 }));
    // Killed in the middle of a real-time upload, right after a PERSISTED.
    const persisted = await upload(clients, "cam", { count: 3, kill: () => first.proc.kill("SIGKILL") });
    expect(persisted.length).toBeGreaterThanOrEqual(3);
    await first.exited;
    clients.destroy();

    const second = await serve(["--data", data, "--credentials", `${credentials.accessKeyId}:${credentials.secretAccessKey}`]);
    clients = clientsFor(second.endpoint);
    expect((await clients.control.send(new DescribeStreamCommand({ StreamName: "cam" }))).StreamInfo?.StreamARN).toBe(StreamARN);
    const kept = await stored(clients, "cam");
    const numbers = kept.map((f) => f.fragmentNumber!);
    for (const n of persisted) expect(numbers).toContain(n); // nothing acknowledged PERSISTED is lost
    for (const f of kept) {
      expect(f.error, f.fragmentNumber!).toBeNull();
      expect(f.complete, f.fragmentNumber!).toBe(true); // and nothing partial is visible
      expect(f.frameCount).toBeGreaterThan(0);
    }
    // New fragments after the restart come after every kept one.
    const more = await upload(clients, "cam");
    expect(more.length).toBeGreaterThan(0);
    for (const n of more) expect(compareFragmentNumbers(n, numbers.at(-1)!)).toBeGreaterThan(0);
    clients.destroy();
    second.proc.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    expect(second.output()).toContain("stopped");
  }, 60_000);

  it("refuses a non-loopback address without credentials, and bad signatures when it has them", async () => {
    const open = spawn(process.execPath, [MAIN, "serve", "--host", "0.0.0.0", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    open.stderr.on("data", (d: Buffer) => (err += d.toString()));
    expect(await new Promise((r) => open.once("exit", r))).toBe(2);
    expect(err).toContain("needs --credentials");
    const s = await serve(["--credentials", `${credentials.accessKeyId}:${credentials.secretAccessKey}`, "--stream", "cam"]);
    const wrong = new KvsClients({ region: "us-east-1", endpoint: s.endpoint, credentials: { ...credentials, secretAccessKey: "nope" }, maxAttempts: 1 });
    await expect(wrong.control.send(new DescribeStreamCommand({ StreamName: "cam" }))).rejects.toMatchObject({ name: "InvalidSignatureException" });
    wrong.destroy();
    s.proc.kill("SIGTERM");
    await s.exited;
  }, 30_000);

  it("retention trims fragments on disk as they pass DataRetentionInHours", async () => {
    const data = tempDir();
    let now = Date.now();
    const kvs = await startLocalKvs({ dataDir: data, now: () => now, streams: { cam: { dataRetentionInHours: 1 } } });
    kvs.putMedia("cam", readFixture("clusters.mkv"));
    const files = () => readdirSync(join(data, "fragments")).flatMap((d) => readdirSync(join(data, "fragments", d)));
    expect(files().length).toBe(8);
    now += 2 * 3_600_000;
    kvs.putMedia("cam", readFixture("clusters.mkv"));
    expect(kvs.fragments("cam").length).toBe(8); // the first 8 arrived 2 h ago: gone, from memory and disk
    const clients = new KvsClients({ region: "us-east-1", endpoint: kvs.endpoint, credentials });
    const list = await listFragments(clients, "cam", { range: { start: new Date(0), end: new Date(4e12) } });
    expect(list.length).toBe(8);
    expect(files().length).toBe(8);
    clients.destroy();
    await kvs.close();
    expect(existsSync(join(data, "streams.json"))).toBe(true);
  });
});
