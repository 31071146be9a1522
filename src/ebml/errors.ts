/** Machine-readable reasons a byte stream could not be parsed. */
export type MkvParseErrorCode =
  | "INVALID_VARINT"
  | "INVALID_ID"
  | "SIZE_BEYOND_PARENT"
  | "HEADER_INSIDE_ELEMENT"
  | "MISPLACED_ELEMENT"
  | "UNKNOWN_SIZE_NOT_ALLOWED"
  | "ELEMENT_TOO_LARGE"
  | "NESTING_TOO_DEEP"
  | "TRUNCATED"
  | "INVALID_BLOCK"
  | "INVALID_LACING"
  | "INVALID_VALUE"
  | "NOT_EBML"
  | "UNSUPPORTED_ENCODING"
  | "ENDED";

/** Thrown (or reported, with `recover: true`) when input is not valid EBML/Matroska. */
export class MkvParseError extends Error {
  override readonly name = "MkvParseError";
  /** What went wrong, for programs. */
  readonly code: MkvParseErrorCode;
  /** Absolute byte offset (from the first byte pushed) of the element or byte at fault. */
  readonly offset: number;
  /** Names of the enclosing elements, outermost first, e.g. `["Segment", "Cluster", "SimpleBlock"]`. */
  readonly path: readonly string[];

  constructor(code: MkvParseErrorCode, message: string, offset: number, path: readonly string[] = []) {
    super(`${message} at byte ${offset}${path.length ? ` (in ${path.join("/")})` : ""}`);
    this.code = code;
    this.offset = offset;
    this.path = path;
  }
}
