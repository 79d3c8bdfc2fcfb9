/** Every refusal the ledger can give, in one list (the HTTP edge maps each to a status in one table). */
const CODES = [
  'ACCOUNT_NOT_FOUND',
  'CURRENCY_MISMATCH',
  'SAME_ACCOUNT',
  'ACCOUNT_NOT_ACTIVE',
  'INSUFFICIENT_FUNDS',
  'BALANCE_OVERFLOW',
  'AMOUNT_EXCEEDS_PENDING',
  'REVERSAL_EXCEEDS_AMOUNT',
  'IDEMPOTENCY_KEY_REUSED',
  'DUPLICATE_EXTERNAL_ID',
  'USERNAME_TAKEN',
  'IDEMPOTENCY_KEY_IN_USE',
  'TRANSFER_NOT_PENDING',
  'TRANSFER_EXPIRED',
  'ACCOUNT_BALANCE_NOT_ZERO',
  'ACCOUNT_CLOSED',
  'NOT_FOUND',
  'DUPLICATE_LEDGER_NAME',
  'LEDGER_NOT_FOUND',
  'LEDGER_MISMATCH',
  'UNBALANCED_TRANSACTION',
  'ACCOUNT_VERSION_CONFLICT',
  'BALANCE_CONDITION_FAILED',
  'ALREADY_REVERSED',
  'INVALID_TREE_SIZE',
  'CATEGORY_CYCLE',
  'INVALID_PERIOD',
  'PERIOD_CLOSED',
] as const;

export type LedgerErrorCode = (typeof CODES)[number];

export const isLedgerErrorCode = (code: string): code is LedgerErrorCode => (CODES as readonly string[]).includes(code);

/**
 * A refusal the caller can act on. Carries a stable `code` only; the HTTP layer owns the
 * code → status mapping so this module stays transport-free.
 */
export class LedgerError extends Error {
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
    /** Position of the refused transfer inside a batch, or of the refused posting inside a transaction. */
    readonly index?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class InsufficientFunds extends LedgerError {
  constructor(
    readonly accountId: string,
    readonly available: bigint,
    readonly requested: bigint,
  ) {
    super('INSUFFICIENT_FUNDS', `account ${accountId} has ${available} available, ${requested} requested`);
  }
}

export class BalanceOverflow extends LedgerError {
  constructor(readonly accountId: string) {
    super('BALANCE_OVERFLOW', `movement would overflow a balance counter of account ${accountId}`);
  }
}

export class SameAccount extends LedgerError {
  constructor() {
    super('SAME_ACCOUNT', 'debit and credit account must differ');
  }
}

export class CurrencyMismatch extends LedgerError {
  constructor(
    readonly accountId: string,
    readonly accountCurrency: string,
    readonly transferCurrency: string,
  ) {
    super('CURRENCY_MISMATCH', `account ${accountId} is in ${accountCurrency}, transfer is in ${transferCurrency}`);
  }
}

export class AccountNotActive extends LedgerError {
  constructor(
    readonly accountId: string,
    readonly status: string,
  ) {
    super('ACCOUNT_NOT_ACTIVE', `account ${accountId} is ${status}`);
  }
}

export class AccountNotFound extends LedgerError {
  constructor(readonly accountId: string) {
    super('ACCOUNT_NOT_FOUND', `account ${accountId} does not exist`);
  }
}

export class LedgerMismatch extends LedgerError {
  constructor(
    readonly accountId: string,
    readonly accountLedgerId: string,
    readonly ledgerId: string,
  ) {
    super('LEDGER_MISMATCH', `account ${accountId} is in ledger ${accountLedgerId}, not in ${ledgerId}`);
  }
}

/**
 * Copies rather than mutates so the same error object can be rethrown elsewhere untouched;
 * the prototype is kept so `instanceof InsufficientFunds` etc. still hold on the copy.
 */
export function withIndex(err: LedgerError, index: number): LedgerError {
  const copy = Object.create(
    Object.getPrototypeOf(err) as object,
    Object.getOwnPropertyDescriptors(err),
  ) as LedgerError;
  Object.defineProperty(copy, 'index', {
    value: index,
    enumerable: true,
    writable: false,
    configurable: true,
  });
  return copy;
}
