// The GetMedia side of the WebRTC bench's latency table, in a process of its own: one liveMedia reader of
// the stream webrtc-endpoint.mjs appends the same media to (1 s fragments as they complete). Notes per
// frame its track, media time, fragment number and when its event reached the subscriber.
// Messages in: { init: { endpoint, stream } }, { stop }. Out: { ready } (GetMedia connected), { result }.
import { KvsClients, liveMedia } from "../dist/aws/index.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
const now = () => performance.timeOrigin + performance.now();
process.on("disconnect", () => process.exit(0));
let clients = null;
let sub = null;
const frames = [];
let error = null;

process.on("message", (m) => {
  if (m.init) {
    clients = new KvsClients({ region: "us-east-1", endpoint: m.init.endpoint, credentials: { accessKeyId: "a", secretAccessKey: "b" } });
    let ready = false;
    sub = liveMedia(clients, m.init.stream, {
      from: "NOW",
      idleTimeoutMs: 120_000,
      onStatus: (s) => {
        if (s.type === "connected" && !ready) {
          ready = true;
          process.send({ ready: true });
        }
      },
    }).subscribe({
      next: (ev) => {
        if (ev.type === "frame") frames.push([ev.track, ev.timestampMs, ev.fragmentNumber, now()]);
      },
      error: (e) => (error = String(e?.message ?? e)),
    });
  }
  if (m.stop) {
    sub?.unsubscribe();
    clients?.destroy();
    process.send({ result: { frames, error } }, () => setTimeout(() => process.exit(0), 100));
  }
});
