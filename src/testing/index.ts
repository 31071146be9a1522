// kvs-parser/testing: a local KVS-compatible endpoint for tests and demos, and writers of GetMedia-form media.
export {
  LocalKvs,
  startLocalKvs,
  type AppendOptions,
  type Fault,
  type FragmentWritten,
  type LocalKvsOptions,
  type LocalKvsStats,
  type LocalStreamOptions,
  type StoredFragment,
} from "./local-kvs.js";
export type { LocalArchiveLimits } from "./local-archive.js";
export type { PutFault } from "./put-media-ingest.js";
export { verifySigV4, type LocalCredentials, type SignedRequest } from "./sigv4-verify.js";
export { startCamera, type Camera, type CameraOptions } from "./camera.js";
export {
  splitClusters,
  shiftCluster,
  toGetMediaForm,
  writeKvsFragment,
  writeKvsClosingTags,
  syntheticFragmentNumber,
  type ProducerCluster,
  type KvsFragmentTags,
} from "../kvs/fragment-writer.js";
