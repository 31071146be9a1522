import { firstValueFrom, lastValueFrom, take, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { KvsClients } from "../../src/aws/clients.js";
import { getMedia } from "../../src/aws/get-media.js";
import { liveMedia } from "../../src/aws/live-media.js";
import { listFragments, mediaForFragments } from "../../src/aws/archive.js";
import { compareFragmentNumbers } from "../../src/kvs/fragment-number.js";
import type { FragmentEvent } from "../../src/kvs/fragment.js";

// The readers against a real Kinesis Video stream, so users can check the library against the service:
//   KVS_TEST_STREAM=my-camera AWS_REGION=eu-west-1 AWS_PROFILE=… npm run test:aws
// The stream should have media in the last KVS_TEST_WINDOW_MIN minutes (default 60); for the live test,
// a producer should be sending to it. Credentials and region come from the SDK's default chain.
const stream = process.env.KVS_TEST_STREAM;
const hasCredentials = Boolean(
  process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE || process.env.AWS_WEB_IDENTITY_TOKEN_FILE || process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
);
const enabled = Boolean(stream && hasCredentials);
if (!enabled) {
  console.warn(
    "test:aws skipped: set KVS_TEST_STREAM (a stream with recent media) and AWS credentials (AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and AWS_REGION to run the readers against the real service.",
  );
}
const windowMs = Number(process.env.KVS_TEST_WINDOW_MIN ?? 60) * 60_000;

describe.skipIf(!enabled)(`the readers against the real stream ${stream}`, () => {
  const clients = new KvsClients();
  const range = { start: new Date(Date.now() - windowMs), end: new Date() };

  it("listFragments returns the window's fragments, sorted by fragment number", async () => {
    const list = await listFragments(clients, stream!, { range });
    expect(list.length).toBeGreaterThan(0);
    for (let i = 1; i < list.length; i++) expect(compareFragmentNumbers(list[i - 1]!.fragmentNumber, list[i]!.fragmentNumber)).toBeLessThan(0);
  });

  it("mediaForFragments returns the listed fragments with their frames and tags", async () => {
    const list = (await listFragments(clients, stream!, { range })).slice(-3);
    const events = await lastValueFrom(mediaForFragments(clients, stream!, { fragments: list.map((f) => f.fragmentNumber) }).pipe(toArray()));
    const frags = events.filter((e): e is FragmentEvent => e.type === "fragment");
    expect(frags.map((f) => f.fragmentNumber)).toEqual(list.map((f) => f.fragmentNumber));
    for (const f of frags) expect(f.frameCount).toBeGreaterThan(0);
  });

  it("getMedia from the window's first fragment delivers fragments with KVS tags and continuation tokens", async () => {
    const [first] = await listFragments(clients, stream!, { range });
    const frags = await firstValueFrom(
      getMedia(clients, stream!, { from: { type: "FRAGMENT_NUMBER", fragmentNumber: first!.fragmentNumber } }).pipe(take(50), toArray()),
    );
    const fragments = frags.filter((e): e is FragmentEvent => e.type === "fragment");
    expect(fragments.length).toBeGreaterThan(0);
    for (const f of fragments) {
      expect(f.continuationToken).not.toBeNull();
      expect(f.serverTimestampMs).not.toBeNull();
    }
  });

  it("liveMedia from NOW delivers new fragments in order while a producer sends (20 s)", async () => {
    const numbers: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const sub = liveMedia(clients, stream!, { from: "NOW", signal: AbortSignal.timeout(20_000) }).subscribe({
        next: (ev) => ev.type === "fragment" && numbers.push(ev.fragmentNumber!),
        error: reject,
        complete: resolve,
      });
      void sub;
    });
    for (let i = 1; i < numbers.length; i++) expect(compareFragmentNumbers(numbers[i - 1]!, numbers[i]!)).toBeLessThan(0);
    if (numbers.length === 0) console.warn(`no new fragment on ${stream} in 20 s: is a producer sending?`);
  });
});
