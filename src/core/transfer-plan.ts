import { applyMovement, type AccountState, type Counters } from './balances.js';
import { AccountNotActive, AccountNotFound, CurrencyMismatch, SameAccount } from './errors.js';

export interface TransferRequest {
  debitAccountId: string;
  creditAccountId: string;
  amount: bigint;
  currency: string;
  pending: boolean;
}

export interface TransferPlan {
  debit: Counters;
  credit: Counters;
}

/**
 * The counters both accounts would have after the transfer, or the refusal. The check order is
 * part of the contract (a request wrong in several ways always gets the same code), so each
 * kind of check runs over both accounts before the next kind starts.
 */
export function planTransfer(
  req: TransferRequest,
  debit: AccountState | undefined,
  credit: AccountState | undefined,
): TransferPlan {
  if (req.debitAccountId === req.creditAccountId) throw new SameAccount();
  if (!debit) throw new AccountNotFound(req.debitAccountId);
  if (!credit) throw new AccountNotFound(req.creditAccountId);
  for (const a of [debit, credit]) {
    if (a.currency !== req.currency) throw new CurrencyMismatch(a.id, a.currency, req.currency);
  }
  assertActive([debit, credit]);
  const kind = req.pending ? 'reserve' : 'post';
  return {
    debit: applyMovement(debit, { kind, side: 'debit', amount: req.amount }),
    credit: applyMovement(credit, { kind, side: 'credit', amount: req.amount }),
  };
}

/** Money moves only between active accounts: a frozen or closed one takes part in no new movement (SPEC 5). */
export function assertActive(accounts: AccountState[]): void {
  for (const a of accounts) {
    if (a.status !== 'active') throw new AccountNotActive(a.id, a.status);
  }
}
