import { EbmlSchemaError } from "./errors.js";

/** The kind of payload an EBML element holds. */
export type EbmlType = "master" | "uint" | "int" | "float" | "string" | "utf8" | "date" | "binary";

/** What the schema knows about one element ID. */
export interface ElementInfo {
  readonly id: number;
  readonly name: string;
  readonly type: EbmlType;
  /** IDs of the elements this one may appear in; empty for top-level elements. */
  readonly parents: readonly number[];
  /** Global elements (Void, CRC-32) may appear in any master. */
  readonly global: boolean;
}

/** One element definition: ID, name, type letter (m u i f s 8 d b), parents by name ("" top level, "*" global). */
export type SchemaRow = readonly [id: number, name: string, type: string, parents: string];
const T: Record<string, EbmlType> = {
  m: "master",
  u: "uint",
  i: "int",
  f: "float",
  s: "string",
  "8": "utf8",
  d: "date",
  b: "binary",
};

// The Matroska element table: every element of the Matroska specification's ebml_matroska.xml (RFC 9559
// and the legacy elements it still lists) and the EBML header elements of RFC 8794.
// parents: space-separated names; "" = top level; "*" = global.
const ROWS: readonly SchemaRow[] = [
  [0x1a45dfa3, "EBML", "m", ""],
  [0x4286, "EBMLVersion", "u", "EBML"],
  [0x42f7, "EBMLReadVersion", "u", "EBML"],
  [0x42f2, "EBMLMaxIDLength", "u", "EBML"],
  [0x42f3, "EBMLMaxSizeLength", "u", "EBML"],
  [0x4282, "DocType", "s", "EBML"],
  [0x4287, "DocTypeVersion", "u", "EBML"],
  [0x4285, "DocTypeReadVersion", "u", "EBML"],
  [0x4281, "DocTypeExtension", "m", "EBML"],
  [0x4283, "DocTypeExtensionName", "s", "DocTypeExtension"],
  [0x4284, "DocTypeExtensionVersion", "u", "DocTypeExtension"],
  [0xec, "Void", "b", "*"],
  [0xbf, "CRC-32", "b", "*"],
  [0x18538067, "Segment", "m", ""],
  [0x114d9b74, "SeekHead", "m", "Segment"],
  [0x4dbb, "Seek", "m", "SeekHead"],
  [0x53ab, "SeekID", "b", "Seek"],
  [0x53ac, "SeekPosition", "u", "Seek"],
  [0x1549a966, "Info", "m", "Segment"],
  [0x73a4, "SegmentUUID", "b", "Info"],
  [0x7384, "SegmentFilename", "8", "Info"],
  [0x3cb923, "PrevUUID", "b", "Info"],
  [0x3c83ab, "PrevFilename", "8", "Info"],
  [0x3eb923, "NextUUID", "b", "Info"],
  [0x3e83bb, "NextFilename", "8", "Info"],
  [0x4444, "SegmentFamily", "b", "Info"],
  [0x6924, "ChapterTranslate", "m", "Info"],
  [0x69a5, "ChapterTranslateID", "b", "ChapterTranslate"],
  [0x69bf, "ChapterTranslateCodec", "u", "ChapterTranslate"],
  [0x69fc, "ChapterTranslateEditionUID", "u", "ChapterTranslate"],
  [0x2ad7b1, "TimestampScale", "u", "Info"],
  [0x4489, "Duration", "f", "Info"],
  [0x4461, "DateUTC", "d", "Info"],
  [0x7ba9, "Title", "8", "Info"],
  [0x4d80, "MuxingApp", "8", "Info"],
  [0x5741, "WritingApp", "8", "Info"],
  [0x1f43b675, "Cluster", "m", "Segment"],
  [0xe7, "Timestamp", "u", "Cluster"],
  [0x5854, "SilentTracks", "m", "Cluster"],
  [0x58d7, "SilentTrackNumber", "u", "SilentTracks"],
  [0xa7, "Position", "u", "Cluster"],
  [0xab, "PrevSize", "u", "Cluster"],
  [0xa3, "SimpleBlock", "b", "Cluster"],
  [0xa0, "BlockGroup", "m", "Cluster"],
  [0xaf, "EncryptedBlock", "b", "Cluster"],
  [0xa1, "Block", "b", "BlockGroup"],
  [0xa2, "BlockVirtual", "b", "BlockGroup"],
  [0x75a1, "BlockAdditions", "m", "BlockGroup"],
  [0xa6, "BlockMore", "m", "BlockAdditions"],
  [0xee, "BlockAddID", "u", "BlockMore"],
  [0xa5, "BlockAdditional", "b", "BlockMore"],
  [0x9b, "BlockDuration", "u", "BlockGroup"],
  [0xfa, "ReferencePriority", "u", "BlockGroup"],
  [0xfb, "ReferenceBlock", "i", "BlockGroup"],
  [0xfd, "ReferenceVirtual", "i", "BlockGroup"],
  [0xa4, "CodecState", "b", "BlockGroup"],
  [0x75a2, "DiscardPadding", "i", "BlockGroup"],
  [0x8e, "Slices", "m", "BlockGroup"],
  [0xe8, "TimeSlice", "m", "Slices"],
  [0xcc, "LaceNumber", "u", "TimeSlice"],
  [0xcd, "FrameNumber", "u", "TimeSlice"],
  [0xcb, "BlockAdditionID", "u", "TimeSlice"],
  [0xce, "Delay", "u", "TimeSlice"],
  [0xcf, "SliceDuration", "u", "TimeSlice"],
  [0xc8, "ReferenceFrame", "m", "BlockGroup"],
  [0xc9, "ReferenceOffset", "u", "ReferenceFrame"],
  [0xca, "ReferenceTimestamp", "u", "ReferenceFrame"],
  [0x1654ae6b, "Tracks", "m", "Segment"],
  [0xae, "TrackEntry", "m", "Tracks"],
  [0xd7, "TrackNumber", "u", "TrackEntry"],
  [0x73c5, "TrackUID", "u", "TrackEntry"],
  [0x83, "TrackType", "u", "TrackEntry"],
  [0xb9, "FlagEnabled", "u", "TrackEntry"],
  [0x88, "FlagDefault", "u", "TrackEntry"],
  [0x55aa, "FlagForced", "u", "TrackEntry"],
  [0x55ab, "FlagHearingImpaired", "u", "TrackEntry"],
  [0x55ac, "FlagVisualImpaired", "u", "TrackEntry"],
  [0x55ad, "FlagTextDescriptions", "u", "TrackEntry"],
  [0x55ae, "FlagOriginal", "u", "TrackEntry"],
  [0x55af, "FlagCommentary", "u", "TrackEntry"],
  [0x9c, "FlagLacing", "u", "TrackEntry"],
  [0x6de7, "MinCache", "u", "TrackEntry"],
  [0x6df8, "MaxCache", "u", "TrackEntry"],
  [0x23e383, "DefaultDuration", "u", "TrackEntry"],
  [0x234e7a, "DefaultDecodedFieldDuration", "u", "TrackEntry"],
  [0x23314f, "TrackTimestampScale", "f", "TrackEntry"],
  [0x537f, "TrackOffset", "i", "TrackEntry"],
  [0x55ee, "MaxBlockAdditionID", "u", "TrackEntry"],
  [0x41e4, "BlockAdditionMapping", "m", "TrackEntry"],
  [0x41f0, "BlockAddIDValue", "u", "BlockAdditionMapping"],
  [0x41a4, "BlockAddIDName", "s", "BlockAdditionMapping"],
  [0x41e7, "BlockAddIDType", "u", "BlockAdditionMapping"],
  [0x41ed, "BlockAddIDExtraData", "b", "BlockAdditionMapping"],
  [0x536e, "Name", "8", "TrackEntry"],
  [0x22b59c, "Language", "s", "TrackEntry"],
  [0x22b59d, "LanguageBCP47", "s", "TrackEntry"],
  [0x86, "CodecID", "s", "TrackEntry"],
  [0x63a2, "CodecPrivate", "b", "TrackEntry"],
  [0x258688, "CodecName", "8", "TrackEntry"],
  [0x7446, "AttachmentLink", "u", "TrackEntry"],
  [0x3a9697, "CodecSettings", "8", "TrackEntry"],
  [0x3b4040, "CodecInfoURL", "s", "TrackEntry"],
  [0x26b240, "CodecDownloadURL", "s", "TrackEntry"],
  [0xaa, "CodecDecodeAll", "u", "TrackEntry"],
  [0x6fab, "TrackOverlay", "u", "TrackEntry"],
  [0x56aa, "CodecDelay", "u", "TrackEntry"],
  [0x56bb, "SeekPreRoll", "u", "TrackEntry"],
  [0x6624, "TrackTranslate", "m", "TrackEntry"],
  [0x66a5, "TrackTranslateTrackID", "b", "TrackTranslate"],
  [0x66bf, "TrackTranslateCodec", "u", "TrackTranslate"],
  [0x66fc, "TrackTranslateEditionUID", "u", "TrackTranslate"],
  [0xe0, "Video", "m", "TrackEntry"],
  [0x9a, "FlagInterlaced", "u", "Video"],
  [0x9d, "FieldOrder", "u", "Video"],
  [0x53b8, "StereoMode", "u", "Video"],
  [0x53c0, "AlphaMode", "u", "Video"],
  [0x53b9, "OldStereoMode", "u", "Video"],
  [0xb0, "PixelWidth", "u", "Video"],
  [0xba, "PixelHeight", "u", "Video"],
  [0x54aa, "PixelCropBottom", "u", "Video"],
  [0x54bb, "PixelCropTop", "u", "Video"],
  [0x54cc, "PixelCropLeft", "u", "Video"],
  [0x54dd, "PixelCropRight", "u", "Video"],
  [0x54b0, "DisplayWidth", "u", "Video"],
  [0x54ba, "DisplayHeight", "u", "Video"],
  [0x54b2, "DisplayUnit", "u", "Video"],
  [0x54b3, "AspectRatioType", "u", "Video"],
  [0x2eb524, "UncompressedFourCC", "b", "Video"],
  [0x2fb523, "GammaValue", "f", "Video"],
  [0x2383e3, "FrameRate", "f", "Video"],
  [0x55b0, "Colour", "m", "Video"],
  [0x55b1, "MatrixCoefficients", "u", "Colour"],
  [0x55b2, "BitsPerChannel", "u", "Colour"],
  [0x55b3, "ChromaSubsamplingHorz", "u", "Colour"],
  [0x55b4, "ChromaSubsamplingVert", "u", "Colour"],
  [0x55b5, "CbSubsamplingHorz", "u", "Colour"],
  [0x55b6, "CbSubsamplingVert", "u", "Colour"],
  [0x55b7, "ChromaSitingHorz", "u", "Colour"],
  [0x55b8, "ChromaSitingVert", "u", "Colour"],
  [0x55b9, "Range", "u", "Colour"],
  [0x55ba, "TransferCharacteristics", "u", "Colour"],
  [0x55bb, "Primaries", "u", "Colour"],
  [0x55bc, "MaxCLL", "u", "Colour"],
  [0x55bd, "MaxFALL", "u", "Colour"],
  [0x55d0, "MasteringMetadata", "m", "Colour"],
  [0x55d1, "PrimaryRChromaticityX", "f", "MasteringMetadata"],
  [0x55d2, "PrimaryRChromaticityY", "f", "MasteringMetadata"],
  [0x55d3, "PrimaryGChromaticityX", "f", "MasteringMetadata"],
  [0x55d4, "PrimaryGChromaticityY", "f", "MasteringMetadata"],
  [0x55d5, "PrimaryBChromaticityX", "f", "MasteringMetadata"],
  [0x55d6, "PrimaryBChromaticityY", "f", "MasteringMetadata"],
  [0x55d7, "WhitePointChromaticityX", "f", "MasteringMetadata"],
  [0x55d8, "WhitePointChromaticityY", "f", "MasteringMetadata"],
  [0x55d9, "LuminanceMax", "f", "MasteringMetadata"],
  [0x55da, "LuminanceMin", "f", "MasteringMetadata"],
  [0x7670, "Projection", "m", "Video"],
  [0x7671, "ProjectionType", "u", "Projection"],
  [0x7672, "ProjectionPrivate", "b", "Projection"],
  [0x7673, "ProjectionPoseYaw", "f", "Projection"],
  [0x7674, "ProjectionPosePitch", "f", "Projection"],
  [0x7675, "ProjectionPoseRoll", "f", "Projection"],
  [0xe1, "Audio", "m", "TrackEntry"],
  [0xb5, "SamplingFrequency", "f", "Audio"],
  [0x78b5, "OutputSamplingFrequency", "f", "Audio"],
  [0x9f, "Channels", "u", "Audio"],
  [0x7d7b, "ChannelPositions", "b", "Audio"],
  [0x6264, "BitDepth", "u", "Audio"],
  [0x52f1, "Emphasis", "u", "Audio"],
  [0xe2, "TrackOperation", "m", "TrackEntry"],
  [0xe3, "TrackCombinePlanes", "m", "TrackOperation"],
  [0xe4, "TrackPlane", "m", "TrackCombinePlanes"],
  [0xe5, "TrackPlaneUID", "u", "TrackPlane"],
  [0xe6, "TrackPlaneType", "u", "TrackPlane"],
  [0xe9, "TrackJoinBlocks", "m", "TrackOperation"],
  [0xed, "TrackJoinUID", "u", "TrackJoinBlocks"],
  [0xc0, "TrickTrackUID", "u", "TrackEntry"],
  [0xc1, "TrickTrackSegmentUID", "b", "TrackEntry"],
  [0xc6, "TrickTrackFlag", "u", "TrackEntry"],
  [0xc7, "TrickMasterTrackUID", "u", "TrackEntry"],
  [0xc4, "TrickMasterTrackSegmentUID", "b", "TrackEntry"],
  [0x6d80, "ContentEncodings", "m", "TrackEntry"],
  [0x6240, "ContentEncoding", "m", "ContentEncodings"],
  [0x5031, "ContentEncodingOrder", "u", "ContentEncoding"],
  [0x5032, "ContentEncodingScope", "u", "ContentEncoding"],
  [0x5033, "ContentEncodingType", "u", "ContentEncoding"],
  [0x5034, "ContentCompression", "m", "ContentEncoding"],
  [0x4254, "ContentCompAlgo", "u", "ContentCompression"],
  [0x4255, "ContentCompSettings", "b", "ContentCompression"],
  [0x5035, "ContentEncryption", "m", "ContentEncoding"],
  [0x47e1, "ContentEncAlgo", "u", "ContentEncryption"],
  [0x47e2, "ContentEncKeyID", "b", "ContentEncryption"],
  [0x47e7, "ContentEncAESSettings", "m", "ContentEncryption"],
  [0x47e8, "AESSettingsCipherMode", "u", "ContentEncAESSettings"],
  [0x47e3, "ContentSignature", "b", "ContentEncryption"],
  [0x47e4, "ContentSigKeyID", "b", "ContentEncryption"],
  [0x47e5, "ContentSigAlgo", "u", "ContentEncryption"],
  [0x47e6, "ContentSigHashAlgo", "u", "ContentEncryption"],
  [0x1c53bb6b, "Cues", "m", "Segment"],
  [0xbb, "CuePoint", "m", "Cues"],
  [0xb3, "CueTime", "u", "CuePoint"],
  [0xb7, "CueTrackPositions", "m", "CuePoint"],
  [0xf7, "CueTrack", "u", "CueTrackPositions"],
  [0xf1, "CueClusterPosition", "u", "CueTrackPositions"],
  [0xf0, "CueRelativePosition", "u", "CueTrackPositions"],
  [0xb2, "CueDuration", "u", "CueTrackPositions"],
  [0x5378, "CueBlockNumber", "u", "CueTrackPositions"],
  [0xea, "CueCodecState", "u", "CueTrackPositions"],
  [0xdb, "CueReference", "m", "CueTrackPositions"],
  [0x96, "CueRefTime", "u", "CueReference"],
  [0x97, "CueRefCluster", "u", "CueReference"],
  [0x535f, "CueRefNumber", "u", "CueReference"],
  [0xeb, "CueRefCodecState", "u", "CueReference"],
  [0x1941a469, "Attachments", "m", "Segment"],
  [0x61a7, "AttachedFile", "m", "Attachments"],
  [0x467e, "FileDescription", "8", "AttachedFile"],
  [0x466e, "FileName", "8", "AttachedFile"],
  [0x4660, "FileMediaType", "s", "AttachedFile"],
  [0x465c, "FileData", "b", "AttachedFile"],
  [0x46ae, "FileUID", "u", "AttachedFile"],
  [0x4675, "FileReferral", "b", "AttachedFile"],
  [0x4661, "FileUsedStartTime", "u", "AttachedFile"],
  [0x4662, "FileUsedEndTime", "u", "AttachedFile"],
  [0x1043a770, "Chapters", "m", "Segment"],
  [0x45b9, "EditionEntry", "m", "Chapters"],
  [0x45bc, "EditionUID", "u", "EditionEntry"],
  [0x45bd, "EditionFlagHidden", "u", "EditionEntry"],
  [0x45db, "EditionFlagDefault", "u", "EditionEntry"],
  [0x45dd, "EditionFlagOrdered", "u", "EditionEntry"],
  [0x4520, "EditionDisplay", "m", "EditionEntry"],
  [0x4521, "EditionString", "8", "EditionDisplay"],
  [0x45e4, "EditionLanguageIETF", "s", "EditionDisplay"],
  [0xb6, "ChapterAtom", "m", "EditionEntry ChapterAtom"],
  [0x73c4, "ChapterUID", "u", "ChapterAtom"],
  [0x5654, "ChapterStringUID", "8", "ChapterAtom"],
  [0x91, "ChapterTimeStart", "u", "ChapterAtom"],
  [0x92, "ChapterTimeEnd", "u", "ChapterAtom"],
  [0x98, "ChapterFlagHidden", "u", "ChapterAtom"],
  [0x4598, "ChapterFlagEnabled", "u", "ChapterAtom"],
  [0x6e67, "ChapterSegmentUUID", "b", "ChapterAtom"],
  [0x4588, "ChapterSkipType", "u", "ChapterAtom"],
  [0x6ebc, "ChapterSegmentEditionUID", "u", "ChapterAtom"],
  [0x63c3, "ChapterPhysicalEquiv", "u", "ChapterAtom"],
  [0x8f, "ChapterTrack", "m", "ChapterAtom"],
  [0x89, "ChapterTrackUID", "u", "ChapterTrack"],
  [0x80, "ChapterDisplay", "m", "ChapterAtom"],
  [0x85, "ChapString", "8", "ChapterDisplay"],
  [0x437c, "ChapLanguage", "s", "ChapterDisplay"],
  [0x437d, "ChapLanguageBCP47", "s", "ChapterDisplay"],
  [0x437e, "ChapCountry", "s", "ChapterDisplay"],
  [0x6944, "ChapProcess", "m", "ChapterAtom"],
  [0x6955, "ChapProcessCodecID", "u", "ChapProcess"],
  [0x450d, "ChapProcessPrivate", "b", "ChapProcess"],
  [0x6911, "ChapProcessCommand", "m", "ChapProcess"],
  [0x6922, "ChapProcessTime", "u", "ChapProcessCommand"],
  [0x6933, "ChapProcessData", "b", "ChapProcessCommand"],
  [0x1254c367, "Tags", "m", "Segment"],
  [0x7373, "Tag", "m", "Tags"],
  [0x63c0, "Targets", "m", "Tag"],
  [0x68ca, "TargetTypeValue", "u", "Targets"],
  [0x63ca, "TargetType", "s", "Targets"],
  [0x63c5, "TagTrackUID", "u", "Targets"],
  [0x63c9, "TagEditionUID", "u", "Targets"],
  [0x63c4, "TagChapterUID", "u", "Targets"],
  [0x63c6, "TagAttachmentUID", "u", "Targets"],
  [0x63c7, "TagBlockAddIDValue", "u", "Targets"],
  [0x67c8, "SimpleTag", "m", "Tag SimpleTag"],
  [0x45a3, "TagName", "8", "SimpleTag"],
  [0x447a, "TagLanguage", "s", "SimpleTag"],
  [0x447b, "TagLanguageBCP47", "s", "SimpleTag"],
  [0x4484, "TagDefault", "u", "SimpleTag"],
  [0x44b4, "TagDefaultBogus", "u", "SimpleTag"],
  [0x4487, "TagString", "8", "SimpleTag"],
  [0x4485, "TagBinary", "b", "SimpleTag"],
];

