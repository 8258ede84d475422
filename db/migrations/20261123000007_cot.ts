import type { Knex } from 'knex';

// Frozen copies of lib/cot/reports.ts as of this migration: schema history must not follow later edits.
const reportTypes = ['legacy', 'disagg', 'tff'];
const subtypes = ['fo', 'co'];
const GROUP_KEYS = ['g1', 'g2', 'g3', 'g4', 'g5'];
const groupFields = ['long', 'short', 'spread', 'long_chg', 'short_chg', 'spread_chg'];

const oneOf = (values: readonly string[]) => `(${values.map((v) => `'${v}'`).join(', ')})`;

/** COT reports normalised to one schema, their indicators, and every ingestion run and unit. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('cot_reports', (t) => {
    t.text('report_type').notNullable();
    t.text('subtype').notNullable();
    // Contract codes such as 13874A and 13874+ are not numbers; names change, codes do not.
    t.text('code').notNullable();
    t.date('report_date').notNullable();
    t.text('market_name').notNullable();
    t.bigInteger('open_interest').notNullable();
    t.bigInteger('oi_change');
    // NULL where CFTC printed `.` (no prior report) or the report type has no such column; never 0.
    for (const g of GROUP_KEYS) for (const f of groupFields) t.bigInteger(`${g}_${f}`);
    t.timestamp('loaded_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['report_type', 'subtype', 'code', 'report_date']);
  });
  await knex.raw(
    `ALTER TABLE cot_reports ADD CONSTRAINT cot_reports_type CHECK (report_type IN ${oneOf(reportTypes)} AND subtype IN ${oneOf(subtypes)})`,
  );
  // The screener reads the latest report of each type.
  await knex.raw('CREATE INDEX cot_reports_latest ON cot_reports (report_type, subtype, report_date DESC)');

  await knex.schema.createTable('cot_indicators', (t) => {
    t.text('report_type').notNullable();
    t.text('subtype').notNullable();
    t.text('code').notNullable();
    t.text('grp').notNullable();
    t.date('report_date').notNullable();
    t.bigInteger('net').notNullable();
    t.bigInteger('net_change');
    t.double('pct_oi');
    // NULL until the market has as many reports as the window is long.
    t.double('index_13');
    t.double('index_52');
    t.double('index_156');
    t.double('wci_26');
    t.text('signal');
    t.primary(['report_type', 'subtype', 'code', 'grp', 'report_date']);
  });
  await knex.raw('CREATE INDEX cot_indicators_date ON cot_indicators (report_type, subtype, report_date)');

  await knex.schema.createTable('cot_runs', (t) => {
    // The Temporal run id of the ingestion workflow.
    t.uuid('id').primary();
    t.text('workflow_id').notNullable();
    t.text('trigger').notNullable();
    t.uuid('requested_by').references('users.id').onDelete('SET NULL');
    t.jsonb('params').notNullable();
    t.text('status').notNullable().defaultTo('running');
    // Progress and row counts are sums over cot_units, so a retried unit cannot count twice.
    t.integer('units_total');
    t.text('error');
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true });
    t.index(['started_at']);
  });
  await knex.raw(
    `ALTER TABLE cot_runs ADD CONSTRAINT cot_runs_status CHECK (status IN ('running', 'succeeded', 'partial', 'failed'))`,
  );

  await knex.schema.createTable('cot_units', (t) => {
    t.bigIncrements('id');
    t.uuid('run_id').notNullable().references('cot_runs.id').onDelete('CASCADE');
    t.text('report_type').notNullable();
    t.text('subtype').notNullable();
    /** A year's zip, or null for the current-week file. */
    t.integer('year');
    t.text('url').notNullable();
    t.text('status').notNullable();
    t.integer('rows_read').notNullable().defaultTo(0);
    t.integer('rows_inserted').notNullable().defaultTo(0);
    t.integer('rows_updated').notNullable().defaultTo(0);
    t.integer('rows_unchanged').notNullable().defaultTo(0);
    t.integer('rows_rejected').notNullable().defaultTo(0);
    /** Counts per reason and the first rejected records, each with its reason. */
    t.jsonb('rejections');
    t.date('data_from');
    t.date('data_through');
    t.text('error');
    t.timestamp('finished_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['report_type', 'subtype', 'year']);
  });
  // One row per unit and run, whatever the retries: the year is -1 for the current-week file here.
  await knex.raw('CREATE UNIQUE INDEX cot_units_once ON cot_units (run_id, report_type, subtype, coalesce(year, -1))');
  await knex.raw(
    `ALTER TABLE cot_units ADD CONSTRAINT cot_units_status CHECK (status IN ('loaded', 'skipped', 'unavailable', 'failed'))`,
  );
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['cot_units', 'cot_runs', 'cot_indicators', 'cot_reports']) await knex.schema.dropTable(table);
}
