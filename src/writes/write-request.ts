import { LedgerScope } from '../core/ledger-scope.js';

/** Who made a write, as the resources it creates record it (SPEC 10). */
export interface Actor {
  type: 'user' | 'apiKey' | 'external' | 'system';
  id: string;
  name: string;
}

/** What the write entrance needs to know about whoever asks for a write. */
export interface WriteRequest {
  /** Whose idempotency keys these are. */
  userId: string;
  actor: Actor;
  /** The caller's ledgers: the write sees nothing outside them. */
  scope: LedgerScope;
  /** The caller's Idempotency-Key; undefined when the write is not keyed. */
  key: string | undefined;
  /** Of method, path and body; only computed (and only compared) when there is a key. */
  requestHash: string;
  requestId: string;
}

/** The service itself: expiring reservations, the bootstrap admin. */
export const SYSTEM_ACTOR: Actor = { type: 'system', id: 'system', name: 'system' };

/** The service's own writes (expiring reservations, the bootstrap admin): never keyed. */
export const SYSTEM_REQUEST: WriteRequest = {
  userId: '00000000-0000-0000-0000-000000000000',
  actor: SYSTEM_ACTOR,
  scope: LedgerScope.ALL,
  key: undefined,
  requestHash: '',
  requestId: 'system',
};
