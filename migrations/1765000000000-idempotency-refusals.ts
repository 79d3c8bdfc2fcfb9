import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Refusals kept under an idempotency key become domain outcomes (`{ code, detail, index?, requestId }`) rather
 * than rendered problem+json bodies with an HTTP status, so that the write path stores what the ledger decided
 * and the HTTP edge alone renders it, fresh or replayed, through its one mapping. A stored success needs no
 * status either: a replay is always of the same route, which answers with its own.
 */
export class IdempotencyRefusals1765000000000 implements MigrationInterface {
  name = 'IdempotencyRefusals1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "idempotency_keys" ADD "refusal" jsonb`);
    await q.query(`ALTER TABLE "idempotency_keys" ALTER COLUMN "response" DROP NOT NULL`);
    await q.query(
      `UPDATE "idempotency_keys" SET response = NULL, refusal = jsonb_strip_nulls(jsonb_build_object(
         'code', response->>'code', 'detail', response->>'detail', 'requestId', response->>'requestId',
         'index', response->'index'))
       WHERE status >= 400`,
    );
    await q.query(`ALTER TABLE "idempotency_keys" DROP COLUMN "status"`);
    await q.query(
      `ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_one_outcome"
         CHECK ((response IS NULL) <> (refusal IS NULL))`,
    );
  }

  /**
   * Back to rendered bodies, with the status of each code as the HTTP edge maps it (SPEC section 3). A success's
   * status was not kept: it comes back as 201, which post and void (200) would then replay.
   */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "idempotency_keys" DROP CONSTRAINT "idempotency_keys_one_outcome"`);
    await q.query(`ALTER TABLE "idempotency_keys" ADD "status" smallint`);
    await q.query(
      `UPDATE "idempotency_keys" SET status = CASE
         WHEN refusal IS NULL THEN 201
         WHEN refusal->>'code' = 'NOT_FOUND' THEN 404
         WHEN refusal->>'code' IN ('DUPLICATE_EXTERNAL_ID', 'USERNAME_TAKEN', 'IDEMPOTENCY_KEY_IN_USE',
           'TRANSFER_NOT_PENDING', 'TRANSFER_EXPIRED', 'ACCOUNT_BALANCE_NOT_ZERO', 'ACCOUNT_CLOSED') THEN 409
         ELSE 422 END`,
    );
    await q.query(
      `UPDATE "idempotency_keys" SET response = json_strip_nulls(json_build_object('type', 'about:blank',
         'title', left(refusal->>'code', 1) || lower(replace(substr(refusal->>'code', 2), '_', ' ')), 'status', status, 'code', refusal->>'code',
         'detail', refusal->>'detail', 'requestId', refusal->>'requestId', 'index', refusal->'index'))
       WHERE refusal IS NOT NULL`,
    );
    await q.query(`ALTER TABLE "idempotency_keys" ALTER COLUMN "status" SET NOT NULL`);
    await q.query(`ALTER TABLE "idempotency_keys" ALTER COLUMN "response" SET NOT NULL`);
    await q.query(`ALTER TABLE "idempotency_keys" DROP COLUMN "refusal"`);
  }
}
