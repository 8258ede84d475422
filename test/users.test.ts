/**
 * Users and permissions (issue 21, part B): module checks on operator routes, grants and revocations counting
 * from the next request, deactivation ending sessions and access at once (the live event stream too), an admin
 * unable to lock themselves out, admin-only routes, and the admin statistics from a known set of users in a
 * database of their own.
 */
import bcrypt from 'bcryptjs';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventActivities } from '../activities/events.js';
import { createScratchDatabase } from '../db/knex.js';
import { MODULES } from '../lib/accounts/modules.js';
import { domainEvent } from '../lib/platform/events.js';
import { call, createMerchant, openStream, signIn, startApi, unique } from './helpers.js';

let api: Awaited<ReturnType<typeof startApi>>;
let admin: Awaited<ReturnType<typeof signIn>>;
const url = () => api.url;

beforeAll(async () => {
  api = await startApi();
  admin = await signIn(url(), 'admin');
});
afterAll(() => api?.close());

const asAdmin = (method: string, path: string, body?: unknown) =>
  call(url(), method, path, { token: admin.token, body });
const grant = (userId: string, module: string) => asAdmin('POST', `/api/v1/users/${userId}/permissions/${module}`);
const revoke = (userId: string, module: string) => asAdmin('DELETE', `/api/v1/users/${userId}/permissions/${module}`);
const refresh = (cookie: string) => call(url(), 'POST', '/api/v1/auth/refresh', { headers: { cookie } });

