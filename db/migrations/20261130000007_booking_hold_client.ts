import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Who asked for a hold (`ip:…`, `user:…`, `key:…`), so concurrent holds are limited per client as well as per
  // email. Rows booked before this column have none and count for no client.
  await knex.raw('ALTER TABLE appointments ADD COLUMN client_key text');
  // The hold limits count a client's and an email's active holds at every booking.
  await knex.raw(`CREATE INDEX appointments_held_email ON appointments (lower(customer_email)) WHERE status = 'held'`);
  await knex.raw(`CREATE INDEX appointments_held_client ON appointments (client_key) WHERE status = 'held'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX appointments_held_client');
  await knex.raw('DROP INDEX appointments_held_email');
  await knex.raw('ALTER TABLE appointments DROP COLUMN client_key');
}
