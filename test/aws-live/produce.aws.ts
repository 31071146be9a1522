import { createHash } from "node:crypto";
import { lastValueFrom, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { archivedMedia } from "../../src/aws/archive.js";
import { KvsClients } from "../../src/aws/clients.js";
import type { Frame } from "../../src/matroska/frame.js";
import { mkvSource } from "../../src/produce/mkv-source.js";
import { type PutMediaEvent, putMedia } from "../../src/produce/put-media.js";
import { parseChunked, readFixture } from "../helpers/fixtures.js";

// PutMedia against the real service (opt-in): puts vogels_480.mkv into a stream and reads it back.
//   KVS_PUT_STREAM=my-test-stream AWS_REGION=eu-west-1 AWS_PROFILE=… npm run test:aws
// The stream must exist and have a data retention above 0 (PERSISTED acknowledgements and the archive).
const stream = process.env.KVS_PUT_STREAM;
const hasCredentials = Boolean(process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE || process.env.AWS_WEB_IDENTITY_TOKEN_FILE);
const enabled = Boolean(stream && hasCredentials);
if (!enabled) console.warn("test:aws produce skipped: set KVS_PUT_STREAM (a stream with retention) and AWS credentials and region.");

describe.skipIf(!enabled)(`putMedia into the real stream ${stream}`, () => {
  it("puts a clip (every fragment PERSISTED), and the archive gives the same frames back", async () => {
    const clients = new KvsClients();
    try {
      const start = Date.now();
      const events: PutMediaEvent[] = await lastValueFrom(
        putMedia(clients, stream!, mkvSource(readFixture("vogels_480.mkv"), { startMs: start })).pipe(toArray()),
      );
      const persisted = events.filter((e) => e.type === "ack" && e.event === "PERSISTED");
      expect(persisted.length).toBeGreaterThan(1);
      await new Promise((r) => setTimeout(r, 5000)); // ListFragments is eventually consistent
      const back = await lastValueFrom(
        archivedMedia(clients, stream!, { range: { start: new Date(start - 1000), end: new Date(start + 120_000), timestampType: "PRODUCER_TIMESTAMP" } }).pipe(
          toArray(),
        ),
      );
      const hash = (f: Frame) => `${f.track}/${createHash("sha1").update(f.data).digest("hex")}`;
      const source = parseChunked(readFixture("vogels_480.mkv")).events.filter((e): e is Frame => e.type === "frame");
      expect(back.filter((e): e is Frame => e.type === "frame").map(hash)).toEqual(source.map(hash));
    } finally {
      clients.destroy();
    }
  });
});
