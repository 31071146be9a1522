import { lastValueFrom, toArray } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { getMedia, type StartFrom } from "../../src/aws/get-media.js";
import { KvsServiceError } from "../../src/aws/errors.js";
import { readFixture } from "../helpers/fixtures.js";
import { fragmentNumbers, harness, type Harness } from "../helpers/local-kvs.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("getMedia() over the real SDK client", () => {
  it("starts where each StartSelector says", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("clusters.mkv") } }, idleEndMs: 150, maxCallsPerSecond: 100 });
    const all = h.kvs.fragments("cam");
    const numbers = all.map((f) => f.fragmentNumber);
    const read = (from: StartFrom) => fragmentNumbers(getMedia(h!.clients, "cam", { from }));
    expect(await read("EARLIEST")).toEqual(numbers);
    expect(await read({ type: "FRAGMENT_NUMBER", fragmentNumber: numbers[3]! })).toEqual(numbers.slice(4)); // the reference's reading: after
    expect(await read({ type: "CONTINUATION_TOKEN", token: numbers[3]! })).toEqual(numbers.slice(4));
    expect(await read({ type: "SERVER_TIMESTAMP", timestamp: new Date(all[0]!.serverTimestampMs) })).toEqual(numbers);
    const base = all[0]!.producerTimestampMs; // the fixture's relative cluster times, stamped from the server's start as the service does
    expect(base).toBeGreaterThan(1e12);
    expect(await read({ type: "PRODUCER_TIMESTAMP", timestamp: new Date(base + 5998) })).toEqual(numbers.slice(3));
    // API_dataplane_StartSelector: "starts with the chunk containing the fragment that has the specified timestamp".
    expect(await read({ type: "PRODUCER_TIMESTAMP", timestamp: new Date(base + 5998 + 700) })).toEqual(numbers.slice(3));
    expect(await read({ type: "SERVER_TIMESTAMP", timestamp: new Date(all[2]!.serverTimestampMs + 1) })).toEqual(numbers.slice(2));
    expect(await read("NOW")).toEqual([]);
  });

  it("accepts the stream ARN", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("clusters.mkv") } }, idleEndMs: 100 });
    const arn = h.kvs.streamArn("cam");
    expect(arn).toMatch(/^arn:aws:kinesisvideo:us-east-1:\d{12}:stream\/cam\/\d{13}$/);
    expect((await fragmentNumbers(getMedia(h.clients, arn, { from: "EARLIEST" }))).length).toBe(8);
  });

  it('FRAGMENT_NUMBER read as "at" by the endpoint starts with that fragment', async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("clusters.mkv") } }, idleEndMs: 150, fragmentNumberStart: "at" });
    const numbers = h.kvs.fragments("cam").map((f) => f.fragmentNumber);
    expect(await fragmentNumbers(getMedia(h.clients, "cam", { from: { type: "FRAGMENT_NUMBER", fragmentNumber: numbers[3]! } }))).toEqual(numbers.slice(3));
  });

  it("an error the service reports inside the 200 body is a MEDIA_ERROR with its ERROR_ID (4000: the fragment is gone)", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("clusters.mkv") } }, idleEndMs: 150 });
    const gone = h.kvs.fragments("cam")[0]!.fragmentNumber;
    h.kvs.expire("cam", 2);
    const err = await lastValueFrom(getMedia(h.clients, "cam", { from: { type: "FRAGMENT_NUMBER", fragmentNumber: gone } }).pipe(toArray())).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KvsServiceError);
    expect(err).toMatchObject({ code: "MEDIA_ERROR", errorId: "4000", retryable: false });
    h.kvs.injectFault("cam", { kind: "streamError", id: 4501, code: "KMS key disabled" });
    const kms = await lastValueFrom(getMedia(h.clients, "cam", { from: "EARLIEST" }).pipe(toArray())).catch((e: unknown) => e);
    expect(kms).toMatchObject({ code: "MEDIA_ERROR", errorId: "4501", retryable: false });
    expect((kms as Error).message).toContain("KMS key disabled");
  });

  it("maps service errors to KvsServiceError with retry advice", async () => {
    h = await harness({ streams: { cam: {} } });
    const err = await lastValueFrom(getMedia(h.clients, "missing", { from: "NOW" })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KvsServiceError);
    expect(err).toMatchObject({ code: "RESOURCE_NOT_FOUND", serviceCode: "ResourceNotFoundException", retryable: false, operation: "GetDataEndpoint" });
  });

  it("a reset mid-body errors with a retryable NETWORK_ERROR", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("clusters.mkv") } }, faults: { cam: [{ kind: "reset", afterBytes: 100_000 }] } });
    const err = await lastValueFrom(getMedia(h.clients, "cam", { from: "EARLIEST" }).pipe(toArray())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KvsServiceError);
    expect(err).toMatchObject({ code: "NETWORK_ERROR", serviceCode: undefined, retryable: true });
  });
});
