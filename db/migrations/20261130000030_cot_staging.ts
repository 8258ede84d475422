import type { Knex } from 'knex';

// Frozen copies of lib/cot/reports.ts as of this migration: schema history must not follow later edits.
const GROUP_KEYS = ['g1', 'g2', 'g3', 'g4', 'g5'];
const GROUPS: [reportType: string, grp: string, key: string][] = [
  ['legacy', 'noncommercial', 'g1'],
  ['legacy', 'commercial', 'g2'],
  ['legacy', 'nonreportable', 'g3'],
  ['disagg', 'producer_merchant', 'g1'],
  ['disagg', 'swap_dealers', 'g2'],
  ['disagg', 'managed_money', 'g3'],
  ['disagg', 'other_reportables', 'g4'],
  ['disagg', 'nonreportable', 'g5'],
  ['tff', 'dealer', 'g1'],
  ['tff', 'asset_manager', 'g2'],
  ['tff', 'leveraged_funds', 'g3'],
  ['tff', 'other_reportables', 'g4'],
  ['tff', 'nonreportable', 'g5'],
];
const FIELDS: [name: string, type: string][] = [
  ['net', 'bigint'],
  ['net_change', 'bigint'],
  ['pct_oi', 'double precision'],
  ['index_13', 'double precision'],
  ['index_52', 'double precision'],
  ['index_156', 'double precision'],
  ['wci_26', 'double precision'],
  ['signal', 'text'],
];
const groupMap = `(VALUES ${GROUPS.map(([t, g, k]) => `('${t}', '${g}', '${k}')`).join(', ')}) AS m(report_type, grp, key)`;

/**
 * COT indicators become one row per report (market and date) with each group's values in columns `g1_net` …
 * `g5_signal`, instead of one row per report and group: an ingestion writes a fifth of the rows and index
 * entries. `cot_pending_indicators` holds the markets whose reports an ingestion changed and the earliest
 * date changed, so that only those markets, from that date on, are computed again. Existing indicators are
 * carried over as they are.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE cot_indicators RENAME TO cot_indicators_by_group');
  await knex.raw('ALTER INDEX cot_indicators_pkey RENAME TO cot_indicators_by_group_pkey');
  await knex.raw(
    `CREATE TABLE cot_indicators (
       report_type text NOT NULL, subtype text NOT NULL, code text NOT NULL, report_date date NOT NULL,
       ${GROUP_KEYS.flatMap((g) => FIELDS.map(([f, type]) => `${g}_${f} ${type}`)).join(', ')},
       PRIMARY KEY (report_type, subtype, code, report_date)
     )`,
  );
  await knex.raw(
    `INSERT INTO cot_indicators
     SELECT o.report_type, o.subtype, o.code, o.report_date,
            ${GROUP_KEYS.flatMap((g) => FIELDS.map(([f]) => `max(o.${f}) FILTER (WHERE m.key = '${g}')`)).join(', ')}
     FROM cot_indicators_by_group o JOIN ${groupMap} USING (report_type, grp)
     GROUP BY o.report_type, o.subtype, o.code, o.report_date`,
  );
  await knex.raw('DROP TABLE cot_indicators_by_group');

  await knex.schema.createTable('cot_pending_indicators', (t) => {
    t.text('report_type').notNullable();
    t.text('subtype').notNullable();
    t.text('code').notNullable();
    // The earliest report date whose values changed: indicators before it depend on nothing that changed.
    t.date('since').notNullable();
    t.primary(['report_type', 'subtype', 'code']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('cot_pending_indicators');
  await knex.raw('ALTER TABLE cot_indicators RENAME TO cot_indicators_by_report');
  await knex.raw('ALTER INDEX cot_indicators_pkey RENAME TO cot_indicators_by_report_pkey');
  await knex.schema.createTable('cot_indicators', (t) => {
    t.text('report_type').notNullable();
    t.text('subtype').notNullable();
    t.text('code').notNullable();
    t.text('grp').notNullable();
    t.date('report_date').notNullable();
    t.bigInteger('net').notNullable();
    t.bigInteger('net_change');
    t.double('pct_oi');
    t.double('index_13');
    t.double('index_52');
    t.double('index_156');
    t.double('wci_26');
    t.text('signal');
    t.primary(['report_type', 'subtype', 'code', 'grp', 'report_date']);
  });
  await knex.raw('CREATE INDEX cot_indicators_date ON cot_indicators (report_type, subtype, report_date)');
  for (const g of GROUP_KEYS) {
    await knex.raw(
      `INSERT INTO cot_indicators (report_type, subtype, code, grp, report_date, ${FIELDS.map(([f]) => f).join(', ')})
       SELECT i.report_type, i.subtype, i.code, m.grp, i.report_date, ${FIELDS.map(([f]) => `i.${g}_${f}`).join(', ')}
       FROM cot_indicators_by_report i JOIN ${groupMap} ON m.report_type = i.report_type AND m.key = '${g}'
       WHERE i.${g}_net IS NOT NULL`,
    );
  }
  await knex.raw('DROP TABLE cot_indicators_by_report');
}
