import type { Knex } from 'knex';

/**
 * Company verification: the registry's last answer per NIP (served while the registry is unavailable), every
 * look-up and the per-NIP counts, account checks with the registry's request id, watches and their changes.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE companies (
      nip text PRIMARY KEY CHECK (nip ~ '^[0-9]{10}$'),
      -- NULL: the registry answered that the NIP is not on the list.
      data jsonb,
      name text,
      request_id text NOT NULL,
      fetched_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw(`
    CREATE TABLE company_lookups (
      id bigserial PRIMARY KEY,
      -- The look-up's id in the Redis journal it is moved from: a repeated move records nothing twice.
      journal_id uuid NOT NULL UNIQUE,
      nip text NOT NULL,
      source text CHECK (source IN ('cache', 'live', 'stored')),
      outcome text NOT NULL,
      error text,
      merchant_id uuid REFERENCES merchants(id) ON DELETE CASCADE,
      user_id uuid REFERENCES users(id) ON DELETE CASCADE,
      looked_up_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE INDEX company_lookups_time ON company_lookups (looked_up_at)');
  await knex.raw('CREATE INDEX company_lookups_merchant_time ON company_lookups (merchant_id, looked_up_at)');
  await knex.raw(`
    CREATE TABLE company_search_stats (
      nip text PRIMARY KEY,
      count bigint NOT NULL,
      last_searched_at timestamptz NOT NULL
    )`);
  await knex.raw('CREATE INDEX company_search_stats_count ON company_search_stats (count DESC, last_searched_at DESC)');
  await knex.raw(`
    CREATE TABLE company_account_checks (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      nip text NOT NULL,
      account text NOT NULL CHECK (account ~ '^[0-9]{26}$'),
      date text NOT NULL CHECK (date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
      assigned boolean NOT NULL,
      request_id text NOT NULL,
      requested_at timestamptz NOT NULL,
      merchant_id uuid REFERENCES merchants(id) ON DELETE CASCADE,
      user_id uuid REFERENCES users(id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE INDEX company_account_checks_nip ON company_account_checks (nip, created_at)');
  await knex.raw(`
    CREATE TABLE company_watches (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      nip text NOT NULL CHECK (nip ~ '^[0-9]{10}$'),
      merchant_id uuid REFERENCES merchants(id) ON DELETE CASCADE,
      user_id uuid REFERENCES users(id) ON DELETE CASCADE,
      -- What changes are detected against: the company as last seen (NULL data: not on the list) since baseline_at.
      baseline_at timestamptz,
      snapshot jsonb,
      next_check_at timestamptz NOT NULL DEFAULT now(),
      last_checked_at timestamptz,
      -- The check that last wrote this row: a retried recording of it changes nothing.
      last_check_key text,
      last_error text,
      last_error_at timestamptz,
      deleted_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT company_watches_one_owner CHECK ((merchant_id IS NULL) <> (user_id IS NULL))
    )`);
  await knex.raw(
    'CREATE UNIQUE INDEX company_watches_merchant_nip ON company_watches (merchant_id, nip) WHERE deleted_at IS NULL AND merchant_id IS NOT NULL',
  );
  await knex.raw(
    'CREATE UNIQUE INDEX company_watches_user_nip ON company_watches (user_id, nip) WHERE deleted_at IS NULL AND user_id IS NOT NULL',
  );
  await knex.raw('CREATE INDEX company_watches_due ON company_watches (next_check_at) WHERE deleted_at IS NULL');
  await knex.raw(`
    CREATE TABLE company_changes (
      id bigserial PRIMARY KEY,
      watch_id uuid NOT NULL REFERENCES company_watches(id) ON DELETE CASCADE,
      nip text NOT NULL,
      check_key text NOT NULL,
      changes jsonb NOT NULL,
      company jsonb,
      event_id text REFERENCES events(id) ON DELETE SET NULL,
      delivery_id uuid,
      detected_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (watch_id, check_key)
    )`);
  await knex.raw('CREATE INDEX company_changes_watch ON company_changes (watch_id, detected_at)');
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'company_changes',
    'company_watches',
    'company_account_checks',
    'company_search_stats',
    'company_lookups',
    'companies',
  ])
    await knex.schema.dropTable(table);
}
