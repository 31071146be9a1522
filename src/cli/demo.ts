import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { consume, type ConsumerSummary, type Lag } from "../consumer/consume.js";
import { FanOutHub } from "../consumer/fan-out.js";
import { FileCheckpointStore } from "../consumer/file-store.js";
import { FfmpegNotFoundError } from "../decode/ffmpeg.js";
import { ImageDecoder } from "../decode/images.js";
import { splitClusters } from "../kvs/fragment-writer.js";
import type { FragmentWithFrames } from "../rx/with-frames.js";
import { KvsClients } from "../aws/clients.js";
import { startLocalKvs, type StoredFragment } from "../testing/local-kvs.js";
import { startCamera } from "../testing/camera.js";
import { clusterSource } from "../produce/cluster-source.js";
import { putMedia } from "../produce/put-media.js";
import { archivedMedia } from "../aws/archive.js";
import { getClip } from "../aws/clip.js";
import { Recorder, type RecordingFile } from "../record/recorder.js";
import { startViewer, type Viewer } from "./view.js";
import { KvsParserError } from "../ebml/kvs-parser-error.js";

/** Options of the demo. */
export interface DemoOptions {
  write: (line: string) => void;
  /** Directory of the capture files (default: the package's fixtures/). */
  fixturesDir?: string;
  /** Milliseconds between produced fragments (default 100). */
  fragmentIntervalMs?: number;
  /** Seconds to keep the viewer up afterwards, the camera still producing (default 0). */
  holdSeconds?: number;
  /** Stops the demo (its endpoint, apps and viewer released): SIGINT / SIGTERM in the CLI. */
  signal?: AbortSignal;
}

/** What one app of the demo saw. */
interface AppReport {
  name: string;
  handled: string[];
  summaries: ConsumerSummary[];
  lag: Lag | null;
  detail: string;
}

/** The demo's stand-in for a process killed mid-stream. */
class SimulatedCrash extends KvsParserError {
  override readonly name = "SimulatedCrash";
  constructor(message: string) {
    super("SIMULATED_CRASH", message);
  }
}

