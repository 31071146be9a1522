import { parseArgs, type ParseArgsConfig } from "node:util";
import { KvsParserError } from "../ebml/kvs-parser-error.js";

/** A command-line verb: its usage text, its options (strict: an unknown flag is an error) and what it does. */
export interface Command {
  readonly name: string;
  /** One line for the list of commands. */
  readonly summary: string;
  /** The full help text (`kvs-parser NAME --help`). */
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig["options"]>;
  /** Runs with the parsed values and positionals; resolves to the exit code. */
  run(values: Record<string, string | boolean | string[] | boolean[] | undefined>, positionals: string[], io: CliIo): Promise<number>;
}

/** Where a command writes; tests capture it. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** True when standard output is a terminal (progress lines). */
  readonly tty: boolean;
  /** Rewrites the progress line (on a terminal; elsewhere nothing). */
  status(line: string): void;
  /** Aborted on SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
}

/** A usage error: printed with the command's usage, exit code 2. */
export class UsageError extends KvsParserError {
  override readonly name = "UsageError";
  /** Always "INVALID_USAGE". */
  declare readonly code: "INVALID_USAGE";
  /** Says what is wrong with the command line (`message`). */
  constructor(message: string, options?: ErrorOptions) {
    super("INVALID_USAGE", message, options);
  }
}

/** Parses argv for `command` strictly; `--help` anywhere prints its usage. */
export function parseCommandArgs(
  command: Command,
  argv: readonly string[],
): { help: true } | { help: false; values: Record<string, string | boolean | string[] | boolean[] | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { ...command.options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) return { help: true };
    return { help: false, values, positionals };
  } catch (e) {
    throw new UsageError(argsMessage(e as Error & { code?: string }));
  }
}

/** Node's parseArgs messages, shortened to what the user typed and what to do (its own text has an unbalanced quote). */
function argsMessage(e: Error & { code?: string }): string {
  const flag = /'(-[^']*)'/.exec(e.message)?.[1];
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && flag) return `unknown option ${flag} (a value starting with "-" goes after --)`;
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && flag)
    return `option ${/--[\w-]+/.exec(flag)?.[0] ?? flag} ${/missing/.test(e.message) ? "needs a value" : "takes no value"}`;
  return e.message;
}

/** A positive integer option value, or a UsageError naming the flag. */
export function intOption(value: unknown, flag: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} needs a positive integer, got ${JSON.stringify(value)}`);
  return n;
}
