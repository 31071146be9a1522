/** The viewer page: plays /media (fMP4) through Media Source Extensions and shows /events (lag, fragment). */
export function viewerPage(stream: string): string {
  const title = stream.replace(/[<>&"]/g, "");
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${title} · kvs-parser view</title>
<style>body{font:14px system-ui,sans-serif;margin:1em;background:#111;color:#ddd}video{max-width:100%;background:#000}#status{white-space:pre}</style>
</head><body>
<h1>${title}</h1>
<video id="video" muted autoplay playsinline></video>
<div id="status">connecting…</div>
<script type="module">
const video = document.getElementById("video");
const status = document.getElementById("status");
const state = { fragment: null, lagMs: null, behindMs: null, segments: 0, error: null };
window.viewer = state;
const show = () => {
  status.textContent = state.error ? "error: " + state.error :
    "fragment " + (state.fragment ?? "-") + "\\nlag " + (state.lagMs ?? "-") + " ms (server time to screen)" +
    "\\nplaying at " + video.currentTime.toFixed(2) + " s, " + state.segments + " segments";
};
setInterval(show, 250);
new EventSource("events").onmessage = (m) => {
  const e = JSON.parse(m.data);
  state.fragment = e.fragmentNumber;
  state.lagMs = e.serverTimestampMs === null ? null : Date.now() - e.serverTimestampMs;
};
async function play() {
  const res = await fetch("info");
  const info = await res.json();
  if (!res.ok) throw new DOMException(info.error || "the server has no media for this stream", "NotFoundError");
  if (!MediaSource.isTypeSupported(info.mimeType)) throw new DOMException("this browser cannot play " + info.mimeType, "NotSupportedError");
  const ms = new MediaSource();
  video.src = URL.createObjectURL(ms);
  await new Promise((r) => ms.addEventListener("sourceopen", r, { once: true }));
  const sb = ms.addSourceBuffer(info.mimeType);
  sb.mode = "segments";
  const queue = [];
  const pump = () => { if (!sb.updating && queue.length) sb.appendBuffer(queue.shift()); };
  let lastEnd = null;
  sb.addEventListener("updateend", () => {
    state.segments++;
    const b = video.buffered;
    if (b.length) {
      const start = b.start(0), end = b.end(b.length - 1);
      // Join at the start of the newest segment (a fragment arrives whole, so one fragment of buffer
      // plays without stalling); fall back to it when more than three segments behind.
      const segment = lastEnd === null ? end - start : Math.max(0.1, end - lastEnd);
      lastEnd = end;
      if (video.currentTime < start || end - video.currentTime > 3 * segment + 1) video.currentTime = Math.max(start, end - segment);
      if (end - start > 60 && !sb.updating) { sb.remove(start, end - 30); return; }
    }
    if (video.paused) video.play().catch(() => {});
    pump();
  });
  const reader = (await fetch("media")).body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    queue.push(value);
    pump();
  }
}
// The server ends the media response when the tracks change: start over with the new init segment.
(async () => {
  for (let i = 0; i < 1000; i++) {
    try { await play(); } catch (e) { state.error = String(e && e.message || e); show(); }
    await new Promise((r) => setTimeout(r, 500));
  }
})();
</script>
</body></html>
`;
}