/**
 * The main job, end to end and offline: a local KVS endpoint fed live from the captures, three
 * independent apps with file checkpoints sharing one GetMedia connection, one of them killed and
 * restarted mid-stream; prints per app what it read, where it resumed, duplicates, gaps and lag.
 */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const { write } = opts;
  // The demo targets the Node 20 machines it ships for; the SDK's notice about Node 22 in 2027 is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const fixtures = opts.fixturesDir ?? fileURLToPath(new URL("../../fixtures/", import.meta.url));
  const interval = opts.fragmentIntervalMs ?? 100;
  const work = mkdtempSync(join(tmpdir(), "kvs-parser-demo-"));
  const kvs = await startLocalKvs({ streams: { "demo-camera": {} }, idleEndMs: 1000 });
  const clients = new KvsClients({ region: "us-east-1", endpoint: kvs.endpoint, credentials: { accessKeyId: "demo", secretAccessKey: "demo" } });
  const hub = new FanOutHub(clients, "demo-camera", { bufferBytes: 4 * 1024 * 1024 });
  const store = new FileCheckpointStore(join(work, "checkpoints"));
  const thumbs = join(work, "keyframes");
  mkdirSync(thumbs, { recursive: true });
  let viewerRef = null as Viewer | null; // set inside run()
  const producing = new AbortController();
  let decoderRef = null as ImageDecoder | null;
  // SIGINT / SIGTERM stop the demo wherever it is (the finally below releases the endpoint and the apps).
  const interrupted = new Promise<number>((resolve) => {
    if (opts.signal?.aborted) resolve(130);
    opts.signal?.addEventListener("abort", () => resolve(130), { once: true });
  });
  const run = async (): Promise<number> => {
    // The plain MKVs clusters.mkv (8 clusters) and vogels_480.mkv (9): 17 fragments, produced live, twice,
    // by a PutMedia producer over HTTP (one upload per clip: each has its own tracks).
    const clips = ["clusters.mkv", "vogels_480.mkv"].map((f) => splitClusters(new Uint8Array(readFileSync(join(fixtures, f)))));
    const uploads = [...clips, ...clips];
    const produced = uploads.flat();
    write(`local KVS endpoint ${kvs.endpoint}, stream demo-camera; a PutMedia producer puts ${produced.length} fragments, one every ${interval} ms`);
    write(`checkpoints in ${join(work, "checkpoints")}`);
    // The viewer: a page on 127.0.0.1 playing the stream live (kvs-parser view), one GetMedia connection.
    const viewer = await startViewer(clients, "demo-camera", { from: "EARLIEST", onError: (e) => write(`viewer: ${e.message}`) });
    write(`viewer: open ${viewer.url} to watch the stream live${opts.holdSeconds ? "" : " (npm run demo -- --hold 60 keeps it up a minute after the report)"}`);
    viewerRef = viewer;
    const watched = watch(`${viewer.url}media`);

    const apps: AppReport[] = [];
    let frames = 0;
    let keyframes = 0;
    let decoder: ImageDecoder | null = null;
    try {
      decoder = new ImageDecoder({ format: "jpeg", keyframesOnly: true, width: 320 });
      decoderRef = decoder;
    } catch (e) {
      if (!(e instanceof FfmpegNotFoundError)) throw e;
      write(`keyframe-thumbnailer: no JPEGs (${e.message})`);
    }
    let crashed = false;

    const counter: AppReport = { name: "frame-counter", handled: [], summaries: [], lag: null, detail: "" };
    const thumbnailer: AppReport = { name: "keyframe-thumbnailer", handled: [], summaries: [], lag: null, detail: "" };
    const logger: AppReport = { name: "metadata-logger", handled: [], summaries: [], lag: null, detail: "" };
    apps.push(counter, thumbnailer, logger);
    const log: string[] = [];

    const handlers: Record<string, (item: FragmentWithFrames) => Promise<void> | void> = {
      [counter.name]: ({ frames: fs }) => {
        frames += fs.length;
      },
      [thumbnailer.name]: async (item) => {
        // Killed once, mid-stream, before it checkpoints its 6th fragment.
        if (!crashed && thumbnailer.handled.length === 5) {
          crashed = true;
          throw new SimulatedCrash("kill -9 (simulated)");
        }
        if (!decoder) return;
        const [first] = await decoder.keyframeImages(item); // one long-lived ffmpeg, one decode per keyframe
        if (first) {
          writeFileSync(join(thumbs, `${item.fragment.fragmentNumber}.jpg`), first.data);
          keyframes++;
        }
      },
      [logger.name]: ({ fragment }) => {
        log.push(`${fragment.fragmentNumber} server=${fragment.serverTimestampMs} producer=${fragment.producerTimestampMs} frames=${fragment.frameCount}`);
      },
    };

    const start = (app: AppReport) => {
      const c = consume(clients, "demo-camera", {
        app: app.name,
        store,
        source: hub.source(),
        from: "EARLIEST",
        handler: async (item) => {
          await handlers[app.name]!(item);
          app.handled.push(item.fragment.fragmentNumber!);
        },
      });
      c.lag$.subscribe((l) => (app.lag = l));
      return c;
    };
    const running = new Map(apps.map((a) => [a.name, start(a)]));

    // Produce live.
    const total = produced.length;
    const producer = (async () => {
      // Camera time: now, going on from clip to clip.
      let at = Date.now();
      let persisted = 0;
      for (const clip of uploads) {
        const span = clip.at(-1)!.timestampMs - clip[0]!.timestampMs + 1000;
        if (producing.signal.aborted) return;
        const upload = putMedia(clients, "demo-camera", clusterSource(clip, { intervalMs: interval, startMs: at, signal: producing.signal }), {
          signal: producing.signal,
        });
        await new Promise<void>((resolve, reject) =>
          upload.subscribe({
            next: (ev) => {
              if (ev.type === "ack" && ev.event === "PERSISTED") persisted++;
            },
            error: reject,
            complete: resolve,
          }),
        );
        at += span;
        await new Promise((r) => setTimeout(r, interval));
      }
      write(`producer: ${persisted} fragments persisted (PutMedia acknowledgements), in ${uploads.length} uploads`);
    })();

    // Restart the thumbnailer when it dies.
    const thumbDone = running.get(thumbnailer.name)!.done.then(
      (s) => s,
      async (e: unknown) => {
        if (!(e instanceof SimulatedCrash)) throw e;
        write(`${thumbnailer.name}: crashed after ${thumbnailer.handled.length} fragments (${e.message}); restarting from its checkpoint`);
        await new Promise((r) => setTimeout(r, 3 * interval));
        const again = start(thumbnailer);
        running.set(thumbnailer.name, again);
        return null;
      },
    );
    await producer;
    await thumbDone;
    const all = kvs.fragments("demo-camera").map((f) => f.fragmentNumber);
    const deadline = performance.now() + 20_000;
    while (performance.now() < deadline && apps.some((a) => new Set(a.handled).size < total)) await new Promise((r) => setTimeout(r, 50));
    for (const a of apps) a.summaries.push(await running.get(a.name)!.stop());
    hub.close();

    counter.detail = `${frames} frames`;
    thumbnailer.detail = `${keyframes} JPEG keyframes in ${thumbs}`;
    decoder?.close();
    logger.detail = `${log.length} lines, last: ${log.at(-1) ?? "-"}`;
    write("");
    write("app                   fragments  resumed from (checkpoint)                          duplicates  gaps  lag (ms behind now)  detail");
    let ok = true;
    for (const a of apps) {
      const seen = new Set(a.handled);
      const duplicates = a.handled.length - seen.size;
      const gaps = all.filter((n) => !seen.has(n)).length;
      ok &&= duplicates === 0 && gaps === 0;
      const resumed = a.summaries.map((s) => s.resumedFrom).find((r) => r !== null) ?? (a === thumbnailer ? "?" : "(none: started fresh)");
      write(
        `${a.name.padEnd(22)}${String(seen.size).padStart(9)}  ${String(resumed).padEnd(50)} ${String(duplicates).padStart(10)}  ${String(gaps).padStart(4)}  ${String(a.lag?.millisBehindNow ?? "-").padStart(19)}  ${a.detail}`,
      );
    }
    write("");
    write(
      `shared GetMedia connections: ${hub.stats.connections}, apps served from the shared connection: ${hub.stats.shared}, own connections: ${hub.stats.ownConnections}; GetMedia calls: ${kvs.stats.requests.getMedia ?? 0}`,
    );
    write(ok ? "every app read every fragment exactly once" : "MISMATCH: see duplicates/gaps above");

    // Record: the archive of the stream as MKV files (merged fragments, a new file where the tracks
    // change), and its first camera's 8 fragments as one MP4 through GetClip.
    const recordings = join(work, "recordings");
    const files = await recordArchive(clients, "demo-camera", kvs.fragments("demo-camera"), recordings);
    write(`record: ${files.map((f) => `${f.path!.slice(recordings.length + 1)} (${f.fragments} fragments, ${f.frames} frames)`).join(", ")} in ${recordings}`);
    const first = kvs.fragments("demo-camera").slice(0, 8);
    const clipPath = join(recordings, "clip.mp4");
    const clip = await getClip(clients, "demo-camera", {
      range: { start: new Date(first[0]!.serverTimestampMs), end: new Date(first.at(-1)!.serverTimestampMs) },
      target: { kind: "file", path: clipPath },
    });
    write(`record: ${clipPath} from GetClip: ${clip.fragments} fragments, ${clip.videoPackets} video frames`);
    const seen = await watched.stop();
    write(`view: the viewer served ${viewer.stats.segments} fMP4 segments live; a test client read ${seen} bytes of them`);
    if (opts.holdSeconds) {
      write(`view: ${viewer.url} stays up ${opts.holdSeconds} s, the camera looping (Ctrl-C to stop)`);
      const camera = startCamera(kvs, "demo-camera", produced.slice(0, 8));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, opts.holdSeconds! * 1000);
        opts.signal?.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      camera.stop();
      await camera.done;
    }
    return ok && files.length > 0 && seen > 0 ? 0 : 1;
  };
  try {
    const running = run();
    running.catch(() => {}); // after an interrupt, the run fails on the closed endpoint: nothing to report
    const code = await Promise.race([running, interrupted]);
    if (opts.signal?.aborted) write("interrupted: stopping the endpoint, the apps and the viewer");
    return code;
  } finally {
    producing.abort();
    decoderRef?.close();
    await viewerRef?.close();
    clients.destroy();
    await kvs.close();
    rmSync(join(work, "checkpoints"), { recursive: true, force: true }); // the keyframe JPEGs stay, to look at
  }
}

/** Records a stream's stored fragments from the archive (GetMediaForFragmentList) to MKV files. */
async function recordArchive(clients: KvsClients, stream: string, fragments: readonly StoredFragment[], dir: string): Promise<RecordingFile[]> {
  const recorder = new Recorder({ dir });
  const range = { start: new Date(fragments[0]!.serverTimestampMs), end: new Date(fragments.at(-1)!.serverTimestampMs) };
  await new Promise<void>((resolve, reject) =>
    archivedMedia(clients, stream, { range, keepBytes: true, gate: recorder.gate }).subscribe({
      next: (ev) => recorder.push(ev),
      error: reject,
      complete: resolve,
    }),
  );
  return recorder.end();
}

/** Reads a URL's body as a browser would, counting bytes, until stop(). */
function watch(url: string): { stop(): Promise<number> } {
  const abort = new AbortController();
  let bytes = 0;
  const reading = (async () => {
    // The viewer ends the response when the tracks change (a new init segment): connect again, as the page does.
    while (!abort.signal.aborted) {
      const res = await fetch(url, { signal: abort.signal });
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
    }
  })().catch(() => {});
  return {
    async stop() {
      abort.abort();
      await reading;
      return bytes;
    },
  };
}
