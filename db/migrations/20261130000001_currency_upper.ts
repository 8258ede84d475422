import type { Knex } from 'knex';

/**
 * Currencies in one form and with their own minor units (issue 17). Payments and booking services stored lower-case
 * codes (`eur`), monitors upper-case (`EUR`): every stored code becomes the upper-case ISO 4217 form the API now
 * answers — columns, the payment events webhooks are built from and the transaction log — and a CHECK keeps it so.
 * Observed shop prices get three decimals, so 12.345 KWD (ISO 4217: 3 minor units) is recorded as read.
 */
const codeColumns: [table: string, column: string][] = [
  ['payment_intents', 'currency'],
  ['services', 'currency'],
  ['monitors', 'currency'],
  ['monitors', 'last_currency'],
  ['price_checks', 'currency'],
  ['monitor_alerts', 'currency'],
];
const jsonColumns: [table: string, column: string][] = [
  ['events', 'payload'],
  ['payment_transactions', 'data'],
];
const observedPrices: [table: string, column: string][] = [
  ['monitors', 'last_price'],
  ['price_checks', 'price'],
  ['monitor_alerts', 'price'],
];

export async function up(knex: Knex): Promise<void> {
  for (const [table, column] of codeColumns) {
    await knex.raw('UPDATE ?? SET ?? = upper(??) WHERE ?? <> upper(??)', [table, column, column, column, column]);
    await knex.raw(`ALTER TABLE ?? ADD CONSTRAINT ?? CHECK (?? ~ '^[A-Z]{3}$')`, [
      table,
      `${table}_${column}_iso4217`,
      column,
    ]);
  }
  for (const [table, column] of jsonColumns) {
    await knex.raw(
      `UPDATE ?? SET ?? = jsonb_set(??, '{currency}', to_jsonb(upper(?? ->> 'currency')))
       WHERE jsonb_typeof(?? -> 'currency') = 'string' AND ?? ->> 'currency' <> upper(?? ->> 'currency')`,
      [table, column, column, column, column, column, column],
    );
  }
  for (const [table, column] of observedPrices)
    await knex.raw('ALTER TABLE ?? ALTER COLUMN ?? TYPE numeric(15, 3)', [table, column]);
}

export async function down(knex: Knex): Promise<void> {
  for (const [table, column] of observedPrices)
    await knex.raw('ALTER TABLE ?? ALTER COLUMN ?? TYPE numeric(14, 2)', [table, column]);
  for (const [table, column] of codeColumns)
    await knex.raw('ALTER TABLE ?? DROP CONSTRAINT ??', [table, `${table}_${column}_iso4217`]);
  // Payments and services were stored in lower case before; monitors always upper.
  for (const table of ['payment_intents', 'services'])
    await knex.raw('UPDATE ?? SET currency = lower(currency)', [table]);
  for (const [table, column] of jsonColumns) {
    await knex.raw(
      `UPDATE ?? SET ?? = jsonb_set(??, '{currency}', to_jsonb(lower(?? ->> 'currency')))
       WHERE ${table === 'events' ? `type LIKE 'payment_intent.%' AND ` : ''}jsonb_typeof(?? -> 'currency') = 'string'`,
      [table, column, column, column, column],
    );
  }
}
