import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { asError, KvsParserError } from "../../src/ebml/kvs-parser-error.js";

const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const src = join(root, "src");
const files = (readdirSync(src, { recursive: true, encoding: "utf8" }) as string[]).filter((f) => f.endsWith(".ts")).map((f) => f.replaceAll("\\", "/"));

/** Files not checked (none). */
const PENDING = (_f: string) => false;

/** One instance of each exported error class, by class name (a new class needs a line here). */
const SAMPLES: Record<string, (C: new (...args: never[]) => Error) => Error> = {
  KvsParserError: (C) => new (C as unknown as typeof KvsParserError)("SAMPLE", "a sample"),
  MkvParseError: (C) => new (C as unknown as new (c: string, m: string, o: number) => Error)("TRUNCATED", "cut", 12),
  EbmlSchemaError: (C) => new (C as unknown as new (c: string, e: string, m: string) => Error)("UNKNOWN_ELEMENT", "Foo", "no element named Foo"),
  KvsServiceError: (C) => new (C as unknown as new (c: string, op: string, m: string) => Error)("RESOURCE_NOT_FOUND", "GetMedia", "no stream"),
  CheckpointConflictError: (C) =>
    new (C as unknown as new (m: string, a: unknown, c: unknown) => Error)("backwards", { fragmentNumber: "1", serverTimestampMs: 0 }, null),
  LeaseLostError: (C) => new (C as unknown as new (k: string, o: string, m: string) => Error)("key", "me", "taken"),
  TableNotActiveError: (C) => new (C as unknown as new (t: string, ms: number) => Error)("checkpoints", 30_000),
  PutMediaError: (C) =>
    new (C as unknown as new (c: string, m: string, o: { retryable: boolean; action: string }) => Error)("INVALID_ACK", "bad", {
      retryable: true,
      action: "reconnect",
    }),
  FfmpegNotFoundError: (C) => new (C as unknown as new (t: string[]) => Error)(["PATH"]),
  DecoderError: (C) =>
    new (C as unknown as new (m: string, p: unknown, e: null, s: string) => Error)("exited", { track: 1, fragmentNumber: null, timestampMs: null }, null, ""),
  Mp4CodecError: (C) => new (C as unknown as new (m: string) => Error)("no track"),
  SignalingError: (C) =>
    new (C as unknown as new (c: string, m: string, o: { retryable: boolean; action: string }) => Error)("SIGNALING_CLOSED", "lost", {
      retryable: true,
      action: "connect again",
    }),
  SignalingProtocolError: (C) => new (C as unknown as new (m: string, r: string) => Error)("not JSON", "{"),
  RtpPayloadError: (C) => new (C as unknown as new (m: string, s: number) => Error)("FU-A continuation without its start", 7),
};

describe("one error base: KvsParserError", () => {
  it("carries code, retryable, action and cause", () => {
    const cause = new Error("underneath");
    const e = new KvsParserError("SOMETHING_WRONG", "it broke", { retryable: true, action: "try again", cause });
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.code, e.message, e.retryable, e.action, e.cause]).toEqual(["KvsParserError", "SOMETHING_WRONG", "it broke", true, "try again", cause]);
    const plain = new KvsParserError("PLAIN", "plain");
    expect([plain.retryable, plain.action, "cause" in plain]).toEqual([false, null, false]);
  });

  it("asError keeps an Error and wraps anything else thrown", () => {
    const err = new RangeError("r");
    expect(asError(err)).toBe(err);
    const wrapped = asError("a string") as KvsParserError;
    expect([wrapped instanceof KvsParserError, wrapped.code, wrapped.message, wrapped.cause]).toEqual([true, "NON_ERROR_THROWN", "a string", "a string"]);
  });

  it("no bare `new Error(` and no `extends Error` but the base's in src/", () => {
    const bare: string[] = [];
    for (const f of files) {
      if (PENDING(f)) continue;
      readFileSync(join(src, f), "utf8")
        .split("\n")
        .forEach((line, i) => {
          if (/\bnew Error\(/.test(line) || (/\bextends Error\b/.test(line) && f !== "ebml/kvs-parser-error.ts"))
            bare.push(`src/${f}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(bare).toEqual([]);
  });

  it("every error class exported by every entry extends it, with its own name and a code in the one style", async () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { exports: Record<string, unknown> };
    const entries = Object.keys(pkg.exports)
      .filter((e) => e !== "./package.json")
      .map((e) => (e === "." ? "index.ts" : `${e.slice(2)}/index.ts`));
    const seen = new Set<string>();
    for (const entry of entries) {
      const mod = (await import(join(src, entry))) as Record<string, unknown>;
      for (const [exported, value] of Object.entries(mod)) {
        if (typeof value !== "function" || !(value.prototype instanceof Error || value === KvsParserError)) continue;
        seen.add(exported);
        const sample = SAMPLES[exported];
        expect(sample, `${entry}: ${exported} has no sample in this test`).toBeDefined();
        const e = sample!(value as new (...args: never[]) => Error) as KvsParserError;
        expect(e, `${entry}: ${exported}`).toBeInstanceOf(KvsParserError);
        expect(e.name, `${entry}: ${exported}`).toBe(exported);
        expect(typeof e.code, `${entry}: ${exported}`).toBe("string");
        expect(e.code, `${entry}: ${exported}`).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
        expect(typeof e.retryable).toBe("boolean");
        expect(e.action === null || typeof e.action === "string").toBe(true);
      }
    }
    expect([...seen].sort()).toEqual(Object.keys(SAMPLES).sort());
  });
});
