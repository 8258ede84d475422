import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // The event types the merchant's endpoint receives; `*` is every type (what endpoints got before).
  await knex.raw(`ALTER TABLE merchants ADD COLUMN webhook_events text[] NOT NULL DEFAULT '{*}'`);
  await knex.raw(
    `ALTER TABLE merchants ADD CONSTRAINT merchants_webhook_events_not_empty CHECK (cardinality(webhook_events) > 0)`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE merchants DROP COLUMN webhook_events');
}
