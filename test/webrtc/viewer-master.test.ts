import { CreateSignalingChannelCommand } from "@aws-sdk/client-kinesis-video";
import { firstValueFrom, lastValueFrom, Subject, type Subscription, takeUntil, timer, toArray } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { KvsClients } from "../../src/aws/clients.js";
import { h264NalType } from "../../src/codec/h264.js";
import { splitLengthPrefixed } from "../../src/codec/nal.js";
import { images } from "../../src/decode/images.js";
import type { Frame } from "../../src/matroska/frame.js";
import { parseMkv } from "../../src/rx/parse-mkv.js";
import type { StreamEvent } from "../../src/rx/stream-event.js";
import { startLocalKvs, type LocalKvs } from "../../src/testing/local-kvs.js";
import { type MasterStatus, webrtcMaster } from "../../src/webrtc/master.js";
import { type ViewerStatus, webrtcViewer } from "../../src/webrtc/viewer.js";

import { readFixture } from "../helpers/fixtures.js";

const FIXTURE = "generated/h264_opus.mkv";
const creds = { accessKeyId: "AKIDWEBRTC", secretAccessKey: "webrtc-secret" };
let kvs: LocalKvs | undefined;
const cleanup: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) c();
  await kvs?.close();
  kvs = undefined;
});

async function setup(): Promise<KvsClients> {
  kvs = await startLocalKvs({ credentials: [creds] });
  const clients = new KvsClients({ region: "us-east-1", endpoint: kvs.endpoint, credentials: creds });
  cleanup.push(() => clients.destroy());
  await clients.control.send(new CreateSignalingChannelCommand({ ChannelName: "cam" }));
  return clients;
}

/** The fixture's frames as the parser gives them (copied). */
async function sourceFrames(): Promise<Frame[]> {
  const all = await lastValueFrom(parseMkv(readFixture(FIXTURE)).pipe(toArray()));
  return all.filter((e): e is Frame => e.type === "frame").map((f) => f.copy());
}

/** The slice NAL units (types 1 and 5) of a length-prefixed H.264 frame: what a decoder decodes, without parameter sets and SEI. */
function slices(data: Uint8Array): string[] {
  return splitLengthPrefixed(data, 4)
    .filter((u) => h264NalType(u) === 1 || h264NalType(u) === 5)
    .map((u) => Buffer.from(u).toString("base64"));
}

const loopback = { loopbackOnly: true, stun: false } as const;

/** Serves the fixture as master and collects a Node viewer's events until the master's source has ended (plus `settleMs`). */
async function serveAndView(
  clients: KvsClients,
  viewerOptions: Parameters<typeof webrtcViewer>[2] = {},
  settleMs = 500,
): Promise<{ events: StreamEvent[]; status: ViewerStatus[]; master: MasterStatus[] }> {
  const master: MasterStatus[] = [];
  const events: StreamEvent[] = [];
  const status: ViewerStatus[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    const m = webrtcMaster(clients, "cam", parseMkv(readFixture(FIXTURE)), loopback).subscribe({
      next: (s) => master.push(s),
      error: reject,
      complete: resolve,
    });
    cleanup.push(() => m.unsubscribe());
  });
  await new Promise((r) => setTimeout(r, 100)); // the master's signaling connection is up
  const sub: Subscription = webrtcViewer(clients, "cam", { ...loopback, ...viewerOptions, onStatus: (s) => status.push(s) }).subscribe({
    next: (e) => events.push(e instanceof Object && e.type === "frame" ? (e as Frame).copy() : e),
  });
  cleanup.push(() => sub.unsubscribe());
  await ended;
  await new Promise((r) => setTimeout(r, settleMs));
  sub.unsubscribe();
  return { events, status, master };
}

