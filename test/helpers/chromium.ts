import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

/** Debian's chromium (apt-get install chromium; .ci/run installs it), or CHROMIUM_PATH; undefined when there is none. */
export const chromiumPath = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p): p is string => !!p && existsSync(p));

/** Headless Chromium as the tests run it (no sandbox, GPU or background networking: this machine has no network), with `extra` flags. */
export function launchChromium(extra: readonly string[] = []): Promise<Browser> {
  if (!chromiumPath) throw new Error("no Chromium: apt-get install chromium, or set CHROMIUM_PATH");
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--autoplay-policy=no-user-gesture-required",
      ...extra,
    ],
  });
}
