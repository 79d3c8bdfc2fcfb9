import type { MigrationInterface, QueryRunner } from 'typeorm';

export class UsersAndIdempotency1763700000000 implements MigrationInterface {
  name = 'UsersAndIdempotency1763700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "users" (
      "id" uuid NOT NULL,
      "username" text NOT NULL,
      "username_key" text NOT NULL,
      "password_hash" text NOT NULL,
      "roles" text array NOT NULL,
      "disabled" boolean NOT NULL DEFAULT false,
      "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
      "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "UQ_43f388ec81c5e6e796845dad903" UNIQUE ("username_key"),
      CONSTRAINT "users_roles_check" CHECK (cardinality(roles) >= 1 AND roles <@ ARRAY['admin','operator','auditor']::text[]),
      CONSTRAINT "PK_a3ffb1c0c8416b9fc6f907b7433" PRIMARY KEY ("id"))`);
    await q.query(`CREATE TABLE "idempotency_keys" (
      "user_id" uuid NOT NULL,
      "key" text NOT NULL,
      "request_hash" text NOT NULL,
      "status" smallint NOT NULL,
      "response" json NOT NULL,
      "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_392b1af86f210d98d3f0c764728" PRIMARY KEY ("user_id", "key"))`);
    await q.query(`CREATE INDEX "idempotency_keys_created_at_idx" ON "idempotency_keys" ("created_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "idempotency_keys"`);
    await q.query(`DROP TABLE "users"`);
  }
}
