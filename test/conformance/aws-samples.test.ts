import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalKvs, type LocalKvs } from "../../src/testing/local-kvs.js";
import { readFixture } from "../helpers/fixtures.js";
import { findPython, run } from "../helpers/python.js";

// AWS's own Python consumer library (aws-samples/amazon-kinesis-video-streams-consumer-library-for-python,
// unmodified, from a checkout named by KVS_AWS_SAMPLES_DIR) reads a stream from the local endpoint.
const SCRIPT = fileURLToPath(new URL("../../scripts/aws-samples-consumer.py", import.meta.url));
const library = process.env.KVS_AWS_SAMPLES_DIR;
const present = library !== undefined && existsSync(join(library, "amazon_kinesis_video_consumer_library", "kinesis_video_streams_parser.py"));
if (!present) console.warn("[aws-samples] skipped: set KVS_AWS_SAMPLES_DIR to a checkout of the aws-samples Python consumer library");

let kvs: LocalKvs;
let python: string | null = null;
beforeAll(async () => {
  python = present ? await findPython() : null;
  kvs = await startLocalKvs({ streams: { cam: { mkv: readFixture("vogels_480.mkv") } } });
});
afterAll(async () => {
  await kvs?.close();
});

describe.skipIf(!present)("the aws-samples Python consumer library reads the local endpoint", () => {
  it("gets every fragment it can cut (it hands one out when the next begins), with the KVS tags in order", async () => {
    expect(python, "a Python with boto3").not.toBeNull();
    const stored = kvs.fragments("cam");
    const r = await run(python!, [SCRIPT, library!, kvs.endpoint, "cam", String(stored.length - 1)], {
      timeout: 120_000,
      env: { ...process.env, AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" },
    });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, string>);
    const tags = lines.filter((l) => "AWS_KINESISVIDEO_FRAGMENT_NUMBER" in l);
    expect(tags.map((t) => t.AWS_KINESISVIDEO_FRAGMENT_NUMBER)).toEqual(stored.slice(0, tags.length).map((f) => f.fragmentNumber));
    expect(tags.length).toBe(stored.length - 1);
    for (const t of tags) {
      expect(t.AWS_KINESISVIDEO_CONTINUATION_TOKEN).toBe(t.AWS_KINESISVIDEO_FRAGMENT_NUMBER);
      expect(Number(t.AWS_KINESISVIDEO_MILLIS_BEHIND_NOW)).toBeGreaterThanOrEqual(0);
    }
  }, 150_000);
});