/** Slots of EbmlSchema's table of IDs longer than two bytes (IDs are at most 4 bytes: they fit an Int32Array). */
const LONG_SLOTS = 512;
const longSlot = (id: number): number => Math.imul(id, 0x9e3779b1) >>> 23;

/** A set of element definitions, looked up by ID on the hot path. */
export class EbmlSchema {
  private readonly byId = new Map<number, ElementInfo>();
  private readonly short: (ElementInfo | undefined)[] = new Array<ElementInfo | undefined>(0x8000).fill(undefined);
  /**
   * Longer IDs (the EBML header, Segment and its children: several in every GetMedia fragment) in an
   * open-addressed table: a probe of a typed array costs a fraction of a Map lookup. Slot 0 means empty
   * (no valid ID is 0).
   */
  private readonly longIds = new Int32Array(LONG_SLOTS);
  private readonly longInfo: (ElementInfo | undefined)[] = new Array<ElementInfo | undefined>(LONG_SLOTS).fill(undefined);
  /** Long IDs offered to the table; past LONG_SLOTS / 2 the Map answers for those it did not take. */
  private longCount = 0;
  private readonly byName = new Map<string, ElementInfo>();

  /** Builds a schema from element definitions (parents given by name). */
  constructor(rows: readonly SchemaRow[]) {
    const idOf = new Map(rows.map((r) => [r[1], r[0]] as const));
    for (const [id, name, t, parents] of rows) {
      const global = parents === "*";
      const parentIds =
        global || parents === ""
          ? []
          : parents.split(" ").map((p) => {
              const pid = idOf.get(p);
              if (pid === undefined) throw new EbmlSchemaError("UNKNOWN_PARENT", name, `unknown parent ${p} of ${name}`);
              return pid;
            });
      const type = T[t];
      if (type === undefined) throw new EbmlSchemaError("INVALID_TYPE", name, `bad type ${t} of ${name}`);
      const info: ElementInfo = { id, name, type, parents: parentIds, global };
      this.byId.set(id, info);
      if (id < 0x8000) this.short[id] = info;
      else this.putLong(id, info);
      this.byName.set(name, info);
    }
  }

