import type { Knex } from 'knex';

/** Workshops, their mechanics and weekly working hours (per workshop, optionally per mechanic). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('workshops', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('name').notNullable();
    t.text('address').notNullable();
    t.text('time_zone').notNullable();
    t.text('phone');
    t.text('email');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('mechanics', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('workshop_id').notNullable().references('workshops.id').onDelete('CASCADE').index();
    t.text('name').notNullable();
    t.boolean('active').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('working_hours', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('workshop_id').notNullable().references('workshops.id').onDelete('CASCADE').index();
    // NULL: the workshop's own hours; set: a mechanic's hours, which take precedence for that mechanic.
    t.uuid('mechanic_id').references('mechanics.id').onDelete('CASCADE');
    // ISO weekday, 1 = Monday … 7 = Sunday; times are local to the workshop's time zone.
    t.smallint('weekday').notNullable().checkBetween([1, 7]);
    t.time('opens').notNullable();
    t.time('closes').notNullable();
    t.time('break_start');
    t.time('break_end');
  });
  await knex.raw(`ALTER TABLE working_hours ADD CONSTRAINT working_hours_order CHECK (
    opens < closes AND (break_start IS NULL) = (break_end IS NULL)
    AND (break_start IS NULL OR (opens <= break_start AND break_start < break_end AND break_end <= closes)))`);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['working_hours', 'mechanics', 'workshops']) await knex.schema.dropTable(table);
}
