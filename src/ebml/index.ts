// kvs-parser/ebml: the low-level EBML push reader and writer, and the Matroska element table.
export { EbmlSchemaError, MkvParseError, type EbmlSchemaErrorCode, type MkvParseErrorCode } from "./errors.js";
export { KvsParserError, type KvsParserErrorOptions } from "./kvs-parser-error.js";
export { EbmlReader, type EbmlReaderOptions, type EbmlSink } from "./reader.js";
export { EbmlSchema, matroskaSchema, ID, type ElementInfo, type EbmlType, type SchemaRow } from "./schema.js";
export { readUint, readInt, readFloat, readUtf8, readAscii, readUintString } from "./values.js";
export {
  concatBytes,
  element,
  encodeId,
  encodeSize,
  unknownSize,
  unknownSizeHeader,
  uintElement,
  intElement,
  floatElement,
  stringElement,
  type EbmlPayload,
} from "./writer.js";
