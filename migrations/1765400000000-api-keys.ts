import type { MigrationInterface, QueryRunner } from 'typeorm';

/** API keys for services (SPEC 10): only a keyed hash of each key is kept. */
export class ApiKeys1765400000000 implements MigrationInterface {
  name = 'ApiKeys1765400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "api_keys" ("id" uuid NOT NULL, "seq" BIGSERIAL NOT NULL, "name" text NOT NULL,
      "key_hash" text NOT NULL, "roles" text array NOT NULL, "ledgers" uuid array,
      "expires_at" TIMESTAMP(3) WITH TIME ZONE, "created_by" jsonb NOT NULL,
      "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "last_used_at" TIMESTAMP(3) WITH TIME ZONE,
      "revoked_at" TIMESTAMP(3) WITH TIME ZONE,
      CONSTRAINT "api_keys_seq_key" UNIQUE ("seq"), CONSTRAINT "api_keys_key_hash_key" UNIQUE ("key_hash"),
      CONSTRAINT "api_keys_roles_check" CHECK (cardinality(roles) >= 1 AND roles <@ ARRAY['admin','operator','auditor']::text[]),
      CONSTRAINT "api_keys_ledgers_check" CHECK (ledgers IS NULL OR cardinality(ledgers) >= 1),
      CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "api_keys"`);
  }
}
