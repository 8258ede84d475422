import type { Knex } from 'knex';

/**
 * An Idempotency-Key's claim becomes a lease: a request whose process died no longer holds its key for the whole
 * day. A key row gets an id that its work records (`idempotency_key_id` of payment intents and monitors, a
 * merchant's `webhook_secret_rotation_key_id`), so a retry after a crash finds what the dead attempt committed;
 * `attempt` counts the claims; `failed` marks an attempt that ended in an error.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE idempotency_keys
      ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid() CONSTRAINT idempotency_keys_id_unique UNIQUE,
      ADD COLUMN attempt integer NOT NULL DEFAULT 1,
      ADD COLUMN locked_until timestamptz,
      DROP CONSTRAINT idempotency_keys_state_check,
      ADD CONSTRAINT idempotency_keys_state_check CHECK (state IN ('running', 'done', 'failed'))`);
  // Claims taken before (or by an API not yet upgraded) have no lease: they are held until they expire, as before,
  // since nothing links the work they did to them.
  // What a request does once per key records the key's id with its work.
  for (const table of ['payment_intents', 'monitors'])
    await knex.raw(
      `ALTER TABLE ${table} ADD COLUMN idempotency_key_id uuid CONSTRAINT ${table}_idempotency_key_id_unique UNIQUE`,
    );
  await knex.raw('ALTER TABLE merchants ADD COLUMN webhook_secret_rotation_key_id uuid');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE merchants DROP COLUMN webhook_secret_rotation_key_id');
  for (const table of ['payment_intents', 'monitors'])
    await knex.raw(`ALTER TABLE ${table} DROP COLUMN idempotency_key_id`);
  await knex.raw(`DELETE FROM idempotency_keys WHERE state = 'failed'`);
  await knex.raw(`
    ALTER TABLE idempotency_keys
      DROP COLUMN id,
      DROP COLUMN attempt,
      DROP COLUMN locked_until,
      DROP CONSTRAINT idempotency_keys_state_check,
      ADD CONSTRAINT idempotency_keys_state_check CHECK (state IN ('running', 'done'))`);
}
