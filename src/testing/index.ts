// kvs-parser/testing: a local KVS-compatible endpoint for tests and demos.
export { LocalKvs, startLocalKvs, type Fault, type FragmentWritten, type LocalKvsOptions, type LocalKvsStats, type LocalStreamOptions, type StoredFragment } from "./local-kvs.js";
