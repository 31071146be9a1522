/** Names of the tags Kinesis Video Streams adds to GetMedia and GetMediaForFragmentList output. */
export const KvsTag = {
  FragmentNumber: "AWS_KINESISVIDEO_FRAGMENT_NUMBER",
  ServerTimestamp: "AWS_KINESISVIDEO_SERVER_TIMESTAMP",
  ProducerTimestamp: "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP",
  ServerSideTimestamp: "AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP",
  ProducerSideTimestamp: "AWS_KINESISVIDEO_PRODUCER_SIDE_TIMESTAMP",
  MillisBehindNow: "AWS_KINESISVIDEO_MILLIS_BEHIND_NOW",
  ContinuationToken: "AWS_KINESISVIDEO_CONTINUATION_TOKEN",
  ErrorCode: "AWS_KINESISVIDEO_ERROR_CODE",
  ErrorId: "AWS_KINESISVIDEO_ERROR_ID",
  ExceptionErrorCode: "AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE",
  ExceptionMessage: "AWS_KINESISVIDEO_EXCEPTION_MESSAGE",
} as const;

const PREFIX = "AWS_KINESISVIDEO_";
/** The names above: a set lookup answers for them (several times a fragment) faster than startsWith. */
const KNOWN: ReadonlySet<string> = new Set(Object.values(KvsTag));

/** True for a tag name KVS reserves (AWS_KINESISVIDEO_*). */
export function isKvsTagName(name: string): boolean {
  return KNOWN.has(name) || name.startsWith(PREFIX);
}

/**
 * Parses a KVS timestamp tag ("1510005542.123", seconds with a fraction; may be relative, "0.000")
 * into integer milliseconds without float rounding. Returns null when the text is not such a number.
 */
export function parseKvsTimestamp(text: string): number | null {
  // By hand (it runs for every fragment): [space] [-] digits [. digits] [space].
  let i = 0;
  let n = text.length;
  while (i < n && isSpace(text.charCodeAt(i))) i++;
  while (n > i && isSpace(text.charCodeAt(n - 1))) n--;
  const negative = text.charCodeAt(i) === 45;
  if (negative) i++;
  let seconds = 0;
  const intStart = i;
  for (let c = text.charCodeAt(i); i < n && c >= 48 && c <= 57; c = text.charCodeAt(++i)) seconds = seconds * 10 + (c - 48);
  if (i === intStart) return null;
  let ms = 0;
  if (i < n) {
    if (text.charCodeAt(i) !== 46) return null;
    i++;
    let digits = 0;
    let roundUp = false;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) return null;
      if (digits < 3) ms = ms * 10 + (c - 48);
      else if (digits === 3) roundUp = c >= 53;
      digits++;
    }
    for (; digits < 3; digits++) ms *= 10;
    if (roundUp) ms++;
  }
  const total = seconds * 1000 + ms;
  return negative ? -total : total;
}

const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13) || c === 160 || c === 0xfeff;
