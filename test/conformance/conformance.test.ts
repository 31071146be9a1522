/**
 * AWS's own Python clients judge the local KVS endpoint: kvs_conformance.py drives it through boto3 and
 * the AWS CLI and checks every response against botocore's service models and the API reference.
 * One `it` per case of the script; a failing case names what is wrong and where that is documented.
 */
import { findPython, run } from "../helpers/python.js";
import { fileURLToPath } from "node:url";
import { afterAll, assert, beforeAll, describe, expect, it } from "vitest";
import { shiftCluster, splitClusters } from "../../src/kvs/fragment-writer.js";
import { startLocalKvs, type LocalKvs } from "../../src/testing/local-kvs.js";
import { readFixture } from "../helpers/fixtures.js";

const SCRIPT = fileURLToPath(new URL("./kvs_conformance.py", import.meta.url));
/** The whole run: ~100 calls, GetMedia paced at the service's 5 calls/s, ffmpeg for GetImages, the CLI. */
const RUN_TIMEOUT_MS = 240_000;

/** The streams the script expects (its DEFAULT_CONFIG, passed explicitly so both sides agree). */
const CONFIG = {
  h264: "conf-h264",
  h264Tags: { owner: "conformance", camera: "front-door" },
  h264MediaType: "video/h264,audio/aac",
  video: "conf-video",
  many: "conf-many",
  manyMin: 300,
  prefix: "conf-x-",
  prefixed: ["conf-x-1", "conf-x-2", "conf-x-3"],
};
const MANY_FRAGMENTS = 320;

async function hasAwsCli(): Promise<boolean> {
  return (await run("aws", ["--version"], { timeout: 30_000 })).code === 0;
}

interface PlanLine {
  plan: number;
  python: string;
  boto3: string;
  botocore: string;
  cli: boolean;
}
interface CaseLine {
  op: string;
  case: string;
  source: string;
}
interface ResultLine extends CaseLine {
  ok: boolean;
  detail: string;
}

function jsonLines(text: string): unknown[] {
  return text
    .split("\n")
    .filter((l) => l.trim().startsWith("{"))
    .map((l) => JSON.parse(l) as unknown);
}

const python = await findPython();
const cli = await hasAwsCli();
let listed: { plan: PlanLine; cases: CaseLine[] } | null = null;
if (python) {
  const r = await run(python, [SCRIPT, "--list", "--config", JSON.stringify(CONFIG)], { timeout: 60_000 });
  const lines = jsonLines(r.stdout);
  if (r.code === 0 && lines.length > 0) listed = { plan: lines[0] as PlanLine, cases: lines.slice(1) as CaseLine[] };
}
const skipReason = python
  ? null
  : `no Python with boto3 (tried /usr/bin/python3, python3; install python3-boto3)${cli ? "" : " and no aws CLI"}: the conformance suite needs AWS's Python clients`;
if (skipReason) console.warn(`[conformance] skipped: ${skipReason}`);

const key = (c: CaseLine) => `${c.op} :: ${c.case}`;

describe.skipIf(!python)("KVS conformance: botocore and the AWS CLI judge the local endpoint", () => {
  let kvs: LocalKvs;
  let results: ResultLine[] = [];
  let plan: PlanLine | null = null;
  let runInfo = "";

  beforeAll(async () => {
    kvs = await startLocalKvs({
      streams: {
        [CONFIG.h264]: { mkv: readFixture("generated/h264_aac.mkv"), tags: CONFIG.h264Tags },
        [CONFIG.video]: { mkv: readFixture("clusters.mkv") },
        [CONFIG.many]: {},
        ...Object.fromEntries(CONFIG.prefixed.map((n) => [n, {}])),
      },
    });
    // 320 small fragments (MJPEG + PCM, ~46 ms each: the fixture's 21 clusters looped once a second, so
    // every 21st fragment starts at a whole second), producer and server time from an hour ago.
    const clusters = splitClusters(readFixture("generated/mjpeg_pcm.mkv"));
    const period = 1000;
    const base = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
    const looped = Array.from({ length: MANY_FRAGMENTS }, (_, i) =>
      shiftCluster(clusters[i % clusters.length]!, base - clusters[0]!.timestampMs + Math.floor(i / clusters.length) * period),
    );
    kvs.appendClusters(CONFIG.many, looped, { serverStartMs: base });

    const r = await run(python!, [SCRIPT, kvs.endpoint, "--config", JSON.stringify(CONFIG)], {
      timeout: RUN_TIMEOUT_MS,
      env: { ...process.env, AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local", AWS_DEFAULT_REGION: "us-east-1" },
    });
    const lines = jsonLines(r.stdout);
    plan = (lines.find((l) => typeof (l as PlanLine).plan === "number") as PlanLine | undefined) ?? null;
    results = lines.filter((l): l is ResultLine => typeof (l as ResultLine).ok === "boolean");
    runInfo = `exit ${r.code}${r.error && r.code === null ? ` (${r.error.message})` : ""}; stderr: ${r.stderr.slice(-2000)}`;
    const failing = results.filter((x) => !x.ok);
    console.log(
      `[conformance] python ${plan?.python} boto3 ${plan?.boto3} botocore ${plan?.botocore} cli ${plan?.cli}: ${results.length - failing.length}/${results.length} cases ok`,
    );
  }, RUN_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await kvs?.close();
  });

  it("the script ran to the end and reported every case it declares", () => {
    expect(plan, `no plan line from the script; ${runInfo}`).not.toBeNull();
    expect(results.length, `${results.length} results for a plan of ${plan?.plan}; ${runInfo}`).toBeGreaterThanOrEqual(plan!.plan);
    expect(plan!.plan, "fewer cases than listed before the run").toBeGreaterThanOrEqual(listed?.cases.length ?? 0);
    // The operations the brief names all have cases.
    const ops = new Set(results.map((x) => x.op));
    for (const op of [
      "GetDataEndpoint",
      "DescribeStream",
      "ListStreams",
      "ListTagsForStream",
      "TagStream",
      "UntagStream",
      "CreateStream",
      "DeleteStream",
      "UpdateDataRetention",
      "GetMedia",
      "ListFragments",
      "GetMediaForFragmentList",
      "GetClip",
      "GetImages",
      "GetHLSStreamingSessionURL",
      "GetDASHStreamingSessionURL",
      "x-amzn-RequestId",
    ])
      expect(ops.has(op), `no case for ${op}`).toBe(true);
  });

  for (const c of listed?.cases ?? []) {
    it(`${c.op}: ${c.case}`, () => {
      const r = results.find((x) => key(x) === key(c));
      expect(r, `the script reported no result for this case; ${runInfo}`).toBeDefined();
      if (!r!.ok) assert.fail(`${c.op}: ${c.case}\n  source: ${c.source}\n  ${r!.detail}`);
    });
  }

  it.skipIf(listed !== null)("every case conforms (the case list could not be read before the run)", () => {
    const failing = results.filter((x) => !x.ok).map((x) => `${x.op}: ${x.case} [${x.source}]\n    ${x.detail}`);
    expect(failing, failing.join("\n")).toEqual([]);
  });
});
