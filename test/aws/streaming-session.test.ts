import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { dashStreamingSessionUrl, hlsStreamingSessionUrl } from "../../src/aws/streaming-session.js";
import { KvsServiceError } from "../../src/aws/errors.js";
import { splitClusters } from "../../src/kvs/fragment-writer.js";
import { type Camera, startCamera } from "../../src/testing/camera.js";
import { ffmpegPath } from "../helpers/ffmpeg.js";
import { readFixture } from "../helpers/fixtures.js";
import { type Harness, harness } from "../helpers/local-kvs.js";

let h: Harness | undefined;
let camera: Camera | undefined;
afterEach(async () => {
  camera?.stop();
  await camera?.done;
  camera = undefined;
  await h?.close();
  h = undefined;
});

const run = promisify(execFile);
/** Video packets ffmpeg reads from a URL without decoding (at most `limit` s of it). */
async function packetsFrom(url: string, format?: string, limit = 30): Promise<string[]> {
  const { stdout } = await run(
    ffmpegPath,
    [
      "-hide_banner",
      "-loglevel",
      "error",
      ...(format ? ["-f", format] : []),
      "-i",
      url,
      "-t",
      String(limit),
      "-map",
      "0:v:0",
      "-c",
      "copy",
      "-f",
      "framecrc",
      "-",
    ],
    {
      timeout: 30_000,
      maxBuffer: 1 << 26,
    },
  );
  return stdout.split("\n").filter((l) => /^0,/.test(l));
}

describe("HLS and DASH streaming sessions", () => {
  it("a LIVE HLS URL serves a playlist of fMP4 segments that moves with the stream and that ffmpeg plays", async () => {
    h = await harness();
    camera = startCamera(h.kvs, "cam", readFixture("clusters.mkv"), { intervalMs: 150 });
    while (camera.produced < 6) await new Promise((r) => setTimeout(r, 50));
    const url = await hlsStreamingSessionUrl(h.clients, "cam", { maxFragments: 3 });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/hls\/v1\/getHLSMasterPlaylist\.m3u8\?SessionToken=/);
    const master = await (await fetch(url)).text();
    expect(master).toMatch(/#EXT-X-STREAM-INF:BANDWIDTH=\d+,CODECS="avc1\.[0-9a-f]{6}",RESOLUTION=640x480/);
    const mediaUrl = new URL(master.trim().split("\n").at(-1)!, url).toString();
    const first = await (await fetch(mediaUrl)).text();
    expect(first).toContain('#EXT-X-MAP:URI="getMP4InitFragment.mp4?');
    expect(first).not.toContain("#EXT-X-ENDLIST");
    expect(first.match(/#EXTINF/g)).toHaveLength(3);
    const seq = (p: string) => Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(p)![1]);
    await new Promise((r) => setTimeout(r, 500));
    // Hold the stream still, so the playlist and the stored fragments are read at the same point.
    camera.stop();
    await camera.done;
    const later = await (await fetch(mediaUrl)).text();
    expect(seq(later)).toBeGreaterThan(seq(first));
    const numbers = [...later.matchAll(/FragmentNumber=(\d+)/g)].map((m) => m[1]);
    expect(numbers).toEqual(
      h.kvs
        .fragments("cam")
        .slice(-3)
        .map((f) => f.fragmentNumber),
    );
    const packets = await packetsFrom(url, undefined, 2);
    expect(packets.length).toBeGreaterThan(20);
  }, 60_000);

  it("an ON_DEMAND HLS session holds the range, ends, and ffmpeg reads every frame of it", async () => {
    h = await harness();
    h.kvs.createStream("cam");
    const t0 = Date.UTC(2026, 10, 1);
    const stored = h.kvs.appendClusters("cam", splitClusters(readFixture("clusters.mkv")), { serverStartMs: t0 });
    const url = await hlsStreamingSessionUrl(h.clients, "cam", {
      playbackMode: "ON_DEMAND",
      range: { start: new Date(t0), end: new Date(stored.at(-1)!.serverTimestampMs) },
    });
    const media = await (await fetch(new URL(`getHLSMediaPlaylist.m3u8?${new URL(url).search.slice(1)}&TrackNumber=1`, url))).text();
    expect(media).toContain("#EXT-X-PLAYLIST-TYPE:VOD");
    expect(media.trim().endsWith("#EXT-X-ENDLIST")).toBe(true);
    expect(media.match(/#EXTINF/g)).toHaveLength(8);
    expect(await packetsFrom(url)).toHaveLength(444);
  }, 60_000);

  it("an ON_DEMAND DASH manifest that ffmpeg reads whole", async () => {
    h = await harness();
    h.kvs.createStream("cam");
    const t0 = Date.UTC(2026, 10, 1);
    const stored = h.kvs.appendClusters("cam", splitClusters(readFixture("clusters.mkv")), { serverStartMs: t0 });
    const url = await dashStreamingSessionUrl(h.clients, "cam", {
      playbackMode: "ON_DEMAND",
      range: { start: new Date(t0), end: new Date(stored.at(-1)!.serverTimestampMs) },
    });
    expect(url).toMatch(/\/dash\/v1\/getDASHManifest\.mpd\?SessionToken=/);
    const mpd = await (await fetch(url)).text();
    expect(mpd).toContain('type="static"');
    expect(mpd.match(/<S /g)).toHaveLength(8);
    expect(await packetsFrom(url, "dash")).toHaveLength(444);
  }, 60_000);

  it("a LIVE session of a stream with nothing in the last 30 s is ResourceNotFound; an unknown token is refused", async () => {
    h = await harness({ now: () => Date.UTC(2026, 10, 2) });
    h.kvs.createStream("old");
    h.kvs.appendClusters("old", splitClusters(readFixture("clusters.mkv")), { serverStartMs: Date.UTC(2026, 10, 1) });
    const err = await hlsStreamingSessionUrl(h.clients, "old").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KvsServiceError);
    expect((err as KvsServiceError).code).toBe("RESOURCE_NOT_FOUND");
    const res = await fetch(`${h.kvs.endpoint}/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken=nope`);
    expect(res.status).toBe(403);
  });
});
