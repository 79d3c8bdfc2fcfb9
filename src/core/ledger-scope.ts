/**
 * The ledgers a caller may see (SPEC 9): every ledger, or a list of ledger ids. Outside them nothing exists for
 * the caller: an account there is an unknown account, a transfer there an unknown transfer. Built once per
 * request from the authenticated caller and handed to every read and write that touches ledger data, so the rule
 * lives here and in the one SQL condition next to it (`ledgers/ledger-rows.ts`), not in each route.
 */
export class LedgerScope {
  static readonly ALL = new LedgerScope(null);

  private constructor(
    /** The ids of the ledgers the caller is limited to, sorted; null when it sees every ledger. */
    readonly ids: readonly string[] | null,
  ) {}

  static of(ids: readonly string[] | null): LedgerScope {
    return ids === null ? LedgerScope.ALL : new LedgerScope([...new Set(ids)].sort());
  }

  get limited(): boolean {
    return this.ids !== null;
  }

  sees(ledgerId: string): boolean {
    return this.ids === null || this.ids.includes(ledgerId);
  }

  /** The ledger a new account goes to when the request names none: the caller's only ledger, else `default`. */
  get implicitLedger(): string | undefined {
    return this.ids?.length === 1 ? this.ids[0] : undefined;
  }
}
