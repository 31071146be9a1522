import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { GetImagesCommand, type GetImagesCommandOutput } from "@aws-sdk/client-kinesis-video-archived-media";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { dashStreamingSessionUrl, hlsStreamingSessionUrl } from "../../src/aws/streaming-session.js";
import { splitClusters } from "../../src/kvs/fragment-writer.js";
import type { StoredFragment } from "../../src/testing/stored-fragment.js";
import { ffmpegPath } from "../helpers/ffmpeg.js";
import { fixturePath, readFixture } from "../helpers/fixtures.js";
import { type Harness, harness } from "../helpers/local-kvs.js";

// Every child process here is async (execFile): a synchronous one would starve the local server in this process.
const run = promisify(execFile);
const FIXTURE = "generated/h264_aac.mkv"; // H.264 (with B-frames) 320x240 + AAC, 2 s in 2 fragments

let h: Harness | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The stream "cam" holding the fixture, stored a minute ago (inside any retention). */
async function stored(): Promise<{ h: Harness; fragments: StoredFragment[]; range: { start: Date; end: Date } }> {
  h = await harness();
  h.kvs.createStream("cam");
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  const fragments = h.kvs.appendClusters("cam", splitClusters(readFixture(FIXTURE)), { serverStartMs: t0 });
  return { h, fragments, range: { start: new Date(t0), end: new Date(fragments.at(-1)!.serverTimestampMs) } };
}

/** The live child processes of this process (pid and command name), from /proc. */
function children(): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    const close = stat.lastIndexOf(")");
    const ppid = Number(stat.slice(close + 2).split(" ")[1]);
    if (ppid === process.pid) out.push({ pid: Number(name), comm: stat.slice(stat.indexOf("(") + 1, close) });
  }
  return out;
}

