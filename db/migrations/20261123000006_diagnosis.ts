import type { Knex } from 'knex';

/** Diagnosis chat sessions and every message in them. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('diagnosis_sessions', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('access_token_hash').notNullable();
    t.jsonb('vehicle').notNullable();
    t.uuid('workshop_id').references('workshops.id').onDelete('SET NULL');
    t.text('status').notNullable().checkIn(['open', 'closed']);
    t.text('close_reason');
    t.jsonb('diagnosis');
    t.smallint('rating');
    t.text('feedback_comment');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('closed_at', { useTz: true });
  });
  await knex.schema.createTable('diagnosis_messages', (t) => {
    t.bigIncrements('id');
    t.uuid('session_id').notNullable().references('diagnosis_sessions.id').onDelete('CASCADE');
    /** Position in the conversation: a retried save cannot add the message twice. */
    t.integer('seq').notNullable();
    t.text('role').notNullable().checkIn(['user', 'assistant']);
    t.text('content').notNullable();
    t.text('kind').checkIn(['question', 'diagnosis']);
    t.jsonb('diagnosis');
    t.text('model');
    t.integer('latency_ms');
    t.decimal('confidence', 3, 2);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['session_id', 'seq']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['diagnosis_messages', 'diagnosis_sessions']) await knex.schema.dropTable(table);
}
