import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { ProducerCluster } from "../kvs/fragment-writer.js";
import type { StoredFragment } from "./stored-fragment.js";

/** A stream's settings as kept on disk. */
export interface StoredStream {
  readonly name: string;
  readonly arn: string;
  readonly createdMs: number;
  readonly tags: Readonly<Record<string, string>>;
  readonly version: string;
  readonly retentionHours: number;
  readonly mediaType: string | null;
  readonly deviceName: string | null;
  readonly kmsKeyId: string;
}

/** The parts of a fragment's bytes, in the order a fragment file holds them. */
const PARTS = ["ebmlHeader", "info", "tracks", "clusterBody", "tags"] as const;

/**
 * The local endpoint's data on disk: `streams.json` (every stream's settings) and one file per fragment
 * under `fragments/<stream>/`. Every file is written whole to a temporary name, flushed, then renamed, so
 * a server killed at any moment leaves each fragment either whole or absent; a fragment is on disk
 * before its PERSISTED acknowledgement goes out.
 */
export class DataDir {
  /** Uses (and creates) `root`. */
  constructor(readonly root: string) {
    mkdirSync(join(root, "fragments"), { recursive: true });
    for (const f of readdirSync(root)) if (f.endsWith(".tmp")) rmSync(join(root, f), { force: true });
  }

  /** The streams, each with its fragments in order (leftover temporary files are removed). */
  load(): { stream: StoredStream; fragments: StoredFragment[] }[] {
    let streams: StoredStream[] = [];
    try {
      streams = JSON.parse(readFileSync(join(this.root, "streams.json"), "utf8")) as StoredStream[];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    return streams.map((stream) => {
      const dir = this.dirOf(stream.arn);
      mkdirSync(dir, { recursive: true });
      const fragments: StoredFragment[] = [];
      for (const f of readdirSync(dir).sort()) {
        if (f.endsWith(".tmp")) rmSync(join(dir, f), { force: true });
        else if (f.endsWith(".fragment")) fragments.push(readFragment(readFileSync(join(dir, f))));
      }
      return { stream, fragments };
    });
  }

  /** Writes every stream's settings. */
  saveStreams(streams: readonly StoredStream[]): void {
    writeWhole(join(this.root, "streams.json"), Buffer.from(JSON.stringify(streams, null, 1)));
  }

  /** Writes one fragment (whole, or not at all). */
  saveFragment(arn: string, f: StoredFragment): void {
    const dir = this.dirOf(arn);
    mkdirSync(dir, { recursive: true });
    writeWhole(join(dir, fileOf(f)), fragmentBytes(f));
  }

  /** Deletes fragments (retention). */
  deleteFragments(arn: string, fragments: readonly StoredFragment[]): void {
    for (const f of fragments) rmSync(join(this.dirOf(arn), fileOf(f)), { force: true });
  }

  /** Deletes a stream's fragments. */
  deleteStream(arn: string): void {
    rmSync(this.dirOf(arn), { recursive: true, force: true });
  }

  private dirOf(arn: string): string {
    return join(this.root, "fragments", createHash("sha256").update(arn).digest("hex").slice(0, 24));
  }
}

/** Fragment files sort in fragment order: numbers of one stream have the same length (47 digits). */
const fileOf = (f: StoredFragment) => `${f.fragmentNumber.padStart(128, "0")}.fragment`;

function writeWhole(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** A fragment file: a 4-byte length, a JSON header (times, part lengths), then the parts' bytes. */
function fragmentBytes(f: StoredFragment): Uint8Array {
  const c = f.cluster;
  const parts = PARTS.map((p) => c[p] ?? new Uint8Array(0));
  const header = Buffer.from(
    JSON.stringify({
      fragmentNumber: f.fragmentNumber,
      serverTimestampMs: f.serverTimestampMs,
      producerTimestampMs: f.producerTimestampMs,
      lengthMs: f.lengthMs,
      receivedAtMs: f.receivedAtMs,
      sizeBytes: f.sizeBytes,
      timestampMs: c.timestampMs,
      timestampScale: c.timestampScale,
      hasTags: c.tags !== undefined,
      lengths: parts.map((p) => p.length),
    }),
  );
  const size = Buffer.alloc(4);
  size.writeUInt32BE(header.length);
  return Buffer.concat([size, header, ...parts]);
}

function readFragment(bytes: Buffer): StoredFragment {
  const n = bytes.readUInt32BE(0);
  const h = JSON.parse(bytes.subarray(4, 4 + n).toString("utf8")) as {
    fragmentNumber: string;
    serverTimestampMs: number;
    producerTimestampMs: number;
    lengthMs: number;
    receivedAtMs?: number;
    sizeBytes: number;
    timestampMs: number;
    timestampScale: number;
    hasTags: boolean;
    lengths: number[];
  };
  let at = 4 + n;
  const part = (i: number) => {
    const p = new Uint8Array(bytes.buffer, bytes.byteOffset + at, h.lengths[i]!);
    at += h.lengths[i]!;
    return p;
  };
  const [ebmlHeader, info, tracks, clusterBody, tags] = PARTS.map((_, i) => part(i)) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  const cluster: ProducerCluster = {
    ebmlHeader,
    info,
    tracks,
    clusterBody,
    timestampMs: h.timestampMs,
    timestampScale: h.timestampScale,
    ...(h.hasTags ? { tags } : {}),
  };
  return {
    fragmentNumber: h.fragmentNumber,
    serverTimestampMs: h.serverTimestampMs,
    producerTimestampMs: h.producerTimestampMs,
    lengthMs: h.lengthMs,
    receivedAtMs: h.receivedAtMs ?? h.serverTimestampMs,
    cluster,
    sizeBytes: h.sizeBytes,
  };
}
