import { type ProducerCluster, shiftCluster, splitClusters } from "../kvs/fragment-writer.js";
import type { LocalKvs } from "./local-kvs.js";

/** Options of {@link startCamera}. */
export interface CameraOptions {
  /** Wall time between fragments (default: the media's own cluster spacing, i.e. real time). */
  readonly intervalMs?: number;
  /** Stop after this many fragments (default: run until stop()). */
  readonly fragments?: number;
}

/** A producer playing a clip in a loop into a local stream. */
export interface Camera {
  /** Fragments put so far. */
  readonly produced: number;
  /** Resolves once it has stopped (after `fragments`, or stop()). */
  readonly done: Promise<void>;
  /** Stops producing. */
  stop(): void;
}

/**
 * Starts a camera on the local endpoint: the clip's clusters are put one fragment at a time, again and
 * again, each loop shifted in time so the stream's timestamps keep increasing, as a live camera's do.
 */
export function startCamera(kvs: LocalKvs, stream: string, clip: Uint8Array | readonly ProducerCluster[], options: CameraOptions = {}): Camera {
  const clusters = clip instanceof Uint8Array ? splitClusters(clip) : clip;
  if (clusters.length === 0) throw new TypeError("startCamera: the clip has no clusters");
  const first = clusters[0]!.timestampMs;
  const last = clusters[clusters.length - 1]!.timestampMs;
  const step = clusters.length > 1 ? (last - first) / (clusters.length - 1) : 1000;
  const period = last - first + step;
  kvs.createStream(stream);
  let produced = 0;
  let stopped = false;
  let wake: (() => void) | null = null;
  const limit = options.fragments ?? Number.POSITIVE_INFINITY;
  const done = (async () => {
    for (let k = 0; !stopped && produced < limit; k++) {
      const c = clusters[k % clusters.length]!;
      const loop = Math.floor(k / clusters.length);
      kvs.appendClusters(stream, [loop === 0 ? c : shiftCluster(c, loop * period)]);
      produced++;
      const next = clusters[(k + 1) % clusters.length]!;
      const gap = options.intervalMs ?? (next.timestampMs > c.timestampMs ? next.timestampMs - c.timestampMs : step);
      if (produced < limit)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, gap);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      wake = null;
    }
  })();
  return {
    get produced() {
      return produced;
    },
    done,
    stop() {
      stopped = true;
      (wake as (() => void) | null)?.();
    },
  };
}
