import { UsageError, type Command } from "./args.js";

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/** `kvs-parser serve`: the local KVS endpoint as a standalone dev server. */
export const serveCommand: Command = {
  name: "serve",
  summary: "run a local Kinesis Video Streams endpoint (any SDK or the AWS CLI with --endpoint-url)",
  usage: `usage: kvs-parser serve [--port N] [--host ADDR] [--data DIR] [--credentials KEY:SECRET]… [--stream NAME]… [--channel NAME]…

Serves the control plane (CreateStream, DescribeStream, ListStreams, DeleteStream, UpdateDataRetention,
UpdateStream, tags), the data plane (GetDataEndpoint, GetMedia, PutMedia, ListFragments,
GetMediaForFragmentList), archived media (GetClip, GetImages, HLS and DASH sessions) and KVS with WebRTC
(signaling channels, GetIceServerConfig, the signaling WebSocket, storage sessions) on one port, until
Ctrl-C. Point any SDK or the AWS CLI at it: aws --endpoint-url http://127.0.0.1:4567 kinesisvideo list-streams
  --port N              the port (default 4567; 0 picks a free one, printed)
  --host ADDR           the address to bind (default 127.0.0.1); any other needs --credentials
  --data DIR            keep streams and fragments under DIR: a restart (even after kill -9) finds every
                        fragment acknowledged PERSISTED, none partial; retention trims them. Default: in memory
  --credentials K:S     accept requests signed (SigV4) with this key pair, refuse the rest with the service's
                        403s (repeatable; also KVS_LOCAL_CREDENTIALS=K:S,K:S). Without it any signature is
                        accepted, on loopback only
  --stream NAME         create this stream at start if it does not exist (repeatable)
  --channel NAME        create this signaling channel at start (repeatable): kvs-parser webrtc master/view
Faults, for testing clients: POST /_local/fault {"stream":"cam","fault":{"kind":"reset","afterBytes":1000}}
makes the stream's next GetMedia fail so (kinds: reset, stall, http5xx, throttle, slowDrip, truncate,
corrupt, cutBlock, streamError); POST /_local/putFault does the same for its next PutMedia.`,
  options: {
    port: { type: "string" },
    host: { type: "string" },
    data: { type: "string" },
    credentials: { type: "string", multiple: true },
    stream: { type: "string", multiple: true },
    channel: { type: "string", multiple: true },
  },
  async run(values, positionals, io) {
    if (positionals.length > 0) throw new UsageError("serve takes no arguments");
    const port = values.port === undefined ? 4567 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port needs a port number, got ${JSON.stringify(values.port)}`);
    const host = typeof values.host === "string" ? values.host : "127.0.0.1";
    const pairs = [...((values.credentials as string[] | undefined) ?? []), ...(process.env.KVS_LOCAL_CREDENTIALS?.split(",").filter(Boolean) ?? [])];
    const credentials = pairs.map((p) => {
      const i = p.indexOf(":");
      if (i <= 0 || i === p.length - 1) throw new UsageError(`--credentials needs KEY:SECRET, got ${JSON.stringify(p)}`);
      return { accessKeyId: p.slice(0, i), secretAccessKey: p.slice(i + 1) };
    });
    if (!LOOPBACK.has(host) && credentials.length === 0)
      throw new UsageError(`serving on ${host} (not loopback) needs --credentials: the server would otherwise take any request from the network`);
    const { LocalKvs } = await import("../testing/local-kvs.js");
    const streams = Object.fromEntries(((values.stream as string[] | undefined) ?? []).map((s) => [s, {}]));
    const kvs = await new LocalKvs({
      streams,
      dataDir: typeof values.data === "string" ? values.data : undefined,
      credentials: credentials.length > 0 ? credentials : "any",
    }).listen(port, host);
    for (const c of (values.channel as string[] | undefined) ?? []) kvs.signaling.createChannel(c);
    io.out(
      `kvs-parser serve: ${kvs.endpoint} (${typeof values.data === "string" ? `data in ${values.data}` : "in memory"}; ${
        credentials.length > 0 ? `signatures checked for ${credentials.length} key pair${credentials.length > 1 ? "s" : ""}` : "any credentials accepted"
      })`,
    );
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await kvs.close();
    io.out("kvs-parser serve: stopped");
    return 0;
  },
};
