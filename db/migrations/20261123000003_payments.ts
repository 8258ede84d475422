import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('merchants', (t) => {
    // The previous secret keeps signing until it expires, so receivers can roll over without downtime.
    t.text('webhook_secret_prev_enc');
    t.timestamp('webhook_secret_prev_expires_at', { useTz: true });
    t.timestamp('webhook_failing_since', { useTz: true });
    t.timestamp('webhook_disabled_at', { useTz: true });
    t.text('webhook_disabled_reason');
  });

  await knex.schema.createTable('payment_intents', (t) => {
    t.text('id').primary();
    t.uuid('merchant_id').notNullable().references('merchants.id').onDelete('CASCADE');
    t.bigInteger('amount').notNullable();
    t.string('currency', 3).notNullable();
    t.text('order_id').notNullable();
    t.jsonb('metadata').notNullable().defaultTo('{}');
    t.text('status')
      .notNullable()
      .checkIn(['requires_payment_method', 'processing', 'succeeded', 'failed', 'canceled']);
    t.text('cancellation_reason');
    t.text('payment_token_hash').notNullable().unique();
    t.text('payment_token_enc').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['merchant_id', 'created_at']);
  });
  await knex.raw(
    'ALTER TABLE payment_intents ADD CONSTRAINT payment_amount_range CHECK (amount > 0 AND amount <= 99999999)',
  );

  await knex.schema.createTable('payment_transactions', (t) => {
    t.bigIncrements('id');
    t.text('intent_id').notNullable().references('payment_intents.id').onDelete('CASCADE').index();
    t.text('type').notNullable();
    t.text('from_status');
    t.text('to_status').notNullable();
    t.jsonb('data').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // A transition happens once per intent: a retried activity cannot log it twice.
    t.unique(['intent_id', 'to_status']);
  });

  await knex.schema.createTable('events', (t) => {
    t.text('id').primary();
    t.uuid('merchant_id').notNullable().references('merchants.id').onDelete('CASCADE');
    t.text('type').notNullable();
    t.text('intent_id').references('payment_intents.id').onDelete('CASCADE');
    t.jsonb('payload').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['merchant_id', 'created_at']);
    t.unique(['intent_id', 'type']);
  });

  await knex.schema.createTable('webhook_deliveries', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('event_id').notNullable().references('events.id').onDelete('CASCADE').unique();
    t.uuid('merchant_id').notNullable().references('merchants.id').onDelete('CASCADE');
    t.text('status').notNullable().checkIn(['pending', 'succeeded', 'failed', 'canceled']);
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('last_status_code');
    t.text('last_error');
    t.timestamp('next_attempt_at', { useTz: true });
    t.timestamp('delivered_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['merchant_id', 'status', 'created_at']);
  });

  await knex.schema.createTable('webhook_attempts', (t) => {
    t.bigIncrements('id');
    t.uuid('delivery_id').notNullable().references('webhook_deliveries.id').onDelete('CASCADE').index();
    t.text('url').notNullable();
    t.integer('status_code');
    t.integer('duration_ms').notNullable();
    t.text('response_snippet');
    t.text('error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('idempotency_keys', (t) => {
    t.uuid('merchant_id').notNullable().references('merchants.id').onDelete('CASCADE');
    t.text('key').notNullable();
    t.text('fingerprint').notNullable();
    t.text('state').notNullable().checkIn(['running', 'done']);
    t.integer('response_status');
    // Sealed: replayed bodies can hold payment tokens.
    t.text('response_body_enc');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.primary(['merchant_id', 'key']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'idempotency_keys',
    'webhook_attempts',
    'webhook_deliveries',
    'events',
    'payment_transactions',
    'payment_intents',
  ]) {
    await knex.schema.dropTable(table);
  }
  await knex.schema.alterTable('merchants', (t) => {
    t.dropColumns(
      'webhook_secret_prev_enc',
      'webhook_secret_prev_expires_at',
      'webhook_failing_since',
      'webhook_disabled_at',
      'webhook_disabled_reason',
    );
  });
}
