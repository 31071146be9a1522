import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ProducerCluster } from "../../src/kvs/fragment-writer.js";
import { KvsParser, type KvsEvent, type KvsParserOptions } from "../../src/kvs/parser.js";

/** Absolute path of a file in fixtures/. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url));
}

const cache = new Map<string, Uint8Array>();

/** The bytes of a fixture (cached; do not mutate). */
export function readFixture(name: string): Uint8Array {
  let bytes = cache.get(name);
  if (!bytes) {
    bytes = new Uint8Array(readFileSync(fixturePath(name)));
    cache.set(name, bytes);
  }
  return bytes;
}

/** A JSON fixture. */
export function readJsonFixture<T>(name: string): T {
  return JSON.parse(readFileSync(fixturePath(name), "utf8")) as T;
}

/** Result of parsing synchronously: the events and the error, if one was thrown. */
export interface Parsed {
  events: KvsEvent[];
  error: unknown;
}

/** Parses `bytes` fed in chunks of the given sizes (cycled), collecting every event. */
export function parseChunked(bytes: Uint8Array, chunkSizes: readonly number[] = [65536], options: KvsParserOptions = {}): Parsed {
  const events: KvsEvent[] = [];
  const parser = new KvsParser((ev) => events.push(ev), options);
  let error: unknown;
  try {
    let i = 0;
    let k = 0;
    while (i < bytes.length) {
      const n = Math.max(1, chunkSizes[k++ % chunkSizes.length]!);
      parser.push(bytes.subarray(i, i + n));
      i += n;
    }
    parser.end();
  } catch (e) {
    error = e;
  }
  return { events, error };
}

/** Events as comparable plain data (frame payloads as hex digests of content, not identity). */
export function normalise(events: readonly KvsEvent[]): unknown[] {
  return events.map((ev) => {
    if (ev.type === "frame")
      return { ...ev.toJSON(), durationMs: ev.durationMs, invisible: ev.invisible, discardable: ev.discardable, data: checksum(ev.data) };
    if (ev.type === "recovered") return { type: ev.type, code: ev.error.code, offset: ev.offset, resumeOffset: ev.resumeOffset };
    if (ev.type === "fragment") return { ...ev, problems: ev.problems.map((p) => [p.code, p.offset]) };
    return ev;
  });
}

/** A cheap content checksum (FNV-1a) with the length. */
export function checksum(data: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  return `${data.length}:${(h >>> 0).toString(16)}`;
}

/** The frames an app keeps from a live reader's events: a `fragmentDiscarded` event voids the frames since the last fragment. */
export function keptFrames<T extends { type: string }>(events: readonly T[]): Extract<T, { type: "frame" }>[] {
  const kept: Extract<T, { type: "frame" }>[] = [];
  let since = 0;
  for (const ev of events) {
    if (ev.type === "frame") kept.push(ev as Extract<T, { type: "frame" }>);
    else if (ev.type === "fragment") since = kept.length;
    else if (ev.type === "fragmentDiscarded") kept.length = since;
  }
  return kept;
}

/** The cluster with a Void element claiming 2^40 bytes written into the middle of its blocks, as stored bytes. */
export function swallowing(c: ProducerCluster): ProducerCluster {
  const at = Math.floor(c.clusterBody.length / 2);
  const voidHeader = Uint8Array.of(0xec, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00);
  const body = new Uint8Array(c.clusterBody.length + voidHeader.length);
  body.set(c.clusterBody.subarray(0, at));
  body.set(voidHeader, at);
  body.set(c.clusterBody.subarray(at), at + voidHeader.length);
  return { ...c, clusterBody: body };
}
