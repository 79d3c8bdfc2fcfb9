import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { LedgerError } from '../core/errors.js';
import { GroupCommitter } from '../database/group-commit.js';
import type { Tx } from '../database/serializable.js';
import { problemBody } from '../http/problem.filter.js';
import { findOutcomes, keyOf, type Outcome, replay, storeOutcomes } from './idempotency-store.js';
import type { WriteRequest } from './write-request.js';

/**
 * The single write path (as in Formance's ledger): in one SERIALIZABLE transaction (a group commit), check
 * the idempotency key, run the use case, record its outcome under the key, commit. A business refusal is
 * recorded under the key in the same transaction, so a retry gets the same refusal and never a second try.
 */
@Injectable()
export class IdempotentWrites {
  constructor(private readonly committer: GroupCommitter) {}

  /** Runs `work` once per idempotency key and answers on `reply`: the fresh result, or the replay of the first. */
  async respond<T>(
    w: WriteRequest,
    reply: FastifyReply,
    status: number,
    work: (tx: Tx) => Promise<T>,
  ): Promise<unknown> {
    return answer(reply, await this.committer.submit((tx) => this.execute(tx, w, status, work)));
  }

  private async execute<T>(tx: Tx, w: WriteRequest, status: number, work: (tx: Tx) => Promise<T>): Promise<Outcome> {
    const key = w.key;
    if (key === undefined) return { status, body: await work(tx), replayed: false };
    const previous = (await findOutcomes(tx, [{ userId: w.userId, key }])).get(keyOf(w.userId, key));
    if (previous !== undefined) return replay(previous, w.requestHash);
    let outcome: Outcome;
    tx.write('SAVEPOINT keyed_work');
    try {
      outcome = { status, body: await work(tx), replayed: false };
    } catch (error) {
      if (!(error instanceof LedgerError)) throw error;
      await tx.query('ROLLBACK TO SAVEPOINT keyed_work');
      const body = problemBody(error, w.requestId);
      outcome = { status: body.status, body, replayed: false };
    }
    await storeOutcomes(tx, [{ userId: w.userId, key, requestHash: w.requestHash, ...outcome }]);
    return outcome;
  }
}

/** Sets the status and headers of an outcome on the reply and returns its body. */
export function answer(reply: FastifyReply, outcome: Outcome): unknown {
  void reply.status(outcome.status);
  if (outcome.replayed) void reply.header('idempotent-replayed', 'true');
  if (outcome.status >= 400) void reply.header('content-type', 'application/problem+json');
  return outcome.body;
}