describe('module permissions', () => {
  it('an operator reaches the routes of held modules only, and learns which they hold', async () => {
    const op = await signIn(url(), 'operator', ['cot']);
    const mine = await call(url(), 'GET', '/api/v1/auth/permissions', { token: op.token });
    expect(mine.json).toEqual({ role: 'operator', modules: ['cot'] });
    expect((await call(url(), 'GET', '/api/v1/cot/ingestions', { token: op.token })).status).toBe(200);
    const refused = await call(url(), 'GET', '/api/v1/payments', { token: op.token });
    expect(refused.status).toBe(403);
    expect(refused.json.error).toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(/payments permission/),
    });
    // The merchants and webhooks tags belong to payments too.
    expect((await call(url(), 'GET', '/api/v1/merchants', { token: op.token })).status).toBe(403);
    expect((await call(url(), 'GET', '/api/v1/webhooks/history', { token: op.token })).status).toBe(403);
    // Routes of no module stay open to every operator.
    expect((await call(url(), 'GET', '/api/v1/overview', { token: op.token })).status).toBe(200);
    expect((await call(url(), 'GET', '/api/v1/auth/me', { token: op.token })).status).toBe(200);
  });

  it('the overview shows an operator the areas and recent events of held modules only', async () => {
    const merchant = await createMerchant(url(), admin.token);
    const intent = await call(url(), 'POST', '/api/v1/payments', {
      token: merchant.key,
      body: { amount: 1000, currency: 'pln', order_id: unique('order') },
    });
    expect(intent.status, intent.text).toBe(201);
    const cotOnly = await signIn(url(), 'operator', ['cot']);
    const limited = (await call(url(), 'GET', '/api/v1/overview', { token: cotOnly.token })).json;
    expect(limited).toMatchObject({
      payments: null,
      webhooks: null,
      monitors: null,
      appointments: null,
      diagnosis: null,
    });
    expect(limited.cot).toMatchObject({ reports: expect.any(Array) });
    expect(limited.recent.filter((e: { target: { kind: string } }) => e.target.kind !== 'cot_run')).toEqual([]);

    const full = async () => (await call(url(), 'GET', '/api/v1/overview', { token: admin.token })).json;
    expect((await full()).payments.total).toBeGreaterThanOrEqual(1);
    // The intent's first event is written by its workflow.
    await expect
      .poll(async () => (await full()).recent.map((e: { target: { id: string } }) => e.target.id))
      .toContain(intent.json.id);
  });

  it('a grant and a revocation count from the very next request, with the same access token', async () => {
    const op = await signIn(url(), 'operator', []);
    expect((await call(url(), 'GET', '/api/v1/monitors', { token: op.token })).status).toBe(403);
    const granted = await grant(op.id, 'monitors');
    expect(granted.status, granted.text).toBe(200);
    expect(granted.json).toMatchObject({ id: op.id, modules: ['monitors'], granted: ['monitors'] });
    expect((await call(url(), 'GET', '/api/v1/monitors', { token: op.token })).status).toBe(200);
    // Granting again changes nothing.
    expect((await grant(op.id, 'monitors')).json.modules).toEqual(['monitors']);
    const revoked = await revoke(op.id, 'monitors');
    expect(revoked.status).toBe(200);
    expect(revoked.json.modules).toEqual([]);
    expect((await call(url(), 'GET', '/api/v1/monitors', { token: op.token })).status).toBe(403);
    expect((await call(url(), 'GET', '/api/v1/auth/permissions', { token: op.token })).json.modules).toEqual([]);
  });

  it('admins hold every module whatever was granted; a demoted admin keeps only the granted ones', async () => {
    const other = await signIn(url(), 'admin', ['booking']);
    expect((await call(url(), 'GET', '/api/v1/auth/permissions', { token: other.token })).json).toEqual({
      role: 'admin',
      modules: [...MODULES],
    });
    expect((await call(url(), 'GET', '/api/v1/payments', { token: other.token })).status).toBe(200);
    const demoted = await asAdmin('PATCH', `/api/v1/users/${other.id}`, { role: 'operator' });
    expect(demoted.status, demoted.text).toBe(200);
    expect(demoted.json).toMatchObject({ role: 'operator', modules: ['booking'] });
    // The token still says admin; the database does not.
    expect((await call(url(), 'GET', '/api/v1/users', { token: other.token })).status).toBe(403);
    expect((await call(url(), 'GET', '/api/v1/payments', { token: other.token })).status).toBe(403);
    expect((await call(url(), 'GET', '/api/v1/appointments', { token: other.token })).status).toBe(200);
  });

  it('on a public route, an operator without its module is served as anyone, without the operator’s reach', async () => {
    const op = await signIn(url(), 'operator', ['payments']);
    const anyone = await call(url(), 'GET', '/api/v1/diagnosis/sessions/00000000-0000-4000-8000-000000000000');
    const lacking = await call(url(), 'GET', '/api/v1/diagnosis/sessions/00000000-0000-4000-8000-000000000000', {
      token: op.token,
    });
    expect(anyone.status).toBe(401);
    expect(lacking.status).toBe(anyone.status);
    expect(lacking.json.error.code).toBe(anyone.json.error.code);
    await grant(op.id, 'diagnosis');
    const holding = await call(url(), 'GET', '/api/v1/diagnosis/sessions/00000000-0000-4000-8000-000000000000', {
      token: op.token,
    });
    expect(holding.status).toBe(404);
  });
});

