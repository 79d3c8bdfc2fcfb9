/** Money is minor units held as bigint, bounded by PostgreSQL `bigint`. */
export const INT64_MAX = 9223372036854775807n;

/** Digits only, no leading zero: rules out "0", "01", "+1", " 1", "1e3", "1.0", "-1". */
export const AMOUNT_PATTERN = /^[1-9][0-9]{0,18}$/;

/** A transfer amount as it arrives on the wire: "1" … "9223372036854775807". */
export function isAmountString(s: unknown): s is string {
  // 19 digits can still exceed INT64_MAX, hence the bigint comparison after the pattern.
  return typeof s === 'string' && AMOUNT_PATTERN.test(s) && BigInt(s) <= INT64_MAX;
}

export function parseAmount(s: string): bigint {
  if (!isAmountString(s)) {
    throw new RangeError(`invalid amount ${JSON.stringify(String(s).slice(0, 40))}`);
  }
  return BigInt(s);
}

export function formatMoney(v: bigint): string {
  return v.toString(10);
}

/** A balance bound as it arrives on the wire: a signed decimal string within PostgreSQL `bigint`. */
export function isSignedMoneyString(s: unknown): s is string {
  return (
    typeof s === 'string' &&
    /^(0|-?[1-9][0-9]{0,18})$/.test(s) &&
    BigInt(s) <= INT64_MAX &&
    BigInt(s) >= -INT64_MAX - 1n
  );
}
