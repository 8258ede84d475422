import type { Knex } from 'knex';

/**
 * Self-service accounts (README "Accounts"): profile and state columns on `users`, one row per console session
 * (a refresh-token family) with the device it was opened on, and one row per emailed code (sign-up verification,
 * password reset) holding only a hash of the code.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    // Accounts made by the seed or an admin count as verified (the default); self-registration writes NULL.
    t.timestamp('email_verified_at', { useTz: true }).defaultTo(knex.fn.now());
    t.text('display_name');
    t.text('language').notNullable().defaultTo('en').checkIn(['en', 'pl']);
    t.text('time_zone').notNullable().defaultTo('UTC');
    t.boolean('active').notNullable().defaultTo(true);
  });
  await knex.raw('UPDATE users SET email_verified_at = created_at WHERE email_verified_at IS NULL');

  await knex.schema.createTable('refresh_families', (t) => {
    t.uuid('id').primary();
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE').index();
    t.text('user_agent');
    t.text('ip');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_used_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('revoked_at', { useTz: true });
  });
  // Sessions opened before this migration: their device is unknown.
  await knex.raw(`
    INSERT INTO refresh_families (id, user_id, created_at, last_used_at, revoked_at)
    SELECT family_id, min(user_id::text)::uuid, min(created_at), max(coalesce(used_at, created_at)),
           CASE WHEN bool_and(revoked_at IS NOT NULL) THEN max(revoked_at) END
    FROM refresh_tokens GROUP BY family_id`);

  await knex.schema.createTable('account_codes', (t) => {
    // The attempt's id, which also names its workflow.
    t.uuid('id').primary();
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('purpose').notNullable().checkIn(['verify_email', 'password_reset']);
    // Of the live code only, NULL when none is: a 6-digit code as an HMAC keyed by SECRETS_KEY over the attempt id
    // and the code (its plain hash would be guessed offline), a reset link's long random token as its SHA-256.
    t.text('code_hash');
    t.timestamp('expires_at', { useTz: true });
    t.integer('failed_attempts').notNullable().defaultTo(0);
    t.timestamp('sent_at', { useTz: true });
    t.timestamp('consumed_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['user_id', 'purpose', 'created_at']);
  });
  await knex.raw('CREATE INDEX account_codes_hash ON account_codes (code_hash) WHERE code_hash IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('account_codes');
  await knex.schema.dropTable('refresh_families');
  await knex.schema.alterTable('users', (t) => {
    for (const column of ['email_verified_at', 'display_name', 'language', 'time_zone', 'active']) t.dropColumn(column);
  });
}
