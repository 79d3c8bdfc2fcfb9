import { type EntryFields } from '../core/hash-chain.js';
import { isAmountString, isSignedMoneyString } from '../core/money.js';

/** A ledger entry as the export and the inclusion proof show it (SPEC 6, 7): money stays in decimal strings. */
export interface JournalEntry {
  id: string;
  seq: string;
  transferId: string;
  accountId: string;
  currency: string;
  direction: 'debit' | 'credit';
  amount: string;
  accountVersion: number;
  balanceAfter: string;
  createdAt: string;
  prevHash: string;
  hash: string;
  ledgerId: string;
  /** SPEC 12; journals exported before effective dates have none (every entry dated when recorded). */
  effectiveAt?: string;
}

export interface ParsedEntry {
  entry: JournalEntry;
  fields: EntryFields;
  /** seq as a number to compare; 19 digits at most, like the bigint column it comes from. */
  seq: bigint;
}

const SEQ = /^(0|[1-9][0-9]{0,18})$/;
const HEX32 = /^[0-9a-f]{64}$/;
const CURRENCY = /^[A-Z][A-Z0-9_]{2,15}$/;
// The hash covers createdAt as written, so only the API's own form is accepted: a reformatted one would not hash.
const TIMESTAMP = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** The entry, or the name of the first field that is missing or not in the API's form. */
export function parseEntry(value: unknown): ParsedEntry | string {
  if (!isObject(value)) return 'not a JSON object';
  const v = value;
  const { id, transferId, accountId, ledgerId } = v;
  if (!isText(id)) return 'id is missing or empty';
  if (!isText(transferId)) return 'transferId is missing or empty';
  if (!isText(accountId)) return 'accountId is missing or empty';
  if (!isText(ledgerId)) return 'ledgerId is missing or empty';
  if (typeof v.seq !== 'string' || !SEQ.test(v.seq)) return 'seq is not a string of digits';
  if (typeof v.currency !== 'string' || !CURRENCY.test(v.currency)) return 'currency is not a currency code';
  if (v.direction !== 'debit' && v.direction !== 'credit') return 'direction is neither "debit" nor "credit"';
  if (!isAmountString(v.amount)) return 'amount is not a positive amount string';
  if (typeof v.accountVersion !== 'number' || !Number.isSafeInteger(v.accountVersion) || v.accountVersion < 1) {
    return 'accountVersion is not a positive integer';
  }
  if (!isSignedMoneyString(v.balanceAfter)) return 'balanceAfter is not a money string';
  if (typeof v.createdAt !== 'string' || !TIMESTAMP.test(v.createdAt)) return 'createdAt is not an ISO UTC timestamp';
  if (v.effectiveAt !== undefined && (typeof v.effectiveAt !== 'string' || !TIMESTAMP.test(v.effectiveAt))) {
    return 'effectiveAt is not an ISO UTC timestamp';
  }
  if (typeof v.prevHash !== 'string' || !HEX32.test(v.prevHash)) return 'prevHash is not 64 lowercase hex digits';
  if (typeof v.hash !== 'string' || !HEX32.test(v.hash)) return 'hash is not 64 lowercase hex digits';
  const entry: JournalEntry = {
    id,
    seq: v.seq,
    transferId,
    accountId,
    currency: v.currency,
    direction: v.direction,
    amount: v.amount,
    accountVersion: v.accountVersion,
    balanceAfter: v.balanceAfter,
    createdAt: v.createdAt,
    prevHash: v.prevHash,
    hash: v.hash,
    ledgerId,
    ...(v.effectiveAt !== undefined && { effectiveAt: v.effectiveAt }),
  };
  return { entry, fields: fieldsOf(entry), seq: BigInt(entry.seq) };
}

/** The hashed fields of a well-formed entry (its money strings were checked by parseEntry). */
export function fieldsOf(e: JournalEntry): EntryFields {
  return {
    accountId: e.accountId,
    accountVersion: e.accountVersion,
    transferId: e.transferId,
    direction: e.direction,
    amount: BigInt(e.amount),
    currency: e.currency,
    balanceAfter: BigInt(e.balanceAfter),
    createdAt: e.createdAt,
    ...(e.effectiveAt !== undefined && { effectiveAt: e.effectiveAt }),
  };
}

export const describeEntry = (e: JournalEntry): string =>
  `account ${e.accountId} version ${e.accountVersion} (seq ${e.seq})`;
