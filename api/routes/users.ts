/**
 * Console users for admins (issue 21): list and look up users, change a user's role and active state, grant and
 * revoke modules; and, for every console user, which modules they hold (`GET /api/v1/auth/permissions`).
 */
import { z } from 'zod';
import {
  findUserRow,
  grantModules,
  revokeModule,
  updateUser,
  USER_STATES,
  userListQuery,
  type UserRow,
  type UserState,
} from '../../db/users.js';
import { effectiveModules, MODULES, USER_ACCESS_CHANGED } from '../../lib/accounts/modules.js';
import { domainEvent, publish } from '../../lib/platform/events.js';
import { isoOrNull } from '../dates.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import { pageOf, PageQuery } from '../pagination.js';
import type { Api } from '../route.js';

const Role = z.enum(['admin', 'operator']);
const ModuleName = z.enum(MODULES);

export const UserOut = z
  .object({
    id: z.uuid(),
    email: z.string(),
    display_name: z.string().nullable(),
    role: Role,
    active: z.boolean(),
    state: z.enum(USER_STATES).describe('`inactive`: deactivated; `unverified`: email not confirmed; else `active`'),
    email_verified_at: z.string().nullable(),
    created_at: z.string(),
    modules: z.array(ModuleName).describe('what the user may use: every module for an admin'),
    granted: z.array(ModuleName).describe('modules granted explicitly (they count again if an admin is demoted)'),
  })
  .meta({ id: 'User' });

function stateOf(u: UserRow): UserState {
  if (!u.active) return 'inactive';
  return u.email_verified_at ? 'active' : 'unverified';
}

const userOut = (u: UserRow): z.infer<typeof UserOut> => ({
  id: u.id,
  email: u.email,
  display_name: u.display_name ?? null,
  role: u.role,
  active: u.active,
  state: stateOf(u),
  email_verified_at: isoOrNull(u.email_verified_at),
  created_at: isoOrNull(u.created_at)!,
  modules: effectiveModules(u.role, u.modules),
  granted: effectiveModules('operator', u.modules),
});

const UserParams = z.object({ id: z.uuid() });
const PermissionParams = z.object({ id: z.uuid(), module: ModuleName });
const userResponses = { 200: { description: 'The user', schema: UserOut }, 404: { description: 'No such user' } };

export function userRoutes(api: Api, { db, redis, userAccess }: ApiDeps) {
  /**
   * The user's access changed: this process's cached copy goes at once, and the event tells every other API process
   * to drop theirs and open event streams of the user to read it again (api/routes/events.ts); best effort.
   */
  const announce = (userId: string) => {
    userAccess.forget(userId);
    return publish(redis, domainEvent(USER_ACCESS_CHANGED, null, { user_id: userId })).catch(() => {});
  };

  api.route({
    method: 'get',
    path: '/api/v1/auth/permissions',
    summary: 'The role and modules of the signed-in console user (what the console may show)',
    tag: 'auth',
    access: ['operator'],
    responses: {
      200: {
        description: 'Role and modules',
        schema: z.object({ role: Role, modules: z.array(ModuleName) }).meta({ id: 'Permissions' }),
      },
    },
    handler: (ctx) => {
      const p = ctx.state.principal!;
      if (p.kind === 'user') ctx.body = { role: p.role, modules: p.modules };
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/users',
    summary: 'List console users, newest first',
    tag: 'users',
    access: ['admin'],
    query: PageQuery.extend({
      state: z.enum(USER_STATES).optional(),
      role: Role.optional(),
      permission: ModuleName.optional().describe('users who may use this module (admins included)'),
      search: z.string().trim().max(254).optional().describe('part of the email, any case'),
    }),
    responses: {
      200: { description: 'A page', schema: z.object({ data: z.array(UserOut), next_cursor: z.string().nullable() }) },
    },
    handler: async (ctx, { query }) => {
      const page = await pageOf(userListQuery(db, query), query);
      ctx.body = { data: (page.rows as unknown as UserRow[]).map(userOut), next_cursor: page.nextCursor };
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/users/:id',
    summary: 'One console user',
    tag: 'users',
    access: ['admin'],
    params: UserParams,
    responses: userResponses,
    handler: async (ctx, { params }) => {
      const user = await findUserRow(db, params.id);
      if (!user) throw notFound('User');
      ctx.body = userOut(user);
    },
  });

  api.route({
    method: 'patch',
    path: '/api/v1/users/:id',
    summary: "Change a user's role and/or active state (deactivating ends their sessions at once)",
    tag: 'users',
    access: ['admin'],
    params: UserParams,
    body: z
      .object({ role: Role.optional(), active: z.boolean().optional() })
      .refine((b) => b.role !== undefined || b.active !== undefined, 'give `role` and/or `active`'),
    responses: {
      ...userResponses,
      409: { description: '`own_access`: an admin cannot deactivate or demote themselves' },
    },
    handler: async (ctx, { params, body }) => {
      const p = ctx.state.principal!;
      // An admin locking themselves out would leave the console maybe without any admin; another admin must do it.
      if (p.kind === 'user' && p.userId === params.id && (body.active === false || body.role === 'operator'))
        throw new ApiError(409, 'own_access', 'You cannot deactivate or demote yourself; ask another admin');
      const user = await updateUser(db, params.id, body);
      if (!user) throw notFound('User');
      await announce(user.id);
      ctx.body = userOut(user);
    },
  });

  for (const [method, summary] of [
    ['post', 'Grant a module to a user (granting it again changes nothing)'],
    ['delete', 'Revoke a module from a user (effective on their next request)'],
  ] as const)
    api.route({
      method,
      path: '/api/v1/users/:id/permissions/:module',
      summary,
      tag: 'users',
      access: ['admin'],
      params: PermissionParams,
      responses: userResponses,
      handler: async (ctx, { params }) => {
        const p = ctx.state.principal!;
        const user =
          method === 'post'
            ? await grantModules(db, params.id, [params.module], p.kind === 'user' ? p.userId : null)
            : await revokeModule(db, params.id, params.module);
        if (!user) throw notFound('User');
        await announce(user.id);
        ctx.body = userOut(user);
      },
    });
}
