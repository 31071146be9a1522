import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateSignalingChannelCommand } from "@aws-sdk/client-kinesis-video";
import type { Browser, Page } from "playwright-core";
import { chromiumPath, launchChromium } from "../helpers/chromium.js";
import { from, lastValueFrom, type Subscription, toArray } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { KvsClients } from "../../src/aws/clients.js";
import { images } from "../../src/decode/images.js";
import type { Frame } from "../../src/matroska/frame.js";
import { parseMkv } from "../../src/rx/parse-mkv.js";
import type { StreamEvent } from "../../src/rx/stream-event.js";
import { startLocalKvs, type LocalKvs } from "../../src/testing/local-kvs.js";
import { channelEndpoints, type SignalingRole } from "../../src/webrtc/channel.js";
import { type MasterStatus, webrtcMaster } from "../../src/webrtc/master.js";
import { presignSignalingUrl } from "../../src/webrtc/presign.js";
import { type ViewerStatus, webrtcViewer } from "../../src/webrtc/viewer.js";
import { ffmpeg } from "../helpers/ffmpeg.js";
import { readFixture } from "../helpers/fixtures.js";

const browserPath = chromiumPath;
if (!browserPath) console.warn("SKIPPED: the WebRTC browser interop test needs Chromium (apt-get install chromium, or set CHROMIUM_PATH)");

/** AWS's KVS WebRTC SDK for JavaScript, its browser bundle (window.KVSWebRTC). */
const sdkBundle = join(createRequire(import.meta.url).resolve("amazon-kinesis-video-streams-webrtc/package.json"), "..", "dist", "kvs-webrtc.min.js");
const pageDir = fileURLToPath(new URL("./browser/", import.meta.url));

const creds = { accessKeyId: "AKIDBROWSER", secretAccessKey: "browser-secret" };
const region = "us-east-1";
const loopback = { loopbackOnly: true, stun: false } as const;

let kvs: LocalKvs | undefined;
let server: Server | undefined;
let browser: Browser | undefined;
const cleanup: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) c();
  await browser?.close();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  await kvs?.close();
  browser = server = kvs = undefined;
});

/** What the page keeps (test/webrtc/browser/page.js). */
interface PageState {
  log: string[];
  error: string | null;
}
interface RtpStats {
  type: "inbound-rtp" | "outbound-rtp";
  kind: "video" | "audio";
  mimeType: string | null;
  framesDecoded?: number;
  framesEncoded?: number;
  frameWidth?: number;
  frameHeight?: number;
  packetsReceived?: number;
}
interface KvsTestPage {
  state: PageState;
  startMaster(config: object): Promise<{ video: { width?: number; height?: number } }>;
  startViewer(config: object): Promise<void>;
  stats(): Promise<RtpStats[]>;
}
/** The page's window (what runs in page.evaluate sees only the page's globals). */
type PageWindow = { kvsTest: KvsTestPage };

/** The local endpoint with a signaling channel "cam", and clients for it. */
async function setup(): Promise<KvsClients> {
  kvs = await startLocalKvs({ credentials: [creds] });
  const clients = new KvsClients({ region, endpoint: kvs.endpoint, credentials: creds });
  cleanup.push(() => clients.destroy());
  await clients.control.send(new CreateSignalingChannelCommand({ ChannelName: "cam" }));
  return clients;
}

