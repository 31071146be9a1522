import type { ProducerCluster } from "../kvs/fragment-writer.js";

/** A stored fragment. */
export interface StoredFragment {
  readonly fragmentNumber: string;
  readonly serverTimestampMs: number;
  readonly producerTimestampMs: number;
  readonly lengthMs: number;
  /** When this server took the fragment in (retention counts from it; the service's server timestamp). */
  readonly receivedAtMs: number;
  readonly cluster: ProducerCluster;
  /** GetMedia bytes without the closing (MILLIS_BEHIND_NOW / CONTINUATION_TOKEN) tags, which are written per response. */
  readonly sizeBytes: number;
}
