import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { chromiumPath, launchChromium } from "../helpers/chromium.js";
import { afterEach, describe, expect, it } from "vitest";
import { type Camera, startCamera } from "../../src/testing/camera.js";
import { ffmpeg } from "../helpers/ffmpeg.js";
import { readFixture } from "../helpers/fixtures.js";
import { type Harness, harness, localAwsEnv } from "../helpers/local-kvs.js";

const cli = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const browserPath = chromiumPath;
if (!browserPath) console.warn("SKIPPED: the viewer's browser test needs Chromium (apt-get install chromium, or set CHROMIUM_PATH)");

let h: Harness | undefined;
let camera: Camera | undefined;
let viewer: ChildProcess | undefined;
let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  viewer?.kill("SIGINT");
  camera?.stop();
  await camera?.done;
  await h?.close();
  browser = viewer = camera = h = undefined;
});

describe.skipIf(!browserPath)("kvs-parser view in a real browser (headless Chromium)", () => {
  it("the page plays the live stream: the video's time advances, the picture is not blank, lag and fragment show", async () => {
    h = await harness();
    camera = startCamera(h.kvs, "cam", readFixture("clusters.mkv")); // real time: a fragment every 2 s
    viewer = spawn(process.execPath, [cli, "view", "cam", "--endpoint", h.kvs.endpoint], {
      env: localAwsEnv(h.kvs.endpoint),
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      viewer!.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
        if (m) resolve(m[0]);
      });
      viewer!.on("exit", (code) => reject(new Error(`view exited with ${code}`)));
      setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 15_000);
    });
    browser = await launchChromium();
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on("console", (m) => logs.push(m.text()));
    await page.goto(url);
    await page
      .waitForFunction(() => (document.getElementById("video") as HTMLVideoElement).currentTime > 0.2, undefined, { timeout: 30_000 })
      .catch((e: unknown) => {
        throw new Error(`the video did not start: ${String(e)}; page state ${JSON.stringify(logs)}`);
      });
    // It plays on: 1.5 s of video within 6 s (at the live edge it may wait a moment for a fragment that comes late).
    const t1 = await page.evaluate(() => (document.getElementById("video") as HTMLVideoElement).currentTime);
    const played = await page
      .waitForFunction((from) => (document.getElementById("video") as HTMLVideoElement).currentTime - from > 1.5, t1, { timeout: 6000 })
      .then(
        () => true,
        () => false,
      );
    const t2 = await page.evaluate(() => (document.getElementById("video") as HTMLVideoElement).currentTime);
    expect(played, `the video went from ${t1} s to ${t2} s in 6 s`).toBe(true);
    const state = await page.evaluate(() => (window as unknown as { viewer: { fragment: string; lagMs: number; error: string | null } }).viewer);
    expect(state.error).toBeNull();
    expect(h.kvs.fragments("cam").map((f) => f.fragmentNumber)).toContain(state.fragment);
    expect(state.lagMs).toBeGreaterThanOrEqual(0);
    expect(await page.textContent("#status")).toMatch(/fragment \d{47}\nlag \d+ ms/);
    // The picture: a screenshot of the video element, its luma spread by ffmpeg (a blank frame has none).
    const png = await page.locator("#video").screenshot();
    const gray = ffmpeg(["-i", "-", "-f", "rawvideo", "-pix_fmt", "gray", "-"], png);
    const mean = gray.reduce((a, b) => a + b, 0) / gray.length;
    const spread = Math.sqrt(gray.reduce((a, b) => a + (b - mean) ** 2, 0) / gray.length);
    expect(spread).toBeGreaterThan(10);
  }, 90_000);
});
