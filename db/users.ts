/**
 * Console users as admins manage them (issue 21, part B): per-module permissions, role and active state, the
 * access check's read of all three, and the figures of the admin statistics. Account creation, verification and
 * sessions are db/auth's.
 */
import type { Knex } from 'knex';
import type { QueryBuilder } from 'objection';
import { User, type Role } from './models/User.js';
import { UserPermission } from './models/UserPermission.js';

/** A user as the admin API shows them: no password hash; `modules` are the granted ones, sorted. */
export interface UserRow {
  id: string;
  email: string;
  display_name: string | null;
  role: Role;
  active: boolean;
  email_verified_at: Date | null;
  created_at: Date;
  modules: string[];
}

/**
 * `inactive`: deactivated by an admin; `unverified`: active, email not yet confirmed; `active`: active and confirmed.
 * Every user is in exactly one.
 */
export const USER_STATES = ['active', 'inactive', 'unverified'] as const;
export type UserState = (typeof USER_STATES)[number];

const STATE_SQL: Record<UserState, string> = {
  inactive: 'NOT users.active',
  unverified: 'users.active AND users.email_verified_at IS NULL',
  active: 'users.active AND users.email_verified_at IS NOT NULL',
};

/** Whether the user may use `module`: every admin, and each user granted it (placeholder: the module). */
const HOLDS_MODULE_SQL =
  "(users.role = 'admin' OR EXISTS (SELECT 1 FROM user_permissions p WHERE p.user_id = users.id AND p.module = ?))";

const GRANTED_SQL =
  "coalesce((SELECT array_agg(p.module ORDER BY p.module) FROM user_permissions p WHERE p.user_id = users.id), '{}') AS modules";

function userRows(db: Knex): QueryBuilder<User, User[]> {
  return User.query(db).select(
    'users.id',
    'users.email',
    'users.display_name',
    'users.role',
    'users.active',
    'users.email_verified_at',
    'users.created_at',
    db.raw(GRANTED_SQL),
  );
}

export interface UserFilter {
  state?: UserState;
  role?: Role;
  /** Users who may use this module (admins included). */
  permission?: string;
  /** Part of the email, any case. */
  search?: string;
}

/** The list query of console users (for api/pagination's `pageOf`); rows are `UserRow`s. */
export function userListQuery(db: Knex, filter: UserFilter): QueryBuilder<User, User[]> {
  const q = userRows(db);
  if (filter.state) q.whereRaw(STATE_SQL[filter.state]);
  if (filter.role) q.where('users.role', filter.role);
  if (filter.permission) q.whereRaw(HOLDS_MODULE_SQL, [filter.permission]);
  if (filter.search) q.whereRaw("users.email ILIKE ? ESCAPE '\\'", [`%${filter.search.replace(/[\\%_]/g, '\\$&')}%`]);
  return q;
}

/** The user with this id as `UserRow`, or undefined. */
export async function findUserRow(db: Knex, id: string): Promise<UserRow | undefined> {
  return (await userRows(db).findById(id)) as unknown as UserRow | undefined;
}

/** What the access check needs of a user: role, active state, the modules granted (not those a role implies). */
export interface UserAccess {
  role: Role;
  active: boolean;
  modules: string[];
}

/** The user's access as stored now (api/deps.ts caches it briefly: lib/accounts/accessCache.ts); undefined when there is no such user. */
export async function userAccess(db: Knex, id: string): Promise<UserAccess | undefined> {
  const row = await db('users').where('users.id', id).first('users.role', 'users.active', db.raw(GRANTED_SQL));
  return row as UserAccess | undefined;
}

/**
 * Sets the user's role and/or active state in one transaction; returns the user after, or undefined when there is
 * no such user. Deactivating ends every session of the user: their unrevoked refresh tokens are revoked under each
 * family's lock (the lock db/auth's rotation holds), so a refresh racing the deactivation leaves no live successor.
 * Access tokens stop working by themselves: the access check reads `active` on every request.
 */
export async function updateUser(
  db: Knex,
  id: string,
  patch: { role?: Role; active?: boolean },
): Promise<UserRow | undefined> {
  return db.transaction(async (trx) => {
    const updated = await trx('users').where({ id }).update(patch, ['id']);
    if (!updated.length) return undefined;
    if (patch.active === false) await revokeSessions(trx, id);
    return findUserRow(trx, id);
  });
}

