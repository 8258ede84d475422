import type { Knex } from 'knex';

/**
 * What each COT read found CFTC serving, so a year's file is asked for again only if it changed and is final
 * only once read after the next year's reports were stored; `unchanged` records a re-check that found it the same.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('cot_units', (t) => {
    // The response's validators, sent back as If-None-Match / If-Modified-Since on the next read.
    t.text('etag');
    t.text('last_modified');
    // SHA-256 (hex) of a downloaded zip: a server that ignores the validators still serves the same bytes.
    t.text('sha256');
    // The store already held a report of the next year when this read was planned: the year's file is final.
    t.boolean('final').notNullable().defaultTo(false);
  });
  await knex.raw('ALTER TABLE cot_units DROP CONSTRAINT cot_units_status');
  await knex.raw(
    `ALTER TABLE cot_units ADD CONSTRAINT cot_units_status CHECK (status IN ('loaded', 'unchanged', 'skipped', 'unavailable', 'failed'))`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DELETE FROM cot_units WHERE status = 'unchanged'`);
  await knex.raw('ALTER TABLE cot_units DROP CONSTRAINT cot_units_status');
  await knex.raw(
    `ALTER TABLE cot_units ADD CONSTRAINT cot_units_status CHECK (status IN ('loaded', 'skipped', 'unavailable', 'failed'))`,
  );
  await knex.schema.alterTable('cot_units', (t) => {
    for (const column of ['etag', 'last_modified', 'sha256', 'final']) t.dropColumn(column);
  });
}
