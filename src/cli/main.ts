#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { intOption, parseCommandArgs, UsageError, type CliIo, type Command } from "./args.js";
import { errorLines } from "./errors.js";
import { imagesCommand } from "./images.js";
import { InputError } from "./input.js";
import { inspectCommand } from "./inspect.js";
import { putCommand } from "./put.js";
import { recordCommand } from "./record.js";
import { serveCommand } from "./serve.js";
import { tailCommand } from "./tail.js";
import { viewCommand } from "./view.js";
import { webrtcCommand } from "./webrtc.js";

// Commands that need the AWS SDK or child processes load their code only when run.
const demoCommand: Command = {
  name: "demo",
  summary: "three checkpointed apps reading a local KVS stream (no AWS account)",
  usage: `usage: kvs-parser demo [--hold SECONDS]

Starts a KVS-compatible endpoint on 127.0.0.1 fed live from the package's sample media, runs three
checkpointed apps on one shared GetMedia connection, kills one mid-stream and restarts it, and prints
per app the fragments read, where it resumed, duplicates, gaps and lag. Meanwhile a viewer page plays
the stream (kvs-parser view); at the end the stream is recorded to MKV files and an MP4 clip.
  --hold SECONDS   keep the viewer up that long afterwards, the camera looping, to watch it in a browser`,
  options: { hold: { type: "string" } },
  async run(values, positionals, io) {
    if (positionals.length > 0) throw new UsageError("demo takes no arguments");
    const { runDemo } = await import("./demo.js");
    return runDemo({ write: io.out, holdSeconds: intOption(values.hold, "--hold"), signal: io.signal });
  },
};

const COMMANDS: readonly Command[] = [
  inspectCommand,
  tailCommand,
  recordCommand,
  imagesCommand,
  viewCommand,
  putCommand,
  webrtcCommand,
  serveCommand,
  demoCommand,
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `usage: kvs-parser COMMAND [options]   (kvs-parser COMMAND --help for its options; --version)\n\n${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}`;
}

/** This package's version, from its package.json. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** Runs the command line; resolves to the process exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-V" || name === "version") {
    io.out(version());
    return 0;
  }
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(overview());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`kvs-parser: unknown command ${JSON.stringify(name)}\n${overview()}`);
    return 2;
  }
  try {
    const parsed = parseCommandArgs(command, rest);
    if (parsed.help) {
      io.out(command.usage);
      return 0;
    }
    return await command.run(parsed.values, parsed.positionals, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`kvs-parser ${name}: ${e.message}\n${command.usage}`);
      return 2;
    }
    if (e instanceof InputError) {
      io.err(`kvs-parser ${name}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0); // the reader went away (e.g. piped into head)
  throw err;
});

const stop = new AbortController();
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => stop.abort());
const io: CliIo = {
  out: (l) => process.stdout.write(l + "\n"),
  err: (l) => process.stderr.write(l + "\n"),
  tty: process.stdout.isTTY === true,
  status: (l) => {
    if (process.stdout.isTTY) process.stdout.write(`\r\x1b[K${l}`);
  },
  signal: stop.signal,
};
main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
    // Interrupted: the command has released what it holds; whatever is left (a retry timer of a
    // connection being torn down) must not keep the process up.
    if (stop.signal.aborted) setTimeout(() => process.exit(code), 1000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`${errorLines(err).join("\n")}\n`);
    process.exitCode = 1;
  },
);
