/** What a verification run found wrong first; the verifier stops there (SPEC 14: it names the first problem). */
export type ProblemKind =
  | 'MALFORMED_ENTRY'
  | 'MALFORMED_CHECKPOINT'
  | 'SEQ_ORDER'
  | 'VERSION_GAP'
  | 'HASH_MISMATCH'
  | 'BALANCE_MISMATCH'
  | 'ACCOUNT_MISMATCH'
  | 'UNBALANCED_CURRENCY'
  | 'SIGNATURE'
  | 'CHECKPOINT_MISMATCH'
  | 'CHECKPOINT_CONFLICT'
  | 'TREE_MISMATCH'
  | 'TRUNCATED'
  | 'INCONSISTENT'
  | 'NOT_INCLUDED'
  | 'SERVER';

/** Which checkpoint a problem is about: its ledger, its size, and where it was read from. */
export interface CheckpointRef {
  ledgerId: string;
  treeSize: number;
  source: string;
}

export interface Problem {
  kind: ProblemKind;
  detail: string;
  accountId?: string;
  accountVersion?: number;
  seq?: string;
  ledgerId?: string;
  currency?: string;
  line?: number;
  checkpoint?: CheckpointRef;
}

export type Verdict<S> = { ok: true; summary: S } | { ok: false; problem: Problem };

export const fail = (problem: Problem): { ok: false; problem: Problem } => ({ ok: false, problem });
