import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { LedgerError } from '../core/errors.js';
import { GroupCommitter } from '../database/group-commit.js';
import type { Tx } from '../database/serializable.js';
import { problemBody } from '../http/problem.filter.js';
import type { WriteRequest } from './write-request.js';

interface Outcome {
  status: number;
  body: unknown;
  replayed: boolean;
}

/**
 * The single write path (as in Formance's ledger): in one SERIALIZABLE transaction (a group commit), check
 * the idempotency key, run the use case, record its outcome under the key, commit. A business refusal is
 * recorded under the key in the same transaction, so a retry gets the same refusal and never a second try.
 */
@Injectable()
export class IdempotentWrites {
  constructor(private readonly committer: GroupCommitter) {}

  /**
   * Runs `work` once per idempotency key and answers on `reply`: the fresh result, or the replay of the first
   * one. `accounts` are the accounts the work will lock, so its group can lock them all up front in id order.
   */
  async respond<T>(
    w: WriteRequest,
    reply: FastifyReply,
    status: number,
    work: (tx: Tx) => Promise<T>,
    accounts: string[] = [],
  ): Promise<unknown> {
    const outcome = await this.committer.submit(accounts, (tx) => this.execute(tx, w, status, work));
    void reply.status(outcome.status);
    if (outcome.replayed) void reply.header('idempotent-replayed', 'true');
    if (outcome.status >= 400) void reply.header('content-type', 'application/problem+json');
    return outcome.body;
  }

  private async execute<T>(tx: Tx, w: WriteRequest, status: number, work: (tx: Tx) => Promise<T>): Promise<Outcome> {
    const key = w.key;
    if (key === undefined) return { status, body: await work(tx), replayed: false };
    const [previous] = await tx.query<StoredOutcome>(
      'SELECT request_hash, status, response FROM idempotency_keys WHERE user_id = $1 AND key = $2',
      [w.userId, key],
    );
    if (previous !== undefined) {
      if (previous.request_hash !== w.requestHash) {
        throw new LedgerError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request');
      }
      return { status: previous.status, body: previous.response, replayed: true };
    }
    let outcome: Outcome;
    await tx.query('SAVEPOINT keyed_work');
    try {
      outcome = { status, body: await work(tx), replayed: false };
    } catch (error) {
      if (!(error instanceof LedgerError)) throw error;
      await tx.query('ROLLBACK TO SAVEPOINT keyed_work');
      const body = problemBody(error, w.requestId);
      outcome = { status: body.status, body, replayed: false };
    }
    await tx.query(
      'INSERT INTO idempotency_keys (user_id, key, request_hash, status, response) VALUES ($1, $2, $3, $4, $5)',
      [w.userId, key, w.requestHash, outcome.status, JSON.stringify(outcome.body)],
    );
    return outcome;
  }
}

interface StoredOutcome {
  request_hash: string;
  status: number;
  response: unknown;
}
