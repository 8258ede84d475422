import type { Knex } from 'knex';

/** Price monitors, every check they made (failures included) and the alerts they raised. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('monitors', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    // Exactly one owner: a merchant (API key) or a console user.
    t.uuid('merchant_id').references('merchants.id').onDelete('CASCADE').index();
    t.uuid('user_id').references('users.id').onDelete('CASCADE').index();
    t.text('url').notNullable();
    t.decimal('target_price', 14, 2).notNullable();
    t.string('currency', 3).notNullable();
    t.integer('interval_s').notNullable();
    t.text('selector');
    t.text('json_path');
    t.text('notify_webhook');
    t.boolean('paused').notNullable().defaultTo(false);
    /** Whether the last good price was at or below target: an alert fires only on the way down. */
    t.boolean('below_target').notNullable().defaultTo(false);
    t.text('last_outcome');
    t.decimal('last_price', 14, 2);
    t.string('last_currency', 3);
    t.text('last_availability');
    t.text('last_error');
    t.timestamp('last_checked_at', { useTz: true });
    t.timestamp('deleted_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(
    'ALTER TABLE monitors ADD CONSTRAINT monitors_one_owner CHECK ((merchant_id IS NULL) <> (user_id IS NULL))',
  );
  await knex.schema.createTable('price_checks', (t) => {
    t.bigIncrements('id');
    t.uuid('monitor_id').notNullable().references('monitors.id').onDelete('CASCADE');
    /** The check workflow's id: a retried recording cannot add a second row. */
    t.text('check_id').notNullable().unique();
    t.text('outcome').notNullable();
    t.decimal('price', 14, 2);
    t.string('currency', 3);
    t.text('availability');
    t.text('source');
    t.integer('http_status');
    t.text('error');
    t.integer('attempts').notNullable().defaultTo(1);
    t.timestamp('scheduled_at', { useTz: true });
    t.timestamp('checked_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['monitor_id', 'checked_at']);
  });
  await knex.schema.createTable('monitor_alerts', (t) => {
    t.bigIncrements('id');
    t.uuid('monitor_id').notNullable().references('monitors.id').onDelete('CASCADE').index();
    t.bigInteger('check_id').notNullable().references('price_checks.id').onDelete('CASCADE').unique();
    t.decimal('price', 14, 2).notNullable();
    t.decimal('target_price', 14, 2).notNullable();
    t.string('currency', 3);
    t.uuid('delivery_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  // Alert webhooks reuse the payments delivery machinery, sent to the monitor's own URL.
  await knex.schema.alterTable('webhook_deliveries', (t) => {
    t.text('url');
  });
  await knex.schema.alterTable('events', (t) => {
    t.uuid('monitor_id').references('monitors.id').onDelete('CASCADE');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('events', (t) => t.dropColumn('monitor_id'));
  await knex.schema.alterTable('webhook_deliveries', (t) => t.dropColumn('url'));
  for (const table of ['monitor_alerts', 'price_checks', 'monitors']) await knex.schema.dropTable(table);
}
