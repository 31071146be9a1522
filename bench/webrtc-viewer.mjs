// The viewers of the WebRTC bench, in a process of their own: `perChannel` webrtcViewers on each channel,
// all in this one process (one KvsClients). Per viewer: video and audio frames handed out, and per video
// frame the time its Frame reached the subscriber's `next`, against
//   - its producerTimestampMs (the master's wall clock through RTCP Sender Reports; null before the first), and
//   - its RTP timestamp (RtpTrackReader.prototype.frame is wrapped to note it while the frame goes out), for
//     the master's own stamps (the side channel of webrtc-master.mjs);
// and RTP packets pushed into the track readers (RtpTrackReader.prototype.push wrapped; retransmissions too).
// Messages in: { init: { endpoint, channels, perChannel, seconds } }, { start } (CPU and RSS from here), { ended }
// (the masters are done and close their peers: not counted as failures, nor after `seconds` from the start), { stop }.
// Out: { connected: n } per viewer connected, { result }.
import { KvsClients } from "../dist/aws/index.js";
import { webrtcViewer } from "../dist/webrtc/index.js";
import { RtpTrackReader } from "../dist/webrtc/rtp-track.js";

const now = () => performance.timeOrigin + performance.now();
let rtpTimestamp = null;
const frameOut = RtpTrackReader.prototype.frame;
const push = RtpTrackReader.prototype.push;
if (typeof frameOut !== "function" || typeof push !== "function") throw new Error("RtpTrackReader has no frame() or push() to note RTP timestamps in");
RtpTrackReader.prototype.frame = function (packets) {
  const outer = rtpTimestamp;
  rtpTimestamp = packets[0].timestamp >>> 0;
  try {
    return frameOut.call(this, packets);
  } finally {
    rtpTimestamp = outer;
  }
};
let packetsReceived = 0;
RtpTrackReader.prototype.push = function (packet, nowMs) {
  packetsReceived++;
  return push.call(this, packet, nowMs);
};

process.on("disconnect", () => process.exit(0));
const viewers = [];
let clients = null;
let connected = 0;
let cpu0 = null;
let wall0 = 0;
let idleRss = 0;
let peakRss = 0;
let sampler = null;
/** The masters are done (they close their peers then: not a failure), or the media's time (but its last frame) has passed since the start. */
let ended = false;
let mediaMs = Number.POSITIVE_INFINITY;
const started = now();

function init({ endpoint, channels, perChannel, seconds }) {
  mediaMs = seconds * 1000;
  clients = new KvsClients({ region: "us-east-1", endpoint, credentials: { accessKeyId: "a", secretAccessKey: "b" } });
  for (const [c, channel] of channels.entries())
    for (let k = 0; k < perChannel; k++) {
      const v = {
        id: `viewer-${c}-${k}`,
        channel: c,
        video: 0,
        audio: 0,
        keyframes: 0,
        firstIsKeyframe: null,
        unmapped: 0,
        /** Per video frame: [RTP timestamp, handed out at, producerTimestampMs]. */
        frames: [],
        dropped: {},
        peerFailed: 0,
        peerFailedReasons: [],
        keyframeRequests: 0,
        signalingOpenAfterMs: null,
        connectedAfterMs: null,
        error: null,
      };
      viewers.push(v);
      v.sub = webrtcViewer(clients, channel, {
        loopbackOnly: true,
        stun: false,
        clientId: v.id,
        onStatus: (s) => {
          if (s.type === "signaling" && s.state === "open") v.signalingOpenAfterMs ??= now() - started;
          else if (s.type === "connected" && v.connectedAfterMs === null) {
            v.connectedAfterMs = now() - started;
            process.send({ connected: ++connected });
          } else if (s.type === "framesDropped") v.dropped[s.reason] = (v.dropped[s.reason] ?? 0) + s.frames;
          else if (s.type === "peerFailed" && !(ended || (cpu0 !== null && now() - wall0 >= mediaMs - 100))) {
            v.peerFailed++;
            if (v.peerFailedReasons.length < 3) v.peerFailedReasons.push(`${Math.round(now() - started)} ms: ${s.reason}`);
          } else if (s.type === "keyframeRequested") v.keyframeRequests++;
        },
      }).subscribe({
        next: (ev) => {
          if (ev.type !== "frame") return;
          const at = now();
          if (ev.track !== 1) {
            v.audio++;
            return;
          }
          v.video++;
          if (ev.keyframe) v.keyframes++;
          v.firstIsKeyframe ??= ev.keyframe;
          if (ev.producerTimestampMs === null) v.unmapped++;
          v.frames.push([rtpTimestamp, at, ev.producerTimestampMs]);
        },
        error: (e) => (v.error = String(e?.message ?? e)),
      });
    }
}

process.on("message", (m) => {
  if (m.init) init(m.init);
  if (m.start) {
    idleRss = peakRss = process.memoryUsage().rss;
    sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
    cpu0 = process.cpuUsage();
    wall0 = now();
  }
  if (m.ended) ended = true;
  if (m.stop) {
    const cpu = process.cpuUsage(cpu0 ?? undefined);
    clearInterval(sampler);
    const result = {
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs: now() - wall0,
      packetsReceived,
      idleRssMB: idleRss / 2 ** 20,
      peakRssMB: Math.max(peakRss, process.memoryUsage().rss) / 2 ** 20,
      viewers: viewers.map(({ sub, ...v }) => v),
    };
    for (const v of viewers) v.sub.unsubscribe();
    clients?.destroy();
    process.send({ result }, () => setTimeout(() => process.exit(0), 100));
  }
});
