#!/usr/bin/env node
import { createReadStream } from "node:fs";
import { inspect } from "./inspect.js";

const USAGE = `usage:
  kvs-parser inspect FILE|- [--json] [--recover]   summarise an MKV / KVS GetMedia capture (- = stdin)
  kvs-parser demo                                  three checkpointed apps reading a local KVS stream`;

/** Runs the command line; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const flags = new Set(rest.filter((a) => a.startsWith("--")));
  const args = rest.filter((a) => !a.startsWith("--") || a === "-");
  if (command === "inspect" && args.length === 1) {
    const file = args[0]!;
    const source = file === "-" ? process.stdin : createReadStream(file);
    await inspect(source, { json: flags.has("--json"), recover: flags.has("--recover"), write: (l) => process.stdout.write(l + "\n") });
    return 0;
  }
  if (command === "demo") {
    const { runDemo } = await import("./demo.js");
    return runDemo({ write: (l) => process.stdout.write(l + "\n") });
  }
  process.stderr.write(USAGE + "\n");
  return command === undefined || command === "--help" || command === "help" ? 0 : 2;
}

process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0); // the reader went away (e.g. piped into head)
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`kvs-parser: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
