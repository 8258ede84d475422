import type { Knex } from 'knex';

/**
 * Per-module permissions of console users (issue 21): an operator may use a module's routes, pages and live
 * events only with a row here; admins hold every module implicitly. Every user existing now gets every module,
 * so operators keep what they could do; users made later start with none.
 */
export async function up(knex: Knex): Promise<void> {
  // The module list as of this migration (frozen: lib/accounts/modules.ts is the live one).
  await knex.raw(`
    CREATE TABLE user_permissions (
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      module text NOT NULL CHECK (module IN ('payments', 'monitors', 'cot', 'diagnosis', 'booking', 'companies')),
      -- Who granted it; NULL for the backfill below, or once the granting admin is deleted.
      granted_by uuid REFERENCES users(id) ON DELETE SET NULL,
      granted_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, module)
    )`);
  await knex.raw('CREATE INDEX user_permissions_module ON user_permissions (module)');
  await knex.raw(`
    INSERT INTO user_permissions (user_id, module)
    SELECT u.id, m.module
    FROM users u
    CROSS JOIN unnest(ARRAY['payments', 'monitors', 'cot', 'diagnosis', 'booking', 'companies']) AS m(module)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE user_permissions');
}
