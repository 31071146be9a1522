import { DescribeStreamCommand, KinesisVideoClient, ListStreamsCommand } from "@aws-sdk/client-kinesis-video";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterEach, describe, expect, it } from "vitest";
import { NodeSha256 } from "../../src/aws/sha256.js";
import { startLocalKvs, type LocalKvs } from "../../src/testing/local-kvs.js";

const good = { accessKeyId: "AKIDGOOD", secretAccessKey: "the-secret" };
let kvs: LocalKvs | undefined;
afterEach(async () => {
  await kvs?.close();
  kvs = undefined;
});

const client = (credentials: { accessKeyId: string; secretAccessKey: string }, extra: Partial<ConstructorParameters<typeof KinesisVideoClient>[0]> = {}) =>
  new KinesisVideoClient({ region: "us-east-1", endpoint: kvs!.endpoint, credentials, maxAttempts: 1, ...extra });

/** A request presigned with the SDK's signer, for `expiresIn` seconds from `signingDate`. */
async function presigned(credentials: typeof good, signingDate: Date, expiresIn: number): Promise<string> {
  const url = new URL(kvs!.endpoint);
  const signer = new SignatureV4({ credentials, region: "us-east-1", service: "kinesisvideo", sha256: NodeSha256 });
  const req = await signer.presign(
    { method: "POST", protocol: "http:", hostname: url.hostname, port: Number(url.port), path: "/listStreams", query: {}, headers: { host: url.host } },
    { signingDate, expiresIn },
  );
  const q = new URLSearchParams(req.query as Record<string, string>).toString();
  return `${kvs!.endpoint}/listStreams?${q}`;
}

describe("the local endpoint checks SigV4 as the service does (sigv4-create-canonical-request)", () => {
  it("accepts the SDK's own signer, header-signed and presigned", async () => {
    kvs = await startLocalKvs({ streams: { cam: {} }, credentials: [good] });
    const c = client(good);
    expect((await c.send(new DescribeStreamCommand({ StreamName: "cam" }))).StreamInfo?.StreamName).toBe("cam");
    c.destroy();
    const res = await fetch(await presigned(good, new Date(), 60), { method: "POST", body: "" });
    expect(res.status).toBe(200);
  });

  it("refuses a wrong secret, an unknown key, a tampered header and a skewed clock with the service's 403s", async () => {
    kvs = await startLocalKvs({ streams: { cam: {} }, credentials: [good] });
    const wrong = client({ accessKeyId: good.accessKeyId, secretAccessKey: "not-it" });
    await expect(wrong.send(new ListStreamsCommand({}))).rejects.toMatchObject({
      name: "InvalidSignatureException",
      $metadata: { httpStatusCode: 403 },
      message: expect.stringContaining("does not match the signature you provided"),
    });
    wrong.destroy();
    const unknown = client({ accessKeyId: "AKIDNOBODY", secretAccessKey: good.secretAccessKey });
    await expect(unknown.send(new ListStreamsCommand({}))).rejects.toMatchObject({ name: "UnrecognizedClientException", $metadata: { httpStatusCode: 403 } });
    unknown.destroy();
    // A header changed after signing (a signed one: x-amz-date moves the time by a second).
    const tampered = client(good);
    tampered.middlewareStack.add(
      (next) => async (args) => {
        const r = args.request as { headers: Record<string, string> };
        r.headers["x-amz-date"] = r.headers["x-amz-date"]!.replace(/(\d)Z$/, (_, d: string) => `${(Number(d) + 1) % 10}Z`);
        return next(args);
      },
      { step: "finalizeRequest", priority: "low" },
    );
    await expect(tampered.send(new ListStreamsCommand({}))).rejects.toMatchObject({ name: "InvalidSignatureException" });
    tampered.destroy();
    const skewed = client(good, { systemClockOffset: -10 * 60_000 });
    await expect(skewed.send(new ListStreamsCommand({}))).rejects.toMatchObject({
      name: "InvalidSignatureException",
      message: expect.stringContaining("Signature expired"),
    });
    skewed.destroy();
    const none = await fetch(`${kvs.endpoint}/listStreams`, { method: "POST", body: "{}" });
    expect(none.status).toBe(403);
    expect(none.headers.get("x-amzn-errortype")).toMatch(/^MissingAuthenticationTokenException/);
  });

  it("refuses a presigned URL past its expiry, and one whose query was changed", async () => {
    kvs = await startLocalKvs({ streams: { cam: {} }, credentials: [good] });
    const old = await fetch(await presigned(good, new Date(Date.now() - 120_000), 60), { method: "POST", body: "" });
    expect(old.status).toBe(403);
    expect(old.headers.get("x-amzn-errortype")).toMatch(/^InvalidSignatureException/);
    expect(((await old.json()) as { message: string }).message).toMatch(/Signature expired/);
    const changed = (await presigned(good, new Date(), 60)).replace("X-Amz-Expires=60", "X-Amz-Expires=600");
    expect((await fetch(changed, { method: "POST", body: "" })).status).toBe(403);
  });

  it('with credentials "any" (the default) accepts any signature', async () => {
    kvs = await startLocalKvs({ streams: { cam: {} } });
    const c = client({ accessKeyId: "whatever", secretAccessKey: "anything" });
    expect((await c.send(new ListStreamsCommand({}))).StreamInfoList?.length).toBe(1);
    c.destroy();
  });
});