describe('deactivation', () => {
  it('ends the user’s access token, refresh token and live stream at once; reactivation needs a new sign-in', async () => {
    const op = await signIn(url(), 'operator');
    const stream = await openStream(url(), op.token);
    const deactivated = await asAdmin('PATCH', `/api/v1/users/${op.id}`, { active: false });
    expect(deactivated.status, deactivated.text).toBe(200);
    expect(deactivated.json).toMatchObject({ active: false, state: 'inactive' });

    const after = await call(url(), 'GET', '/api/v1/payments', { token: op.token });
    expect(after.status).toBe(401);
    expect(after.json.error.message).toMatch(/deactivated/);
    expect((await refresh(op.cookie)).status).toBe(401);
    expect(await stream.ended).toBe(true);

    expect((await asAdmin('PATCH', `/api/v1/users/${op.id}`, { active: true })).json.state).toBe('active');
    expect((await call(url(), 'GET', '/api/v1/payments', { token: op.token })).status).toBe(200);
    // The sessions it ended stay ended.
    expect((await refresh(op.cookie)).status).toBe(401);
  });

  it('counts on another API process as soon as the change is announced, however long it may cache access', async () => {
    // Caching for a minute: only the announcement can make this process see the change in time.
    const other = await startApi({ USER_ACCESS_CACHE_MS: '60000' });
    try {
      const op = await signIn(url(), 'operator', ['monitors']);
      const onOther = (path: string) => call(other.url, 'GET', path, { token: op.token });
      expect((await onOther('/api/v1/monitors')).status).toBe(200);
      expect((await revoke(op.id, 'monitors')).status).toBe(200);
      await expect.poll(async () => (await onOther('/api/v1/monitors')).status, { timeout: 5000 }).toBe(403);
      expect((await asAdmin('PATCH', `/api/v1/users/${op.id}`, { active: false })).status).toBe(200);
      await expect.poll(async () => (await onOther('/api/v1/payments')).status, { timeout: 5000 }).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('counts on the process that made the change from the very next request, even when the announcement is lost', async () => {
    const own = await startApi({ USER_ACCESS_CACHE_MS: '60000' });
    try {
      // This process hears no announcements any more, its own included.
      await own.deps.events.close();
      const ownAdmin = await signIn(own.url, 'admin');
      const op = await signIn(own.url, 'operator', ['monitors']);
      const onOwn = (method: string, path: string, token: string) => call(own.url, method, path, { token });
      expect((await onOwn('GET', '/api/v1/monitors', op.token)).status).toBe(200);
      expect((await onOwn('DELETE', `/api/v1/users/${op.id}/permissions/monitors`, ownAdmin.token)).status).toBe(200);
      expect((await onOwn('GET', '/api/v1/monitors', op.token)).status).toBe(403);
    } finally {
      await own.close();
    }
  });

  it('an admin cannot deactivate or demote themselves (409), and may save their own unchanged state', async () => {
    for (const body of [{ active: false }, { role: 'operator' }, { role: 'operator', active: true }]) {
      const res = await asAdmin('PATCH', `/api/v1/users/${admin.id}`, body);
      expect(res.status, JSON.stringify(body)).toBe(409);
      expect(res.json.error).toMatchObject({ code: 'own_access', message: expect.stringMatching(/yourself/) });
    }
    expect((await asAdmin('PATCH', `/api/v1/users/${admin.id}`, { role: 'admin', active: true })).status).toBe(200);
    expect((await call(url(), 'GET', '/api/v1/users', { token: admin.token })).status).toBe(200);
  });
});

describe('live events by module', () => {
  it('an operator’s stream carries only their modules’ events, and follows a grant and a revocation', async () => {
    const op = await signIn(url(), 'operator', ['booking']);
    const stream = await openStream(url(), op.token);
    // Other test runs publish on the same Redis channel: only this test's events (its marker) count.
    const marker = unique('run');
    const publish = (type: string) => eventActivities(api.deps.redis).publishEvent(domainEvent(type, null, { marker }));
    const ours = () => stream.events.filter((e) => e.data.marker === marker).map((e) => e.type);
    await publish('appointment.held');
    await publish('payment_intent.created');
    await publish('test.unmapped');
    await expect.poll(ours).toContain('appointment.held');

    await grant(op.id, 'payments');
    // The stream reads the grant when the admin's change is announced; events after that carry payments too.
    await expect
      .poll(async () => {
        await publish('payment_intent.succeeded');
        return ours().includes('payment_intent.succeeded');
      })
      .toBe(true);
    await revoke(op.id, 'booking');
    await expect
      .poll(async () => {
        await publish('payment_intent.failed');
        return ours().includes('payment_intent.failed');
      })
      .toBe(true);
    await publish('appointment.confirmed');
    await publish('payment_intent.canceled');
    await expect.poll(ours).toContain('payment_intent.canceled');
    stream.close();

    expect(ours()).not.toContain('payment_intent.created');
    expect(ours()).not.toContain('test.unmapped');
    expect(ours().filter((t) => t.startsWith('appointment.'))).toEqual(['appointment.held']);
    // Nothing of another module reached it at all, whoever published it.
    expect(stream.events.filter((e) => !/^(appointment|payment_intent|webhook)/.test(e.type))).toEqual([]);
  });
});

describe('admin-only routes', () => {
  it('refuse operators (every module held) and merchant keys with 403', async () => {
    const op = await signIn(url(), 'operator');
    const merchant = await createMerchant(url(), admin.token);
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/api/v1/users'],
      ['GET', `/api/v1/users/${op.id}`],
      ['PATCH', `/api/v1/users/${op.id}`, { active: true }],
      ['POST', `/api/v1/users/${op.id}/permissions/payments`],
      ['DELETE', `/api/v1/users/${op.id}/permissions/payments`],
      ['GET', '/api/v1/admin/stats'],
    ];
    for (const [method, path, body] of routes)
      for (const token of [op.token, merchant.key]) {
        const res = await call(url(), method, path, { token, body });
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(res.json.error.code).toBe('forbidden');
      }
    // Nothing changed: the operator still holds every module.
    expect((await asAdmin('GET', `/api/v1/users/${op.id}`)).json.modules).toEqual([...MODULES]);
  });

  it('answer 404 for an unknown user and 400 for an unknown module, an empty change or a bad range', async () => {
    const nobody = '00000000-0000-4000-8000-000000000000';
    expect((await asAdmin('GET', `/api/v1/users/${nobody}`)).status).toBe(404);
    expect((await asAdmin('PATCH', `/api/v1/users/${nobody}`, { active: false })).status).toBe(404);
    expect((await grant(nobody, 'cot')).status).toBe(404);
    expect((await revoke(nobody, 'cot')).status).toBe(404);
    expect((await grant(admin.id, 'users')).status).toBe(400);
    expect((await asAdmin('PATCH', `/api/v1/users/${admin.id}`, {})).status).toBe(400);
    expect((await asAdmin('GET', '/api/v1/admin/stats?from=2026-02-02&to=2026-02-01')).status).toBe(400);
    expect((await asAdmin('GET', '/api/v1/admin/stats?from=2024-01-01&to=2026-01-01')).status).toBe(400);
    expect((await asAdmin('GET', '/api/v1/admin/stats?time_zone=Mars/Base')).status).toBe(400);
  });
});

// Last: this block points the process's models at a database of its own.
describe('admin statistics and the user list, from a known set of users', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let own: Awaited<ReturnType<typeof startApi>>;
  let caller: Awaited<ReturnType<typeof signIn>>;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    scratch = await createScratchDatabase(process.env.DATABASE_URL!, 'meridian_users');
    own = await startApi({ DATABASE_URL: scratch.url });
    caller = await signIn(own.url, 'admin', []);
    const db: Knex = own.deps.db;
    const hash = await bcrypt.hash('unused', 4);
    const user = async (
      name: string,
      role: string,
      createdAt: string,
      modules: string[],
      extra: Record<string, unknown> = {},
    ) => {
      const [row] = await db('users').insert(
        { email: `${name}@stats.test`, password_hash: hash, role, created_at: createdAt, ...extra },
        ['id'],
      );
      ids[name] = row.id;
      if (modules.length) await db('user_permissions').insert(modules.map((module) => ({ user_id: row.id, module })));
    };
    // Warsaw is UTC+1 until 2026-03-29 01:00 UTC, UTC+2 after.
    await user('op1', 'operator', '2026-03-27T10:00:00Z', ['payments', 'cot']);
    await user('op2', 'operator', '2026-03-28T23:30:00Z', ['payments'], { active: false });
    await user('op3', 'operator', '2026-03-29T22:30:00Z', [], { email_verified_at: null });
    await user('op4', 'operator', '2026-03-29T21:30:00Z', ['booking']);
    await user('adm2', 'admin', '2026-03-31T23:59:00Z', []);
  });
  afterAll(async () => {
    await own?.close();
    await scratch?.drop();
  });

  const stats = (query: string) => call(own.url, 'GET', `/api/v1/admin/stats?${query}`, { token: caller.token });
  const emails = async (query: string) =>
    (await call(own.url, 'GET', `/api/v1/users?${query}`, { token: caller.token })).json.data
      .map((u: { email: string }) => u.email.split('@')[0])
      .sort();

  it('counts users by state, role and module, exactly', async () => {
    const res = await stats('from=2026-03-27&to=2026-03-31');
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({
      total: 6,
      by_state: { active: 4, inactive: 1, unverified: 1 },
      by_role: { admin: 2, operator: 4 },
      by_permission: { payments: 4, cot: 3, booking: 3, monitors: 2, diagnosis: 2, companies: 2 },
    });
  });

  it('counts registrations per day of the asked zone, days without any included', async () => {
    const warsaw = await stats('from=2026-03-27&to=2026-03-31&time_zone=Europe/Warsaw');
    expect(warsaw.json.registrations).toEqual({
      from: '2026-03-27',
      to: '2026-03-31',
      time_zone: 'Europe/Warsaw',
      days: [
        { date: '2026-03-27', count: 1 },
        { date: '2026-03-28', count: 0 },
        { date: '2026-03-29', count: 2 },
        { date: '2026-03-30', count: 1 },
        { date: '2026-03-31', count: 0 },
      ],
    });
    const utc = await stats('from=2026-03-27&to=2026-03-31');
    expect(utc.json.registrations.days.map((d: { count: number }) => d.count)).toEqual([1, 1, 2, 0, 1]);
    const quiet = await stats('from=2025-01-01&to=2025-01-03');
    expect(quiet.json.registrations.days).toEqual([
      { date: '2025-01-01', count: 0 },
      { date: '2025-01-02', count: 0 },
      { date: '2025-01-03', count: 0 },
    ]);
    // Without a range: the last 30 days up to today.
    expect((await stats('')).json.registrations.days).toHaveLength(30);
  });

  it('filters the list by state, role, permission and email, and pages through it', async () => {
    const callerName = caller.email.split('@')[0];
    expect(await emails('state=inactive')).toEqual(['op2']);
    expect(await emails('state=unverified')).toEqual(['op3']);
    expect(await emails('state=active')).toEqual(['adm2', callerName, 'op1', 'op4'].sort());
    expect(await emails('role=admin')).toEqual(['adm2', callerName].sort());
    expect(await emails('permission=cot')).toEqual(['adm2', callerName, 'op1'].sort());
    expect(await emails('role=operator&permission=payments')).toEqual(['op1', 'op2']);
    expect(await emails('search=OP3')).toEqual(['op3']);
    expect(await emails('search=%25')).toEqual([]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { json: { data: Array<{ id: string }>; next_cursor: string | null } } = await call(
        own.url,
        'GET',
        `/api/v1/users?limit=4${cursor ? `&cursor=${cursor}` : ''}`,
        { token: caller.token },
      );
      seen.push(...page.json.data.map((u) => u.id));
      cursor = page.json.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(6);
    expect(new Set(seen).size).toBe(6);
    expect(seen).toContain(ids.op1);
  });

  it('shows each user with state, role, held and granted modules', async () => {
    const op2 = (await call(own.url, 'GET', `/api/v1/users/${ids.op2}`, { token: caller.token })).json;
    expect(op2).toMatchObject({
      email: 'op2@stats.test',
      role: 'operator',
      active: false,
      state: 'inactive',
      modules: ['payments'],
      granted: ['payments'],
      created_at: '2026-03-28T23:30:00.000Z',
    });
    expect(op2).not.toHaveProperty('password_hash');
    const adm2 = (await call(own.url, 'GET', `/api/v1/users/${ids.adm2}`, { token: caller.token })).json;
    expect(adm2).toMatchObject({ role: 'admin', modules: [...MODULES], granted: [] });
  });
});