/** Inside `trx`: revokes every unrevoked refresh token of the user, one family lock at a time (stable order). */
async function revokeSessions(trx: Knex.Transaction, userId: string): Promise<void> {
  const families: Array<{ family_id: string }> = await trx('refresh_tokens')
    .distinct('family_id')
    .where({ user_id: userId })
    .whereNull('revoked_at')
    .orderBy('family_id');
  for (const { family_id } of families)
    await trx.raw('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [`refresh-family:${family_id}`]);
  await trx.raw('UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = ? AND revoked_at IS NULL', [userId]);
  // The sessions as the user's session list shows them (db/auth).
  await trx.raw('UPDATE refresh_families SET revoked_at = now() WHERE user_id = ? AND revoked_at IS NULL', [userId]);
}

/**
 * Grants `modules` to the user (those already granted keep their grant); `grantedBy` is the admin, null for
 * grants made by the system (seed, tests). Returns the user after, or undefined when there is no such user.
 */
export async function grantModules(
  db: Knex,
  userId: string,
  modules: readonly string[],
  grantedBy: string | null,
): Promise<UserRow | undefined> {
  return db.transaction(async (trx) => {
    if (!(await trx('users').where({ id: userId }).forShare().first('id'))) return undefined;
    if (modules.length)
      await UserPermission.query(trx)
        .insert(modules.map((module) => ({ user_id: userId, module, granted_by: grantedBy })))
        .onConflict(['user_id', 'module'])
        .ignore();
    return findUserRow(trx, userId);
  });
}

/** Revokes `module` from the user (nothing when not granted); the user after, or undefined when there is none. */
export async function revokeModule(db: Knex, userId: string, module: string): Promise<UserRow | undefined> {
  await UserPermission.query(db).delete().where({ user_id: userId, module });
  return findUserRow(db, userId);
}

export interface UserStats {
  total: number;
  by_state: Record<UserState, number>;
  by_role: Record<Role, number>;
  /** Users who may use each module (admins included), for every module asked about, zeros too. */
  by_permission: Record<string, number>;
  /** Sign-ups per calendar day of `timeZone`, every day from `from` to `to` (inclusive), zeros too. */
  registrations: Array<{ date: string; count: number }>;
}

/**
 * The admin statistics. `from`/`to` are calendar dates (YYYY-MM-DD, `from` ≤ `to`) of `timeZone` (IANA); a day is
 * the zone's own day (23 or 25 hours across a clock change).
 */
export async function userStats(
  db: Knex,
  { from, to, timeZone, modules }: { from: string; to: string; timeZone: string; modules: readonly string[] },
): Promise<UserStats> {
  const [counts] = (
    await db.raw(`
      SELECT count(*)::int AS total,
        count(*) FILTER (WHERE ${STATE_SQL.active})::int AS active,
        count(*) FILTER (WHERE ${STATE_SQL.inactive})::int AS inactive,
        count(*) FILTER (WHERE ${STATE_SQL.unverified})::int AS unverified,
        count(*) FILTER (WHERE users.role = 'admin')::int AS admin,
        count(*) FILTER (WHERE users.role = 'operator')::int AS operator
      FROM users`)
  ).rows;
  const perModule = (
    await db.raw(
      `SELECT m.module, count(users.id)::int AS count
       FROM unnest(?::text[]) AS m(module)
       LEFT JOIN users ON users.role = 'admin'
         OR EXISTS (SELECT 1 FROM user_permissions p WHERE p.user_id = users.id AND p.module = m.module)
       GROUP BY m.module`,
      // A PostgreSQL array literal: knex would spread a JavaScript array into a list of placeholders.
      [`{${modules.join(',')}}`],
    )
  ).rows as Array<{ module: string; count: number }>;
  const perDay = (
    await db.raw(
      `SELECT to_char(d, 'YYYY-MM-DD') AS date, count(users.id)::int AS count
       FROM generate_series(?::timestamp, ?::timestamp, interval '1 day') AS d
       LEFT JOIN users ON users.created_at >= (d AT TIME ZONE ?)
         AND users.created_at < ((d + interval '1 day') AT TIME ZONE ?)
       GROUP BY d ORDER BY d`,
      [from, to, timeZone, timeZone],
    )
  ).rows as Array<{ date: string; count: number }>;
  return {
    total: counts.total,
    by_state: { active: counts.active, inactive: counts.inactive, unverified: counts.unverified },
    by_role: { admin: counts.admin, operator: counts.operator },
    by_permission: Object.fromEntries(modules.map((m) => [m, perModule.find((r) => r.module === m)?.count ?? 0])),
    registrations: perDay,
  };
}
