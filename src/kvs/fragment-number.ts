const DIGITS = /^[0-9]{1,128}$/;

/** True when `value` is a KVS fragment number: a decimal string of 1 to 128 digits. */
export function isFragmentNumber(value: string): boolean {
  return DIGITS.test(value);
}

function significant(value: string): string {
  if (!DIGITS.test(value)) throw new TypeError(`not a fragment number (1-128 decimal digits): ${JSON.stringify(value)}`);
  let k = 0;
  while (k < value.length - 1 && value.charCodeAt(k) === 48) k++;
  return k === 0 ? value : value.slice(k);
}

/**
 * Orders two fragment numbers numerically (they exceed 2^53, so never compare them as JS numbers):
 * negative when a < b, 0 when equal, positive when a > b. Throws TypeError for a non-number.
 */
export function compareFragmentNumbers(a: string, b: string): number {
  const x = significant(a);
  const y = significant(b);
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}
