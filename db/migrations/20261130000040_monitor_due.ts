import type { Knex } from 'knex';

/**
 * Price monitors are due in PostgreSQL instead of one Temporal Schedule each: `next_check_at` (the next slot of the
 * monitor's grid), the task queue whose dispatcher checks it, and a claim (who holds it, until when) while a
 * dispatcher checks it. Every check records the workflow run that made it, for links into the Temporal Web UI.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('monitors', (t) => {
    t.timestamp('next_check_at', { useTz: true });
    /** Null: created before this migration, still to be taken over (its old Schedule removed) by a worker. */
    t.text('task_queue');
    t.text('claimed_by');
    t.timestamp('claimed_until', { useTz: true });
  });
  // Existing monitors keep their cadence where they have one; an overdue one is due within its next interval,
  // spread at random so that the first dispatcher after the upgrade does not check them all at once.
  await knex.raw(`
    UPDATE monitors SET next_check_at = CASE
      WHEN last_checked_at + make_interval(secs => interval_s) > now()
        THEN last_checked_at + make_interval(secs => interval_s)
      ELSE now() + make_interval(secs => interval_s * random())
    END`);
  await knex.raw('ALTER TABLE monitors ALTER COLUMN next_check_at SET NOT NULL');
  await knex.raw(
    'CREATE INDEX monitors_due ON monitors (task_queue, next_check_at) WHERE NOT paused AND deleted_at IS NULL',
  );
  await knex.schema.alterTable('price_checks', (t) => {
    t.text('workflow_id');
    t.text('run_id');
  });
  // Until now a check's id was the id of the workflow that made it.
  await knex.raw('UPDATE price_checks SET workflow_id = check_id');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('price_checks', (t) => {
    t.dropColumn('workflow_id');
    t.dropColumn('run_id');
  });
  await knex.raw('DROP INDEX monitors_due');
  await knex.schema.alterTable('monitors', (t) => {
    for (const column of ['next_check_at', 'task_queue', 'claimed_by', 'claimed_until']) t.dropColumn(column);
  });
}
