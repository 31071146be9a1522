import { KvsParserError } from "./kvs-parser-error.js";

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
export class MkvParseError extends KvsParserError {
  override readonly name = "MkvParseError";
  /** What went wrong, for programs. */
  declare readonly code: MkvParseErrorCode;
  /** Absolute byte offset (from the first byte pushed) of the element or byte at fault. */
  readonly offset: number;
  /** Names of the enclosing elements, outermost first, e.g. `["Segment", "Cluster", "SimpleBlock"]`. */
  readonly path: readonly string[];

  /** An error `code` at byte `offset`, inside the elements named by `path`. */
  constructor(code: MkvParseErrorCode, message: string, offset: number, path: readonly string[] = []) {
    super(code, `${message} at byte ${offset}${path.length ? ` (in ${path.join("/")})` : ""}`);
    this.offset = offset;
    this.path = path;
  }
}

/** Codes of an {@link EbmlSchemaError}. */
export type EbmlSchemaErrorCode = "UNKNOWN_PARENT" | "INVALID_TYPE" | "UNKNOWN_ELEMENT";

/** An element table given to EbmlSchema is malformed, or a name was looked up that it does not hold. */
export class EbmlSchemaError extends KvsParserError {
  override readonly name = "EbmlSchemaError";
  /** What went wrong, for programs. */
  declare readonly code: EbmlSchemaErrorCode;
  /** The element name at fault. */
  readonly element: string;

  /** An error `code` about the element named `element`. */
  constructor(code: EbmlSchemaErrorCode, element: string, message: string) {
    super(code, `schema: ${message}`, { action: code === "UNKNOWN_ELEMENT" ? "use a name the schema holds (see its elements())" : "fix the element table" });
    this.element = element;
  }
}
