/** What a {@link KvsParserError} carries besides its code and message (`cause` as in the standard ErrorOptions). */
export interface KvsParserErrorOptions extends ErrorOptions {
  /** True when the same operation may succeed later (default false). */
  readonly retryable?: boolean;
  /** What the user should do about it (default null: nothing to add to the message). */
  readonly action?: string | null;
}

/**
 * The base of every error kvs-parser throws: a stable `code` for programs (SCREAMING_SNAKE_CASE; a
 * service's exception name as the service spells it is KvsServiceError's `serviceCode`), whether
 * retrying can help, what to do, and the underlying `cause`.
 */
export class KvsParserError extends Error {
  override readonly name: string = "KvsParserError";
  /** What went wrong, for programs. */
  readonly code: string;
  /** True when the same operation may succeed later (after backoff or a reconnect). */
  readonly retryable: boolean;
  /** What the user should do about it, when there is something to say. */
  readonly action: string | null;

  /** An error with `code` and `message`; `options` gives `retryable`, `action` and `cause`. */
  constructor(code: string, message: string, options: KvsParserErrorOptions = {}) {
    super(message, options);
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.action = options.action ?? null;
  }
}

/**
 * `e` itself when it is an Error, else a {@link KvsParserError} with code "NON_ERROR_THROWN" whose
 * message is the thrown value as a string and whose cause is the value (for `catch (e: unknown)`).
 */
export function asError(e: unknown): Error {
  return e instanceof Error ? e : new KvsParserError("NON_ERROR_THROWN", String(e), { cause: e });
}