describe("Node master → Node viewer over WebRTC, signaled through the local endpoint", () => {
  it("hands the viewer every frame of the source, whole and in order, as the parser's Frame events", { timeout: 30_000 }, async () => {
    const clients = await setup();
    const source = await sourceFrames();
    const { events, master } = await serveAndView(clients);
    expect(master.map((s) => s.type)).toEqual(expect.arrayContaining(["signaling", "viewerJoined", "sourceEnded"]));
    const tracks = events.filter((e) => e.type === "tracks");
    expect(tracks.at(-1)).toMatchObject({
      tracks: [
        { number: 1, codecId: "V_MPEG4/ISO/AVC" },
        { number: 2, codecId: "A_OPUS" },
      ],
    });
    const frames = events.filter((e): e is Frame => e.type === "frame");
    const video = frames.filter((f) => f.track === 1);
    const audio = frames.filter((f) => f.track === 2);
    const srcVideo = source.filter((f) => f.track === 1);
    const srcAudio = source.filter((f) => f.track === 2);
    // Every video frame, its slices byte for byte (the master put SPS/PPS before each IDR; the viewer keeps them).
    expect(video.map((f) => slices(f.data))).toEqual(srcVideo.map((f) => slices(f.data)));
    expect(video.filter((f) => f.keyframe).length).toBe(srcVideo.filter((f) => f.keyframe).length);
    expect(video[0]!.keyframe).toBe(true);
    expect(audio.map((f) => Buffer.from(f.data).toString("base64"))).toEqual(srcAudio.map((f) => Buffer.from(f.data).toString("base64")));
    // Media time from the RTP clock; the producer's time from its Sender Reports (within a second of now).
    expect(video.at(-1)!.timestampMs - video[0]!.timestampMs).toBeCloseTo(srcVideo.at(-1)!.timestampMs - srcVideo[0]!.timestampMs, 0);
    const stamped = frames.filter((f) => f.producerTimestampMs !== null);
    expect(stamped.length).toBeGreaterThan(frames.length / 2);
    for (const f of stamped) expect(Math.abs(f.producerTimestampMs! - Date.now())).toBeLessThan(15_000);
    // Fragments cut before each keyframe, as a KVS producer cuts them.
    const fragments = events.filter((e) => e.type === "fragment");
    expect(fragments.length).toBe(srcVideo.filter((f) => f.keyframe).length);
  });

  it("feeds images() unchanged: ffmpeg decodes the viewer's frames at the source's size", { timeout: 40_000 }, async () => {
    const clients = await setup();
    const status: ViewerStatus[] = [];
    const m = webrtcMaster(clients, "cam", parseMkv(readFixture(FIXTURE)), loopback).subscribe();
    cleanup.push(() => m.unsubscribe());
    // The viewer straight into the decoder, as with any reader: the decoder's demand reaches the viewer.
    const decoded = await lastValueFrom(
      webrtcViewer(clients, "cam", { ...loopback, audio: false, onStatus: (s) => status.push(s) }).pipe(
        takeUntil(timer(6000)),
        images({ format: "png" }),
        toArray(),
      ),
    );
    const slow = status.filter((s) => s.type === "framesDropped").reduce((n, s) => n + (s.type === "framesDropped" ? s.frames : 0), 0);
    expect(decoded.length).toBe(100 - slow);
    expect(decoded.length).toBeGreaterThan(50);
    expect(decoded[0]).toMatchObject({ width: 320, height: 240 });
  });

  it("with 2 % and 10 % of packets lost on the way in, hands out no frame with a packet missing, asks for keyframes and recovers", {
    timeout: 60_000,
  }, async () => {
    const source = await sourceFrames();
    const whole = new Set(source.filter((f) => f.track === 1).map((f) => slices(f.data).join(",")));
    for (const kept of [98, 90]) {
      const clients = await setup();
      // werift's own loss hook drops an inbound SRTP packet when inboundPacketLoss / 100 < Math.random(): 98 drops 2 %.
      const { events, status } = await serveAndView(clients, { audio: false, peer: { debug: { inboundPacketLoss: kept } } }, 800);
      const video = events.filter((e): e is Frame => e.type === "frame" && e.track === 1);
      for (const f of video) expect(whole.has(slices(f.data).join(","))).toBe(true); // each frame is one of the source's, whole
      expect(video.length).toBeGreaterThan(10); // it recovered after losses
      const drops = status.filter((s) => s.type === "framesDropped");
      const lostFrames = drops.reduce((n, s) => n + (s.type === "framesDropped" ? s.frames : 0), 0);
      // NACK recovers most losses; what it cannot is counted, with a keyframe asked for.
      expect(video.length + lostFrames).toBeGreaterThanOrEqual(source.filter((f) => f.track === 1).length - 5);
      if (drops.some((s) => s.type === "framesDropped" && s.reason === "loss")) expect(status.some((s) => s.type === "keyframeRequested")).toBe(true);
      for (const c of cleanup.splice(0).reverse()) c();
      await kvs?.close();
      kvs = undefined;
    }
  });

  it("serves a second viewer that joins later from its first keyframe, and reports who joined and left", { timeout: 30_000 }, async () => {
    const clients = await setup();
    const master: MasterStatus[] = [];
    const m = webrtcMaster(clients, "cam", parseMkv(readFixture(FIXTURE)), loopback).subscribe((s) => master.push(s));
    cleanup.push(() => m.unsubscribe());
    await new Promise((r) => setTimeout(r, 100));
    const a: StreamEvent[] = [];
    const sa = webrtcViewer(clients, "cam", { ...loopback, clientId: "a" }).subscribe((e) => a.push(e));
    cleanup.push(() => sa.unsubscribe());
    await new Promise((r) => setTimeout(r, 1500));
    const first = await firstValueFrom(webrtcViewer(clients, "cam", { ...loopback, clientId: "b", audio: false }));
    expect(first.type).toBe("tracks");
    const b: Frame[] = [];
    const sb = webrtcViewer(clients, "cam", { ...loopback, clientId: "c", audio: false }).subscribe((e) => e.type === "frame" && b.push(e));
    cleanup.push(() => sb.unsubscribe());
    await new Promise((r) => setTimeout(r, 2000));
    expect(b.length).toBeGreaterThan(0);
    expect(b[0]!.keyframe).toBe(true);
    expect(master.filter((s) => s.type === "viewerJoined").map((s) => (s as { viewer: string }).viewer)).toEqual(["a", "b", "c"]);
    // b left (its subscriber took one event): the master saw its data channel close, while the others went on.
    expect(master.find((s) => s.type === "viewerLeft")).toMatchObject({ viewer: "b", reason: expect.stringContaining("data channel") });
  });

  it("carries data-channel messages both ways: the master's to onMessage, the viewer's send() to the master's onMessage", { timeout: 30_000 }, async () => {
    const clients = await setup();
    const toViewers = new Subject<{ viewer?: string; data: string }>();
    const atMaster: string[] = [];
    const m = webrtcMaster(clients, "cam", parseMkv(readFixture(FIXTURE)), {
      ...loopback,
      messages: toViewers,
      onMessage: (msg) => atMaster.push(`${msg.viewer}:${String(msg.data)}`),
    }).subscribe();
    cleanup.push(() => m.unsubscribe());
    await new Promise((r) => setTimeout(r, 100));
    const atViewer: string[] = [];
    let opened!: () => void;
    const open = new Promise<void>((r) => (opened = r));
    const viewer = webrtcViewer(clients, "cam", {
      ...loopback,
      clientId: "v1",
      onMessage: (msg) => atViewer.push(`${msg.label}:${String(msg.data)}`),
      onStatus: (st) => st.type === "dataChannel" && st.state === "open" && opened(),
    });
    const sub = viewer.subscribe();
    cleanup.push(() => sub.unsubscribe());
    await open;
    await new Promise((r) => setTimeout(r, 100)); // the master's side of the channel is announced to it too
    expect(viewer.send("hello master")).toBe(true);
    toViewers.next({ data: "hello viewers" });
    toViewers.next({ viewer: "someone-else", data: "not for v1" });
    for (let i = 0; i < 50 && (atMaster.length === 0 || atViewer.length === 0); i++) await new Promise((r) => setTimeout(r, 50));
    expect(atMaster).toEqual(["v1:hello master"]);
    expect(atViewer).toEqual(["kvsDataChannel:hello viewers"]);
  });

  it("connects again with a new peer connection when the master restarts, its media time going on", { timeout: 40_000 }, async () => {
    const clients = await setup();
    const status: ViewerStatus[] = [];
    const frames: Frame[] = [];
    const sub = webrtcViewer(clients, "cam", {
      ...loopback,
      audio: false,
      onStatus: (s) => status.push(s),
      reconnect: { baseMs: 100, maxMs: 300, maxAttempts: 20 },
    }).subscribe((e) => e.type === "frame" && frames.push(e));
    cleanup.push(() => sub.unsubscribe());
    const serve = () => {
      const m = webrtcMaster(clients, "cam", parseMkv(readFixture(FIXTURE)), loopback).subscribe();
      cleanup.push(() => m.unsubscribe());
      return m;
    };
    let m = serve();
    for (let i = 0; i < 100 && frames.length < 20; i++) await new Promise((r) => setTimeout(r, 50));
    m.unsubscribe(); // the master goes away mid-stream, then comes back
    const before = frames.length;
    await new Promise((r) => setTimeout(r, 300));
    m = serve();
    for (let i = 0; i < 200 && frames.length < before + 20; i++) await new Promise((r) => setTimeout(r, 50));
    expect(status.filter((s) => s.type === "connected").length).toBe(2);
    expect(status.some((s) => s.type === "peerFailed")).toBe(true);
    expect(frames.length).toBeGreaterThanOrEqual(before + 20);
    expect(frames[before]!.keyframe).toBe(true);
    expect(frames[before]!.timestampMs).toBeGreaterThan(frames[before - 1]!.timestampMs); // time goes on across connections
  });

  it("passes VP8 through: the viewer gets every VP8 frame byte for byte (Vorbis audio is left out, and said so)", { timeout: 30_000 }, async () => {
    const clients = await setup();
    const vp8 = "generated/vp8_vorbis.webm";
    const source = (await lastValueFrom(parseMkv(readFixture(vp8)).pipe(toArray()))).filter((e): e is Frame => e.type === "frame" && e.track === 1);
    const master: MasterStatus[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      const m = webrtcMaster(clients, "cam", parseMkv(readFixture(vp8)), loopback).subscribe({ next: (s) => master.push(s), error: reject, complete: resolve });
      cleanup.push(() => m.unsubscribe());
    });
    await new Promise((r) => setTimeout(r, 100));
    const events: StreamEvent[] = [];
    const sub = webrtcViewer(clients, "cam", loopback).subscribe((e) => events.push(e.type === "frame" ? e.copy() : e));
    cleanup.push(() => sub.unsubscribe());
    await ended;
    await new Promise((r) => setTimeout(r, 300));
    expect(master).toContainEqual({ type: "trackLeftOut", track: 2, codecId: "A_VORBIS", reason: "not a codec this master sends" });
    expect(events.find((e) => e.type === "tracks")).toMatchObject({ tracks: [{ number: 1, codecId: "V_VP8" }] });
    const got = events.filter((e): e is Frame => e.type === "frame");
    expect(got.map((f) => Buffer.from(f.data).toString("base64"))).toEqual(source.map((f) => Buffer.from(f.data).toString("base64")));
    expect(got[0]!.keyframe).toBe(true);
  });
});
