import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { LedgerError } from '../core/errors.js';
import { type Tx, Serializable } from '../database/serializable.js';
import { problemBody } from '../http/problem.filter.js';
import type { WriteRequest } from './write-request.js';

interface Outcome {
  status: number;
  body: unknown;
  replayed: boolean;
}

/**
 * The single write path (as in Formance's ledger): open the SERIALIZABLE transaction, check the
 * idempotency key, run the use case, record its outcome under the key, commit. A concurrent request
 * with the same key conflicts on the key row, is retried by `Serializable`, and then replays.
 */
@Injectable()
export class IdempotentWrites {
  constructor(private readonly serializable: Serializable) {}

  /** Runs `work` once per key and answers on `reply`: the fresh result, or the replay of the first one. */
  async respond<T>(
    w: WriteRequest,
    reply: FastifyReply,
    status: number,
    work: (tx: Tx) => Promise<T>,
  ): Promise<unknown> {
    const outcome = await this.execute(w, status, work);
    void reply.status(outcome.status);
    if (outcome.replayed) {
      void reply.header('idempotent-replayed', 'true');
      if (outcome.status >= 400) void reply.header('content-type', 'application/problem+json');
    }
    return outcome.body;
  }

  private async execute<T>(w: WriteRequest, status: number, work: (tx: Tx) => Promise<T>): Promise<Outcome> {
    const key = w.key;
    if (key === undefined) return { status, body: await this.serializable.run(work), replayed: false };
    try {
      return await this.serializable.run(async (tx) => {
        const previous = await this.find(tx, w.userId, key);
        if (previous !== undefined) return this.replay(previous, w);
        const body = await work(tx);
        await tx.query(
          `INSERT INTO idempotency_keys (user_id, key, request_hash, status, response) VALUES ($1, $2, $3, $4, $5)`,
          [w.userId, key, w.requestHash, status, JSON.stringify(body)],
        );
        return { status, body, replayed: false };
      });
    } catch (error) {
      // Business refusals are part of the request's outcome too: a retry gets the same refusal, not a second try.
      if (!(error instanceof LedgerError) || error.code === 'IDEMPOTENCY_KEY_REUSED') throw error;
      const body = problemBody(error, w.requestId);
      const stored = await this.serializable.run(async (tx) => {
        const previous = await this.find(tx, w.userId, key);
        if (previous !== undefined) return this.replay(previous, w);
        await tx.query(
          `INSERT INTO idempotency_keys (user_id, key, request_hash, status, response) VALUES ($1, $2, $3, $4, $5)`,
          [w.userId, key, w.requestHash, body.status, JSON.stringify(body)],
        );
        return undefined;
      });
      if (stored !== undefined) return stored;
      throw error;
    }
  }

  private async find(tx: Tx, userId: string, key: string): Promise<StoredOutcome | undefined> {
    const [row] = await tx.query<StoredOutcome>(
      'SELECT request_hash, status, response FROM idempotency_keys WHERE user_id = $1 AND key = $2',
      [userId, key],
    );
    return row;
  }

  private replay(previous: StoredOutcome, w: WriteRequest): Outcome {
    if (previous.request_hash !== w.requestHash) {
      throw new LedgerError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request');
    }
    return { status: previous.status, body: previous.response, replayed: true };
  }
}

interface StoredOutcome {
  request_hash: string;
  status: number;
  response: unknown;
}
