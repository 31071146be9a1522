import { ID } from "../ebml/schema.js";
import { concatBytes, element, unknownSizeHeader } from "../ebml/writer.js";
import { type ProducerCluster, shiftCluster } from "../kvs/fragment-writer.js";
import type { PutMediaSource } from "./put-media.js";

/** Options of {@link clusterSource}. */
export interface ClusterSourceOptions {
  /** Wall time between fragments (default: none, as fast as they are taken). */
  readonly intervalMs?: number;
  /** The first cluster's timecode (ms, ABSOLUTE: epoch ms); the others keep their spacing (default: as they are). */
  readonly startMs?: number;
  /** Stops handing out fragments. */
  readonly signal?: AbortSignal;
}

/**
 * An upload of clusters already cut (splitClusters of a producer MKV), one fragment each, sent as they
 * are, moved in time so the first starts at `startMs`: a recorded clip played as a camera. The clusters
 * share one EBML header, Info and Tracks (the first one's).
 */
export function clusterSource(clusters: readonly ProducerCluster[], options: ClusterSourceOptions = {}): PutMediaSource {
  if (clusters.length === 0) throw new TypeError("clusterSource: no clusters");
  const first = clusters[0]!;
  const shift = options.startMs === undefined ? 0 : options.startMs - first.timestampMs;
  return {
    header: () => concatBytes([first.ebmlHeader, unknownSizeHeader(ID.Segment), first.info, first.tracks]),
    fragments: (async function* () {
      for (let i = 0; i < clusters.length && !options.signal?.aborted; i++) {
        const c = shift === 0 ? clusters[i]! : shiftCluster(clusters[i]!, shift);
        const next = clusters[i + 1];
        yield {
          timecodeMs: Math.round((c.timestampMs * 1_000_000) / c.timestampScale),
          bytes: element(ID.Cluster, c.clusterBody),
          frames: 0,
          durationMs: next ? next.timestampMs - clusters[i]!.timestampMs : 0,
          keyframe: true,
        };
        if (options.intervalMs && i + 1 < clusters.length) await new Promise((r) => setTimeout(r, options.intervalMs));
      }
    })(),
  };
}
