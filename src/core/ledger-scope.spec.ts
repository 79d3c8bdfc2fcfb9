import { LedgerScope } from './ledger-scope.js';

describe('LedgerScope', () => {
  it('an unlimited caller sees every ledger and has no implicit one', () => {
    expect(LedgerScope.of(null)).toBe(LedgerScope.ALL);
    expect(LedgerScope.ALL.sees('anything')).toBe(true);
    expect(LedgerScope.ALL.limited).toBe(false);
    expect(LedgerScope.ALL.implicitLedger).toBeUndefined();
  });

  it('a limited caller sees its ledgers only', () => {
    const scope = LedgerScope.of(['b', 'a', 'b']);
    expect(scope.ids).toEqual(['a', 'b']);
    expect(scope.limited).toBe(true);
    expect([scope.sees('a'), scope.sees('b'), scope.sees('c')]).toEqual([true, true, false]);
    expect(scope.implicitLedger).toBeUndefined();
    expect(LedgerScope.of(['only']).implicitLedger).toBe('only');
  });
});
