import { createReadStream, statSync } from "node:fs";
import type { Readable } from "node:stream";
import { KvsParserError } from "../ebml/kvs-parser-error.js";

/** A file the user named that cannot be read (missing, a directory, empty): exit code 1, no usage text. */
export class InputError extends KvsParserError {
  override readonly name = "InputError";
  /** Always "INPUT_UNREADABLE". */
  declare readonly code: "INPUT_UNREADABLE";
  /** Says which file cannot be read and why (`message`). */
  constructor(message: string, options?: ErrorOptions) {
    super("INPUT_UNREADABLE", message, options);
  }
}

/** Extensions that name a media file rather than a KVS stream (stream names cannot hold "/"). */
const MEDIA_FILE = /\.(mkv|mka|mk3d|webm|mp4|m4v|mov|ts)$/i;

/** True when a command's argument names a file (or "-", stdin) rather than a KVS stream. */
export function namesFile(target: string): boolean {
  return target === "-" || target.includes("/") || target.includes("\\") || MEDIA_FILE.test(target) || exists(target);
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens a file argument ("-" is stdin) for reading, or throws an {@link InputError} that names the path:
 * missing, a directory, not a regular file, or empty.
 */
export function openInput(path: string): Readable {
  if (path === "-") return process.stdin;
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new InputError(`${path} is a directory, not a file`);
    size = st.isFile() ? st.size : -1;
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(code === "ENOENT" ? `no such file: ${path}` : `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (size === 0) throw new InputError(`${path} is empty: no bytes to read`);
  return createReadStream(path);
}