/** Serves the page and the SDK's bundle on 127.0.0.1. */
async function servePage(): Promise<string> {
  const files: Record<string, [string, string]> = {
    "/": [join(pageDir, "index.html"), "text/html"],
    "/page.js": [join(pageDir, "page.js"), "text/javascript"],
    "/kvs-webrtc.min.js": [sdkBundle, "text/javascript"],
  };
  const s = createServer((req, res) => {
    const f = files[new URL(req.url ?? "/", "http://x").pathname];
    if (!f) return void res.writeHead(req.url === "/favicon.ico" ? 204 : 404).end();
    res.writeHead(200, { "content-type": f[1], "cache-control": "no-store" }).end(readFileSync(f[0]));
  });
  server = s;
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}/`;
}

/** Headless Chromium with a fake camera and microphone, its host candidates on loopback and not hidden behind mDNS names. */
async function openPage(clients: KvsClients): Promise<{ page: Page; logs: string[] }> {
  const url = await servePage();
  browser = await launchChromium([
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
  ]);
  const page = await browser.newPage({ viewport: { width: 640, height: 480 } });
  const logs: string[] = [];
  page.on("console", (m) => logs.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
  const { credentials } = await clients.signing();
  // The SDK's requestSigner: the URL signed in Node, with the local endpoint's credentials.
  await page.exposeFunction("signUrl", (endpoint: string, query: Record<string, string>, date: string | null) =>
    presignSignalingUrl({
      endpoint,
      channelArn: query["X-Amz-ChannelARN"]!,
      role: query["X-Amz-ClientId"] ? "VIEWER" : "MASTER",
      clientId: query["X-Amz-ClientId"],
      credentials,
      region,
      ...(date ? { date: new Date(date) } : {}),
    }),
  );
  await page.goto(url);
  await page.waitForFunction(() => "kvsTest" in window && "KVSWebRTC" in window, undefined, { timeout: 10_000 });
  return { page, logs };
}

async function pageConfig(clients: KvsClients, role: SignalingRole, clientId?: string) {
  const e = await channelEndpoints(clients, "cam", role);
  return { channelArn: e.channelArn, endpoint: e.wss, region, ...(clientId ? { clientId } : {}) };
}

/** The page's log and error, for a failure's message. */
async function pageState(page: Page, logs: readonly string[]): Promise<string> {
  const s = await page.evaluate(() => (window as unknown as PageWindow).kvsTest.state).catch(() => null);
  return JSON.stringify({ page: s, console: logs });
}

/** The mean and standard deviation of a PNG's luma (ffmpeg decodes it). */
function lumaSpread(png: Uint8Array): { mean: number; spread: number } {
  const gray = ffmpeg(["-i", "-", "-f", "rawvideo", "-pix_fmt", "gray", "-"], png);
  const mean = gray.reduce((a, b) => a + b, 0) / gray.length;
  return { mean, spread: Math.sqrt(gray.reduce((a, b) => a + (b - mean) ** 2, 0) / gray.length) };
}

describe.skipIf(!browserPath)("WebRTC with a real browser: headless Chromium on AWS's KVS WebRTC JS SDK", () => {
  it("Chromium as MASTER (fake camera): the Node viewer gets its frames, and images() decodes them at 640x480", { timeout: 45_000 }, async () => {
    const clients = await setup();
    const { page, logs } = await openPage(clients);
    const config = await pageConfig(clients, "MASTER");
    const started = await page.evaluate((c) => (window as unknown as PageWindow).kvsTest.startMaster(c), config);
    expect(started.video).toMatchObject({ width: 640, height: 480 });

    const events: StreamEvent[] = [];
    const status: ViewerStatus[] = [];
    let failed: unknown = null;
    let firstFrameAt = 0;
    let sub: Subscription | undefined;
    const gotFrames = new Promise<void>((resolve) => {
      sub = webrtcViewer(clients, "cam", { ...loopback, clientId: "node-viewer", onStatus: (s) => status.push(s) }).subscribe({
        next: (e) => {
          events.push(e.type === "frame" ? e.copy() : e);
          if (e.type === "frame" && e.track === 1 && firstFrameAt === 0) {
            firstFrameAt = Date.now();
            setTimeout(resolve, 3000); // ~3 s of frames
          }
        },
        error: (e: unknown) => {
          failed = e;
          resolve();
        },
      });
    });
    cleanup.push(() => sub?.unsubscribe());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), 25_000)));
    cleanup.push(() => clearTimeout(timer));
    if ((await Promise.race([gotFrames, timeout])) === "timeout" || failed)
      throw new Error(`no frames from Chromium: ${String(failed)}; viewer ${JSON.stringify(status)}; ${await pageState(page, logs)}`);
    sub?.unsubscribe(); // the viewer closes: the events are all in

    const outbound = (await page.evaluate(() => (window as unknown as PageWindow).kvsTest.stats())).filter(
      (s) => s.type === "outbound-rtp" && s.kind === "video",
    );
    const tracks = events.filter((e) => e.type === "tracks").at(-1); // the last: a track at a time
    expect(tracks?.type === "tracks" && tracks.tracks.find((t) => t.number === 1)?.codecId).toMatch(/^(V_MPEG4\/ISO\/AVC|V_VP8)$/);
    const codecId = tracks?.type === "tracks" ? tracks.tracks.find((t) => t.number === 1)!.codecId : "";
    // The codec Chromium's encoder sent is the one the viewer reports (H.264 when it has OpenH264, else VP8).
    expect(outbound[0]?.mimeType).toBe(codecId === "V_VP8" ? "video/VP8" : "video/H264");
    const video = events.filter((e): e is Frame => e.type === "frame" && e.track === 1);
    expect(video.length).toBeGreaterThan(15); // ~3 s of the fake camera's 30 fps, less what Chromium's encoder skips on a busy machine
    expect(video[0]!.keyframe).toBe(true);
    expect(video.filter((f) => f.keyframe).length).toBeGreaterThanOrEqual(1);
    expect(video.at(-1)!.timestampMs - video[0]!.timestampMs).toBeGreaterThan(2000);
    // The fake microphone's Opus comes through too.
    expect(tracks?.type === "tracks" && tracks.tracks.find((t) => t.number === 2)?.codecId).toBe("A_OPUS");
    expect(events.filter((e) => e.type === "frame" && e.track === 2).length).toBeGreaterThan(20);

    // The library's decoder takes the viewer's events unchanged: every frame decodes, at the camera's size.
    const decoded = await lastValueFrom(from(events).pipe(images({ format: "png" }), toArray()));
    expect(decoded.length).toBeGreaterThan(0);
    expect(decoded.length).toBeGreaterThanOrEqual(video.length - 2);
    expect(decoded[0]).toMatchObject({ width: 640, height: 480, keyframe: true });
    for (const d of decoded) expect(d).toMatchObject({ width: 640, height: 480 });
    expect(lumaSpread(decoded.at(-1)!.data).spread).toBeGreaterThan(10); // the fake camera's picture, not a blank frame
    console.log(
      `Chromium master → Node viewer: ${codecId}, ${video.length} frames (${video.filter((f) => f.keyframe).length} keyframes) in ${
        video.at(-1)!.timestampMs - video[0]!.timestampMs
      } ms, ${decoded.length} decoded at ${decoded[0]!.width}x${decoded[0]!.height}`,
    );
  });

  it("Chromium as VIEWER: it decodes and plays the Node master's H.264 from h264_opus.mkv in a <video>", { timeout: 45_000 }, async () => {
    const clients = await setup();
    const master: MasterStatus[] = [];
    let masterError: unknown = null;
    const m = webrtcMaster(clients, "cam", parseMkv(readFixture("generated/h264_opus.mkv")), loopback).subscribe({
      next: (s) => master.push(s),
      error: (e: unknown) => (masterError = e),
    });
    cleanup.push(() => m.unsubscribe());
    const { page, logs } = await openPage(clients);
    await page.evaluate((c) => (window as unknown as PageWindow).kvsTest.startViewer(c), await pageConfig(clients, "VIEWER", "chromium-viewer"));

    const framesDecoded = async () =>
      (await page.evaluate(() => (window as unknown as PageWindow).kvsTest.stats())).find((s) => s.type === "inbound-rtp" && s.kind === "video")
        ?.framesDecoded ?? 0;
    // Polled from here: page.waitForFunction does not await an async predicate (its Promise counts as true at once).
    const deadline = Date.now() + 20_000;
    while ((await framesDecoded()) <= 10) {
      if (Date.now() > deadline || masterError)
        throw new Error(`Chromium decoded no video: master ${JSON.stringify(master)} ${String(masterError)}; ${await pageState(page, logs)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(masterError).toBeNull();
    expect(master).toContainEqual({ type: "viewerJoined", viewer: "chromium-viewer", viewers: 1 });
    await page.waitForFunction(() => (document.getElementById("video") as HTMLVideoElement).currentTime > 0.5, undefined, { timeout: 10_000 });

    const stats = await page.evaluate(() => (window as unknown as PageWindow).kvsTest.stats());
    const inVideo = stats.find((s) => s.type === "inbound-rtp" && s.kind === "video")!;
    expect(inVideo).toMatchObject({ mimeType: "video/H264", frameWidth: 320, frameHeight: 240 });
    expect(stats.find((s) => s.type === "inbound-rtp" && s.kind === "audio")).toMatchObject({ mimeType: "audio/opus" });
    expect(stats.find((s) => s.type === "inbound-rtp" && s.kind === "audio")!.packetsReceived).toBeGreaterThan(0);
    const size = await page.evaluate(() => {
      const v = document.getElementById("video") as HTMLVideoElement;
      return { width: v.videoWidth, height: v.videoHeight, paused: v.paused };
    });
    expect(size).toEqual({ width: 320, height: 240, paused: false });

    // The picture on the page: a screenshot of the <video>, not a uniform frame.
    const png = await page.locator("#video").screenshot();
    const file = join(tmpdir(), `kvs-webrtc-chromium-viewer-${process.pid}.png`);
    writeFileSync(file, png);
    const { spread } = lumaSpread(png);
    expect(spread).toBeGreaterThan(10);
    expect(new Set(png).size).toBeGreaterThan(200);
    const decodedBefore = await framesDecoded();
    await page.waitForTimeout(500);
    expect(await framesDecoded()).toBeGreaterThan(decodedBefore); // still playing
    console.log(`Node master → Chromium viewer: ${decodedBefore} frames decoded at 320x240, luma spread ${spread.toFixed(1)}, screenshot ${file}`);
  });
});
