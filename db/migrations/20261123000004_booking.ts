import type { Knex } from 'knex';

const ACTIVE_APPOINTMENT_STATES = ['held', 'confirmed', 'in_progress'];

export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE EXTENSION IF NOT EXISTS btree_gist');
  await knex.schema.createTable('services', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('workshop_id').notNullable().references('workshops.id').onDelete('CASCADE').index();
    t.text('name').notNullable();
    t.integer('duration_min')
      .notNullable()
      .checkBetween([5, 24 * 60]);
    t.integer('buffer_before_min').notNullable().defaultTo(0).checkBetween([0, 240]);
    t.integer('buffer_after_min').notNullable().defaultTo(0).checkBetween([0, 240]);
    t.integer('price_min');
    t.integer('price_max');
    t.string('currency', 3);
  });
  await knex.schema.createTable('date_overrides', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('workshop_id').notNullable().references('workshops.id').onDelete('CASCADE');
    t.uuid('mechanic_id').references('mechanics.id').onDelete('CASCADE');
    t.date('date').notNullable();
    t.boolean('closed').notNullable();
    t.time('opens');
    t.time('closes');
    t.time('break_start');
    t.time('break_end');
    t.index(['workshop_id', 'date']);
  });
  await knex.schema.createTable('appointments', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('workshop_id').notNullable().references('workshops.id');
    t.uuid('mechanic_id').notNullable().references('mechanics.id');
    t.uuid('service_id').notNullable().references('services.id');
    t.timestamp('starts_at', { useTz: true }).notNullable();
    t.timestamp('ends_at', { useTz: true }).notNullable();
    // The interval the mechanic is occupied: the appointment widened by the service's buffers.
    t.timestamp('block_start', { useTz: true }).notNullable();
    t.timestamp('block_end', { useTz: true }).notNullable();
    t.text('status')
      .notNullable()
      .checkIn(['held', 'confirmed', 'in_progress', 'completed', 'no_show', 'expired', 'canceled']);
    t.text('customer_name').notNullable();
    t.text('customer_email').notNullable();
    t.text('customer_phone');
    t.jsonb('vehicle').notNullable().defaultTo('{}');
    t.text('diagnosis_session_id');
    t.text('access_token_hash').notNullable();
    t.timestamp('hold_expires_at', { useTz: true });
    t.text('cancel_reason');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['workshop_id', 'starts_at']);
  });
  // No double booking, enforced by PostgreSQL itself.
  await knex.raw(`ALTER TABLE appointments ADD CONSTRAINT appointments_no_overlap
    EXCLUDE USING gist (mechanic_id WITH =, tstzrange(block_start, block_end, '[)') WITH &&)
    WHERE (status IN (${ACTIVE_APPOINTMENT_STATES.map((s) => `'${s}'`).join(', ')}))`);
  await knex.schema.createTable('appointment_events', (t) => {
    t.bigIncrements('id');
    t.uuid('appointment_id').notNullable().references('appointments.id').onDelete('CASCADE').index();
    t.text('type').notNullable();
    t.jsonb('data').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('notifications', (t) => {
    t.bigIncrements('id');
    t.uuid('appointment_id').notNullable().references('appointments.id').onDelete('CASCADE');
    t.text('kind').notNullable();
    t.text('recipient').notNullable();
    t.text('message').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // A retried reminder activity must not notify twice.
    t.unique(['appointment_id', 'kind']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['notifications', 'appointment_events', 'appointments', 'date_overrides', 'services'])
    await knex.schema.dropTable(table);
}