  /** The element definition for an ID, or undefined when the schema does not know it. */
  get(id: number): ElementInfo | undefined {
    // One- and two-byte IDs (most of Matroska's, all of a Cluster's) from an array, longer ones from the table.
    if (id < 0x8000) return this.short[id];
    if (id > 0x7fffffff) return this.byId.get(id);
    for (let slot = longSlot(id); ; slot = (slot + 1) & (LONG_SLOTS - 1)) {
      const held = this.longIds[slot]!;
      if (held === id) return this.longInfo[slot];
      if (held === 0) return this.longCount > LONG_SLOTS / 2 ? this.byId.get(id) : undefined;
    }
  }

  private putLong(id: number, info: ElementInfo): void {
    if (id > 0x7fffffff) return; // not an Int32: looked up in the Map
    // Past half full the table stops taking IDs (the Map holds them all): probes stay short.
    if (this.longCount >= LONG_SLOTS / 2) {
      this.longCount++;
      return;
    }
    let slot = longSlot(id);
    while (this.longIds[slot] !== 0 && this.longIds[slot] !== id) slot = (slot + 1) & (LONG_SLOTS - 1);
    if (this.longIds[slot] === 0) this.longCount++;
    this.longIds[slot] = id;
    this.longInfo[slot] = info;
  }

