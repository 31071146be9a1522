import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { share } from "rxjs";
import type { KvsClients } from "../aws/clients.js";
import type { StartFrom } from "../aws/get-media.js";
import type { LiveStatus } from "../aws/live-media.js";
import type { Fmp4Part } from "../record/fmp4.js";
import { intOption, UsageError, type Command } from "./args.js";
import { errorLines } from "./errors.js";
import { clientsFor, endpointOf, parseFrom, reportStatus, STREAM_HELP, STREAM_OPTIONS } from "./stream-args.js";
import { viewerPage } from "./view-page.js";
import { asError } from "../ebml/kvs-parser-error.js";

/** How long `view` keeps serving a page that shows the reader's error before it exits. */
const VIEW_ERROR_GRACE_MS = 5000;

/** Bytes a slow viewer may have waiting before it is disconnected. */
const MAX_VIEWER_BACKLOG = 16 * 1024 * 1024;

/** `kvs-parser view`: a page on 127.0.0.1 that plays a live stream (fMP4 through Media Source Extensions). */
export const viewCommand: Command = {
  name: "view",
  summary: "play a live stream in the browser (a page on 127.0.0.1)",
  usage: `usage: kvs-parser view STREAM [--port N] [--from NOW|EARLIEST|FRAGMENT|TIME] [--endpoint URL] [--region R]

Reads STREAM live and serves a page on http://127.0.0.1:PORT/ that plays it: each KVS fragment is
remuxed (not decoded) to a fragmented-MP4 segment and sent to the page's Media Source Extensions
player, which shows the fragment number and the lag from the fragment's server time to the screen.
H.264/H.265 video and AAC/Opus audio. Runs until interrupted.
  --port N         the port (default: a free one; the URL is printed)
${STREAM_HELP}`,
  options: { ...STREAM_OPTIONS, port: { type: "string" } },
  async run(values, positionals, io) {
    if (positionals.length !== 1) throw new UsageError("view takes one STREAM");
    const stream = positionals[0]!;
    const port = values.port === undefined ? 0 : (intOption(values.port, "--port") ?? 0);
    const clients = await clientsFor(values, io);
    let failed: (e: Error) => void = () => {};
    const failure = new Promise<Error>((resolve) => (failed = resolve));
    const viewer = await startViewer(clients, stream, {
      port,
      from: parseFrom(values.from, "NOW"),
      signal: io.signal,
      onError: (e) => failed(e),
      onStatus: reportStatus(io, stream, endpointOf(values)),
    });
    io.out(`viewing ${stream} on ${viewer.url} (Ctrl-C to stop)`);
    const stopped = new Promise<null>((resolve) => {
      if (io.signal.aborted) resolve(null);
      io.signal.addEventListener("abort", () => resolve(null), { once: true });
    });
    // A reader that fails for good (no such stream, no rights) ends the command, after a few seconds in
    // which an open page shows the error too.
    const error = await Promise.race([failure, stopped]);
    if (error) {
      for (const line of errorLines(error)) io.err(line);
      io.err(`(the page at ${viewer.url} shows it for ${VIEW_ERROR_GRACE_MS / 1000} s)`);
      await Promise.race([stopped, new Promise((r) => setTimeout(r, VIEW_ERROR_GRACE_MS))]);
    }
    await viewer.close();
    clients.destroy();
    return error ? 1 : 0;
  },
};

/** Options of {@link startViewer}. */
export interface ViewerOptions {
  readonly port?: number;
  readonly from?: StartFrom;
  readonly signal?: AbortSignal;
  readonly onError?: (e: Error) => void;
  /** The live reader's connection states (connecting, retrying and why). */
  readonly onStatus?: (status: LiveStatus) => void;
}

/** A running viewer: its URL, what it served, and how to stop it. */
export interface Viewer {
  readonly url: string;
  readonly stats: { segments: number; viewers: number; bytes: number };
  close(): Promise<void>;
}

/** Serves the viewer page of a live stream on 127.0.0.1 (what `kvs-parser view` and the demo run). */
export async function startViewer(clients: KvsClients, stream: string, options: ViewerOptions = {}): Promise<Viewer> {
  const { liveMedia } = await import("../aws/live-media.js");
  const { fmp4 } = await import("../record/fmp4.js");
  const parts = liveMedia(clients, stream, { from: options.from ?? "NOW", signal: options.signal, onStatus: options.onStatus }).pipe(fmp4(), share());
  const stats = { segments: 0, viewers: 0, bytes: 0 };
  let init: Extract<Fmp4Part, { type: "init" }> | null = null;
  const waitingForInit = new Set<() => void>();
  const viewers = new Set<ServerResponse>();
  const watchers = new Set<ServerResponse>();
  let failure: unknown = null;
  const sub = parts.subscribe({
    next(p) {
      if (p.type === "init") {
        // A new init (the tracks changed): viewers start over (the page reconnects), then the waiting ones begin.
        for (const v of viewers) v.end();
        viewers.clear();
        init = p;
        for (const w of waitingForInit) w();
        waitingForInit.clear();
        return;
      }
      stats.segments++;
      for (const v of viewers) {
        if (v.writableLength > MAX_VIEWER_BACKLOG) {
          v.destroy(); // too slow to keep up: it reconnects at the live edge
          viewers.delete(v);
        } else {
          v.write(p.bytes);
          stats.bytes += p.bytes.length;
        }
      }
      const event = `data: ${JSON.stringify({ fragmentNumber: p.fragmentNumber, serverTimestampMs: p.serverTimestampMs, producerTimestampMs: p.producerTimestampMs, frames: p.frames })}\n\n`;
      for (const w of watchers) w.write(event);
    },
    error(e: unknown) {
      failure = e;
      options.onError?.(asError(e));
      for (const w of waitingForInit) w();
    },
  });
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(viewerPage(stream));
    } else if (path === "/info" || path === "/media") {
      const answer = () => {
        if (!init) {
          res.writeHead(503, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: failure instanceof Error ? failure.message : "no media" }));
        } else if (path === "/info") {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ mimeType: init.mimeType, stream }));
        } else {
          res.writeHead(200, { "content-type": "video/mp4", "cache-control": "no-store" });
          res.write(init.bytes);
          viewers.add(res);
          stats.viewers++;
          res.on("close", () => viewers.delete(res));
        }
      };
      if (init || failure) answer();
      else waitingForInit.add(answer);
    } else if (path === "/events") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
      res.write(": kvs-parser view\n\n");
      watchers.add(res);
      res.on("close", () => watchers.delete(res));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    stats,
    async close() {
      sub.unsubscribe();
      for (const r of [...viewers, ...watchers]) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
