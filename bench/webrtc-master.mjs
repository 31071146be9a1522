// The masters of the WebRTC bench, in a process of their own: one webrtcMaster per channel, each serving
// the same media (the file's first `seconds`, parsed once up front, so the figures are the masters' own
// work: pacing, packetizing, SRTP, RTCP). Channel i's media times are moved on by i × 200 s, so every
// channel's RTP timestamps are its own. Each source gives its Tracks at once (a master answers an offer
// only once it knows the codecs, as a camera's source does from its first bytes) and its frames after
// { start } (channel i after i × staggerMs), so every viewer, connected beforehand, gets every frame.
// Side channel: werift's RTCRtpSender.dispatchRtp is wrapped to stamp the wall time each video frame's
// last packet (the marker) is handed to a sender, per RTP timestamp (first viewer, last viewer, count),
// and to count every RTP packet handed to the senders.
// Messages in: { init: { endpoint, channels, file, seconds, staggerMs } }, { start } (CPU and RSS from here), { close }.
// Out: { expected } (the source's video and audio frames), { ready } (every master's signaling open),
// { joined: n } per viewer joined, { started }, { done } once every source has ended, { failed }.
import { readFileSync } from "node:fs";
import { concat, defer, from, lastValueFrom, of, switchMap, toArray } from "rxjs";
import { RTCRtpSender } from "werift";
import { KvsClients } from "../dist/aws/index.js";
import { parseMkv } from "../dist/index.js";
import { Frame } from "../dist/matroska/frame.js";
import { webrtcMaster } from "../dist/webrtc/index.js";

const now = () => performance.timeOrigin + performance.now();
const SHIFT_MS = 200_000;

/** RTP timestamp → [first stamp, last stamp, senders] of a video frame's marker packet. */
const stamps = new Map();
const dispatch = RTCRtpSender.prototype.dispatchRtp;
if (typeof dispatch !== "function") throw new Error("werift's RTCRtpSender has no dispatchRtp() to stamp sends in");
let packetsSent = 0;
RTCRtpSender.prototype.dispatchRtp = function (rtp) {
  packetsSent++;
  if (this.kind === "video" && !Buffer.isBuffer(rtp) && rtp.header.marker) {
    const t = now();
    const s = stamps.get(rtp.header.timestamp);
    if (s) {
      s[1] = t;
      s[2]++;
    } else stamps.set(rtp.header.timestamp, [t, t, 1]);
  }
  return dispatch.call(this, rtp);
};

process.on("disconnect", () => process.exit(0));
let subs = [];
let clients = null;
let starters = [];
let cfg = null;
let cpu0 = null;
let wall0 = 0;
let peakRss = 0;
let idleRss = 0;
let sampler = null;
const status = { joined: 0, refused: [], left: [], keyframeRequests: 0, ended: 0, sent: 0, open: 0, errors: [] };

async function init(c) {
  cfg = c;
  const all = await lastValueFrom(parseMkv(new Uint8Array(readFileSync(c.file))).pipe(toArray()));
  const tracks = all.find((e) => e.type === "tracks");
  const frames = all.filter((e) => e.type === "frame");
  const first = Math.min(...frames.map((f) => f.timestampMs));
  const media = frames.filter((f) => f.timestampMs - first < c.seconds * 1000).map((f) => f.copy());
  const video = tracks.tracks.find((t) => t.kind === "video").number;
  const expected = { video: media.filter((f) => f.track === video).length, audio: media.filter((f) => f.track !== video).length };
  clients = new KvsClients({ region: "us-east-1", endpoint: c.endpoint, credentials: { accessKeyId: "a", secretAccessKey: "b" } });
  c.channels.forEach((name, i) => {
    const shifted = media.map(
      (f) =>
        new Frame({
          track: f.track,
          timestampMs: f.timestampMs + i * SHIFT_MS,
          keyframe: f.keyframe,
          data: f.data,
          offset: f.offset,
          durationMs: f.durationMs,
        }),
    );
    const go = new Promise((resolve) => starters.push(resolve));
    const source = concat(of(tracks), defer(() => go).pipe(switchMap(() => from(shifted))));
    subs.push(
      webrtcMaster(clients, name, source, { loopbackOnly: true, stun: false }).subscribe({
        next: (s) => {
          if (s.type === "signaling" && s.state === "open" && ++status.open === c.channels.length) process.send({ ready: true });
          else if (s.type === "viewerJoined") process.send({ joined: ++status.joined });
          else if (s.type === "viewerRefused") status.refused.push(s);
          else if (s.type === "viewerLeft") status.left.push(s);
          else if (s.type === "keyframeRequested") status.keyframeRequests++;
          else if (s.type === "sourceEnded") {
            status.sent += s.frames;
            if (++status.ended === c.channels.length) finish();
          }
        },
        error: (e) => {
          status.errors.push(String(e?.message ?? e));
          process.send({ failed: String(e?.message ?? e) });
        },
      }),
    );
  });
  return expected;
}

function finish() {
  const cpu = process.cpuUsage(cpu0);
  const wallMs = now() - wall0;
  clearInterval(sampler);
  process.send({
    done: {
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs,
      idleRssMB: idleRss / 2 ** 20,
      peakRssMB: Math.max(peakRss, process.memoryUsage().rss) / 2 ** 20,
      status,
      packetsSent,
      stamps: [...stamps],
    },
  });
}

process.on("message", async (m) => {
  if (m.init) process.send({ expected: await init(m.init) });
  if (m.start) {
    idleRss = peakRss = process.memoryUsage().rss;
    sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
    cpu0 = process.cpuUsage();
    wall0 = now();
    for (const [i, go] of starters.entries()) setTimeout(go, i * (cfg.staggerMs ?? 0));
    starters = [];
    process.send({ started: true });
  }
  if (m.close) {
    for (const s of subs) s.unsubscribe();
    subs = [];
    clients?.destroy();
    setTimeout(() => process.exit(0), 200);
  }
});