  /** Every element definition, in table order. */
  elements(): IterableIterator<ElementInfo> {
    return this.byId.values();
  }

  /** The ID of a named element; throws for a name the schema does not hold. */
  id(name: string): number {
    const info = this.byName.get(name);
    if (!info) throw new EbmlSchemaError("UNKNOWN_ELEMENT", name, `no element named ${name}`);
    return info.id;
  }

  /** A readable name for an ID (hex for unknown IDs). */
  name(id: number): string {
    return this.byId.get(id)?.name ?? `0x${id.toString(16).toUpperCase()}`;
  }
}

/** The Matroska/WebM schema used by default. */
export const matroskaSchema = new EbmlSchema(ROWS);

/** Element IDs the demuxer and writer refer to by name. */
export const ID = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Void: 0xec,
  CRC32: 0xbf,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Duration: 0x4489,
  DateUTC: 0x4461,
  Title: 0x7ba9,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
  BlockDuration: 0x9b,
  ReferenceBlock: 0xfb,
  DiscardPadding: 0x75a2,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  FlagEnabled: 0xb9,
  FlagDefault: 0x88,
  FlagLacing: 0x9c,
  DefaultDuration: 0x23e383,
  Name: 0x536e,
  Language: 0x22b59c,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  CodecName: 0x258688,
  CodecDelay: 0x56aa,
  SeekPreRoll: 0x56bb,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  DisplayWidth: 0x54b0,
  DisplayHeight: 0x54ba,
  FlagInterlaced: 0x9a,
  FrameRate: 0x2383e3,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  OutputSamplingFrequency: 0x78b5,
  Channels: 0x9f,
  BitDepth: 0x6264,
  ContentEncodings: 0x6d80,
  ContentEncoding: 0x6240,
  ContentEncodingOrder: 0x5031,
  ContentEncodingScope: 0x5032,
  ContentEncodingType: 0x5033,
  ContentCompression: 0x5034,
  ContentCompAlgo: 0x4254,
  ContentCompSettings: 0x4255,
  ContentEncryption: 0x5035,
  ContentEncAlgo: 0x47e1,
  ContentEncKeyID: 0x47e2,
  ContentEncAESSettings: 0x47e7,
  AESSettingsCipherMode: 0x47e8,
  Cues: 0x1c53bb6b,
  Tags: 0x1254c367,
  Tag: 0x7373,
  Targets: 0x63c0,
  TargetTypeValue: 0x68ca,
  TargetType: 0x63ca,
  TagTrackUID: 0x63c5,
  SimpleTag: 0x67c8,
  TagName: 0x45a3,
  TagLanguage: 0x447a,
  TagDefault: 0x4484,
  TagString: 0x4487,
  TagBinary: 0x4485,
} as const;
