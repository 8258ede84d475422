import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // When a refresh token was rotated, apart from `revoked_at` (logout, reuse): a twin request presenting it
  // shortly after is answered, a revoked one never. Tokens rotated before this column stay revoked.
  await knex.raw('ALTER TABLE refresh_tokens ADD COLUMN used_at timestamptz');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE refresh_tokens DROP COLUMN used_at');
}