/** Waits (at most `ms`) until this process has no child process left; returns those still there. */
async function noChildrenWithin(ms: number): Promise<{ pid: number; comm: string }[]> {
  const until = Date.now() + ms;
  for (;;) {
    const left = children();
    if (left.length === 0 || Date.now() > until) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Width and height of a PNG, from its IHDR; throws unless the bytes start with the PNG signature and IHDR. */
function pngSize(png: Uint8Array): { width: number; height: number } {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(Buffer.from(png.subarray(12, 16)).toString("latin1")).toBe("IHDR");
  const v = new DataView(png.buffer, png.byteOffset, png.length);
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

/** What ffmpeg reads of one stream (`map`) of an input, decoded: one framecrc line per frame; stderr must stay empty. */
async function decodedFrames(input: string, map: string): Promise<string[]> {
  const { stdout, stderr } = await run(ffmpegPath, ["-hide_banner", "-v", "error", "-i", input, "-map", map, "-vsync", "0", "-f", "framecrc", "-"], {
    timeout: 30_000,
    maxBuffer: 1 << 26,
  });
  expect(stderr).toBe("");
  return stdout
    .split("\n")
    .filter((l) => /^\d+,/.test(l))
    .map((l) => l.split(",").at(-1)!.trim());
}

describe("GetImages through the SDK's GetImagesCommand", () => {
  it("PNG and JPEG answer with whole images of the asked size, and no ffmpeg is left behind (success, error, client gone)", async () => {
    const { h, range } = await stored();
    const client = h.clients.archivedClient(h.kvs.endpoint);
    const ask = (Format: "PNG" | "JPEG", more: { WidthPixels?: number; SamplingInterval?: number } = {}, abortSignal = AbortSignal.timeout(20_000)) =>
      client.send(
        new GetImagesCommand({
          StreamName: "cam",
          ImageSelectorType: "SERVER_TIMESTAMP",
          StartTimestamp: range.start,
          EndTimestamp: new Date(range.start.getTime() + 1999),
          SamplingInterval: 500,
          Format,
          ...more,
        }),
        { abortSignal },
      );
    const contents = (out: GetImagesCommandOutput) => (out.Images ?? []).map((i) => Buffer.from(i.ImageContent ?? "", "base64"));

    const png = await ask("PNG");
    expect(png.Images?.map((i) => i.TimeStamp?.getTime())).toEqual([0, 500, 1000, 1500].map((d) => range.start.getTime() + d));
    expect(png.Images?.every((i) => i.Error === undefined)).toBe(true);
    for (const img of contents(png)) expect(pngSize(img)).toEqual({ width: 320, height: 240 });
    expect(await noChildrenWithin(5000)).toEqual([]);

    const scaled = await ask("PNG", { WidthPixels: 160 });
    for (const img of contents(scaled)) expect(pngSize(img)).toEqual({ width: 160, height: 120 });
    const jpeg = await ask("JPEG");
    for (const img of contents(jpeg)) expect([img[0], img[1], img.at(-2), img.at(-1)]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
    expect(await noChildrenWithin(5000)).toEqual([]);

    // Error: the decoder dies at once (an "ffmpeg" that exits 1): every image is MEDIA_ERROR, the call still answers.
    const dir = mkdtempSync(join(tmpdir(), "kvs-images-"));
    dirs.push(dir);
    const failing = join(dir, "ffmpeg");
    writeFileSync(failing, "#!/bin/sh\nexit 1\n");
    chmodSync(failing, 0o755);
    const saved = process.env.FFMPEG_PATH;
    process.env.FFMPEG_PATH = failing;
    try {
      const broken = await ask("PNG");
      expect(broken.Images?.map((i) => i.Error)).toEqual(["MEDIA_ERROR", "MEDIA_ERROR", "MEDIA_ERROR", "MEDIA_ERROR"]);
    } finally {
      if (saved === undefined) delete process.env.FFMPEG_PATH;
      else process.env.FFMPEG_PATH = saved;
    }
    expect(await noChildrenWithin(5000)).toEqual([]);

    // Client gone: the caller gives up while the page is being decoded, as soon as its decoder runs (a
    // fixed delay raced the decode: on a busy machine the answer could come before the delay ran out).
    const giveUp = new AbortController();
    const watch = (async () => {
      for (let i = 0; i < 2000 && !giveUp.signal.aborted; i++) {
        if (children().length > 0) giveUp.abort();
        else await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const gone = await ask("PNG", { SamplingInterval: 200 }, giveUp.signal).catch((e: unknown) => e);
    giveUp.abort();
    await watch;
    expect(gone).toBeInstanceOf(Error);
    expect(await noChildrenWithin(10_000)).toEqual([]);
    // The endpoint still answers afterwards.
    expect(contents(await ask("PNG")).map(pngSize)).toHaveLength(4);
    expect(await noChildrenWithin(5000)).toEqual([]);
  }, 60_000);
});

/** The boxes directly inside `b` (type and body). */
function boxes(b: Uint8Array): { type: string; body: Uint8Array }[] {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const out: { type: string; body: Uint8Array }[] = [];
  for (let p = 0; p + 8 <= b.length; ) {
    const size = v.getUint32(p);
    if (size < 8) break;
    out.push({ type: Buffer.from(b.subarray(p + 4, p + 8)).toString("latin1"), body: b.subarray(p + 8, p + size) });
    p += size;
  }
  return out;
}
const child = (b: Uint8Array, type: string) => boxes(b).filter((x) => x.type === type);

/** The handler types of an init segment's tracks ("vide", "soun"). */
function initHandlers(init: Uint8Array): string[] {
  const moov = child(init, "moov")[0]!.body;
  return child(moov, "trak").map((t) => {
    const hdlr = child(child(t.body, "mdia")[0]!.body, "hdlr")[0]!.body;
    return Buffer.from(hdlr.subarray(8, 12)).toString("latin1");
  });
}

/** A media segment's decode start (tfdt) and its track count (trafs). */
function segmentStart(seg: Uint8Array): { tfdt: number; trafs: number } {
  const trafs = child(child(seg, "moof")[0]!.body, "traf");
  const tfdt = child(trafs[0]!.body, "tfdt")[0]!.body;
  const v = new DataView(tfdt.buffer, tfdt.byteOffset, tfdt.length);
  return { tfdt: tfdt[0] === 1 ? Number(v.getBigUint64(4)) : v.getUint32(4), trafs: trafs.length };
}

const bytesOf = async (url: URL) => {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
};
const xmlText = (s: string) => s.replace(/&amp;/g, "&");

describe("HLS and DASH sessions give each track its own playlist / AdaptationSet", () => {
  it("DASH: one AdaptationSet per track, each with its own init and media segments and a SegmentTimeline without overlap or gap", async () => {
    const { h, fragments, range } = await stored();
    const url = await dashStreamingSessionUrl(h.clients, "cam", { playbackMode: "ON_DEMAND", range });
    const mpd = await (await fetch(url)).text();
    const sets = [...mpd.matchAll(/<AdaptationSet [^>]*>[\s\S]*?<\/AdaptationSet>/g)].map((m) => m[0]);
    expect(sets).toHaveLength(2);
    const kinds: string[] = [];
    for (const set of sets) {
      const mime = /mimeType="([^"]+)"/.exec(set)![1]!;
      const codecs = /codecs="([^"]+)"/.exec(set)![1]!;
      kinds.push(mime);
      expect(codecs.split(",")).toHaveLength(1);
      expect(codecs).toMatch(mime === "video/mp4" ? /^avc1\.[0-9a-f]{6}$/ : /^mp4a\.40\.2$/);
      const template = /<SegmentTemplate ([^>]*)>/.exec(set)![1]!;
      const init = await bytesOf(new URL(xmlText(/initialization="([^"]+)"/.exec(template)![1]!), url));
      expect(initHandlers(init)).toEqual([mime === "video/mp4" ? "vide" : "soun"]);
      const media = xmlText(/media="([^"]+)"/.exec(template)![1]!);
      const startNumber = Number(/startNumber="(\d+)"/.exec(template)![1]);
      const timeline = [...set.matchAll(/<S t="(\d+)" d="(\d+)"\/>/g)].map((m) => ({ t: Number(m[1]), d: Number(m[2]) }));
      expect(timeline).toHaveLength(fragments.length);
      for (let i = 0; i < timeline.length; i++) {
        expect(timeline[i]!.d).toBeGreaterThan(0);
        if (i > 0) expect(timeline[i]!.t).toBe(timeline[i - 1]!.t + timeline[i - 1]!.d);
        // Each entry starts where its segment's samples start, and the segment holds this track alone.
        const seg = await bytesOf(new URL(media.replace("$Number$", String(startNumber + i)), url));
        expect(segmentStart(seg)).toEqual({ tfdt: timeline[i]!.t, trafs: 1 });
      }
    }
    expect(kinds.sort()).toEqual(["audio/mp4", "video/mp4"]);
  }, 60_000);

  it("HLS: the master playlist names the audio playlist as an EXT-X-MEDIA rendition of the video variant", async () => {
    const { h, fragments, range } = await stored();
    const url = await hlsStreamingSessionUrl(h.clients, "cam", { playbackMode: "ON_DEMAND", range });
    const master = await (await fetch(url)).text();
    const media = /^#EXT-X-MEDIA:(.*)$/m.exec(master)?.[1] ?? "";
    expect(media).toMatch(/(^|,)TYPE=AUDIO(,|$)/);
    const group = /GROUP-ID="([^"]+)"/.exec(media)?.[1];
    const audioUri = /URI="([^"]+)"/.exec(media)?.[1];
    expect(group).toBeTruthy();
    expect(audioUri).toMatch(/^getHLSMediaPlaylist\.m3u8\?/);
    const lines = master.trim().split("\n");
    const inf = lines.findIndex((l) => l.startsWith("#EXT-X-STREAM-INF:"));
    expect(lines.filter((l) => l.startsWith("#EXT-X-STREAM-INF:"))).toHaveLength(1);
    expect(lines[inf]).toContain(`AUDIO="${group}"`);
    expect(lines[inf]).toMatch(/CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
    expect(lines[inf]).toContain("RESOLUTION=320x240");
    const videoUri = lines[inf + 1]!;
    expect(videoUri).not.toBe(audioUri);
    const handlers: string[][] = [];
    for (const uri of [videoUri, audioUri!]) {
      const playlistUrl = new URL(uri, url);
      const playlist = await (await fetch(playlistUrl)).text();
      expect(playlist.match(/#EXTINF/g)).toHaveLength(fragments.length);
      expect(playlist.trim().endsWith("#EXT-X-ENDLIST")).toBe(true);
      const init = await bytesOf(new URL(/#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)![1]!, playlistUrl));
      handlers.push(initHandlers(init));
      for (const seg of playlist.split("\n").filter((l) => l.startsWith("getMP4MediaFragment"))) {
        expect(segmentStart(await bytesOf(new URL(seg, playlistUrl))).trafs).toBe(1);
      }
    }
    expect(handlers).toEqual([["vide"], ["soun"]]);
  }, 60_000);
});

describe("ffmpeg plays the sessions whole", () => {
  it("ON_DEMAND HLS and DASH: every frame of every track decodes, without a decoder error, and equals the fixture's own decode", async () => {
    // What the fixture holds, counted by ffmpeg on the file itself (not through the endpoint).
    const video = await decodedFrames(fixturePath(FIXTURE), "0:v:0");
    const audio = await decodedFrames(fixturePath(FIXTURE), "0:a:0");
    expect([video.length, audio.length]).toEqual([50, 95]);
    const { h, range } = await stored();
    for (const url of [
      await hlsStreamingSessionUrl(h.clients, "cam", { playbackMode: "ON_DEMAND", range }),
      await dashStreamingSessionUrl(h.clients, "cam", { playbackMode: "ON_DEMAND", range }),
    ]) {
      // Both tracks at once: no decoder error (AAC frames fed to the H.264 decoder, say).
      const { stderr } = await run(ffmpegPath, ["-hide_banner", "-v", "error", "-i", url, "-map", "0", "-f", "null", "-"], { timeout: 30_000 });
      expect(stderr).toBe("");
      // Each track on its own (ffmpeg's DASH reader stops all streams at the first one's end, so counts are per track):
      // every frame, and the video frames' pixels are the fixture's.
      expect(await decodedFrames(url, "0:v:0")).toEqual(video);
      expect(await decodedFrames(url, "0:a:0")).toHaveLength(audio.length);
    }
  }, 90_000);
});
