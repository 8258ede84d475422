/**
 * Self-service accounts end to end (README "Accounts"): a real API and worker, a real SMTP server on loopback
 * (test/inbox.ts), Temporal workflows per attempt with short configured durations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountCode } from '../db/models/AccountCode.js';
import { User } from '../db/models/User.js';
import { call, signIn, startApi, startStack, unique } from './helpers.js';
import { codeOf, resetTokenOf, startInbox } from './inbox.js';

let inbox: Awaited<ReturnType<typeof startInbox>>;
let stack: Awaited<ReturnType<typeof startStack>>;
/** A second API on the same task queue whose codes expire after 3 s. */
let shortCodes: Awaited<ReturnType<typeof startApi>>;
const url = () => stack.api.url;

const cookieOf = (headers: Headers) => headers.get('set-cookie')?.split(';')[0] ?? '';
const newEmail = () => `${unique('acct')}@test.local`;
const password = 'correct horse battery';

async function register(email: string, body: Record<string, unknown> = {}, apiUrl = url()) {
  return call(apiUrl, 'POST', '/api/v1/auth/register', { body: { email, password, ...body } });
}

async function login(email: string, pass = password, userAgent = 'test-agent') {
  return call(url(), 'POST', '/api/v1/auth/login', {
    body: { email, password: pass },
    headers: { 'user-agent': userAgent },
  });
}

const refresh = (cookie: string) => call(url(), 'POST', '/api/v1/auth/refresh', { headers: { cookie } });

beforeAll(async () => {
  inbox = await startInbox();
  const settings = {
    SMTP_URL: inbox.url,
    MAILBOX_DIR: inbox.dir,
    ACCOUNT_RESEND_COOLDOWN_S: '3',
    RATE_LIMIT_PER_IP: '100000',
    ACCOUNT_LIMIT_PER_IP: '100000',
    ACCOUNT_LIMIT_PER_EMAIL: '12',
  };
  stack = await startStack(settings);
  shortCodes = await startApi({ ...stack.settings, ACCOUNT_CODE_TTL_S: '3', MAILBOX_DIR: '' });
});

afterAll(async () => {
  await shortCodes?.close();
  await stack?.close();
  await inbox?.stop();
});

describe('sign-up', () => {
  it('registers, emails a code in the chosen language, and the code signs in', async () => {
    const email = newEmail();
    const res = await register(email, { display_name: 'Ola', language: 'pl', time_zone: 'Europe/Warsaw' });
    expect(res.status).toBe(202);
    expect((await login(email)).json.error.code).toBe('email_not_verified');

    const mail = await inbox.next(email);
    expect(mail.subject).toMatch(/kod weryfikacyjny/);
    expect(mail.text).toContain(codeOf(mail));
    expect(mail.html).toContain(codeOf(mail));

    const verified = await call(url(), 'POST', '/api/v1/auth/verify-email', {
      body: { email: email.toUpperCase(), code: codeOf(mail) },
    });
    expect(verified.status).toBe(200);
    expect(verified.json.user).toMatchObject({ email, role: 'operator' });
    expect(cookieOf(verified.headers)).toMatch(/^meridian_refresh=/);

    const me = await call(url(), 'GET', '/api/v1/auth/me', { token: verified.json.access_token });
    expect(me.json).toMatchObject({ display_name: 'Ola', language: 'pl', time_zone: 'Europe/Warsaw' });
    expect(me.json.email_verified_at).not.toBeNull();
    expect((await login(email)).status).toBe(200);
    // The code was used up.
    const again = await call(url(), 'POST', '/api/v1/auth/verify-email', { body: { email, code: codeOf(mail) } });
    expect(again.status).toBe(400);
  });

  it('kills the code after five wrong ones', async () => {
    const email = newEmail();
    await register(email);
    const code = codeOf(await inbox.next(email));
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    const left: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call(url(), 'POST', '/api/v1/auth/verify-email', { body: { email, code: wrong } });
      expect(res.json.error.code).toBe('invalid_code');
      left.push(res.json.error.details.attempts_left);
    }
    expect(left).toEqual([4, 3, 2, 1, 0]);
    const right = await call(url(), 'POST', '/api/v1/auth/verify-email', { body: { email, code } });
    expect(right.status).toBe(400);
    expect(right.json.error.code).toBe('code_expired');
  });

  it('expires the code on the workflow timer', async () => {
    const email = newEmail();
    expect((await register(email, {}, shortCodes.url)).status).toBe(202);
    const code = codeOf(await inbox.next(email));
    const user = await User.query().findOne({ email });
    // The workflow's timer forgets the code (not only the API's clock refusing it).
    await expect
      .poll(async () => (await AccountCode.query().findOne({ user_id: user!.id }))?.code_hash ?? null, {
        timeout: 30_000,
      })
      .toBeNull();
    const res = await call(url(), 'POST', '/api/v1/auth/verify-email', { body: { email, code } });
    expect(res.json.error.code).toBe('code_expired');
  });

  it('resends a new code only after the cool-down', async () => {
    const email = newEmail();
    await register(email);
    const first = codeOf(await inbox.next(email));
    const soon = await call(url(), 'POST', '/api/v1/auth/resend-verification', { body: { email } });
    expect(soon.status).toBe(429);
    expect(Number(soon.headers.get('retry-after'))).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 3500));
    const later = await call(url(), 'POST', '/api/v1/auth/resend-verification', { body: { email } });
    expect(later.status).toBe(202);
    const second = codeOf(await inbox.next(email, 2));
    if (second !== first) {
      const old = await call(url(), 'POST', '/api/v1/auth/verify-email', { body: { email, code: first } });
      expect(old.json.error.code).toBe('invalid_code');
    }
    const res = await call(url(), 'POST', '/api/v1/auth/verify-email', { body: { email, code: second } });
    expect(res.status).toBe(200);
  });

  it('answers a registered email like a new one, and tells its owner', async () => {
    const existing = await signIn(url(), 'operator');
    const taken = await register(existing.email);
    const fresh = await register(newEmail());
    expect(taken.status).toBe(fresh.status);
    expect(taken.json).toEqual(fresh.json);
    const notice = await inbox.next(existing.email);
    expect(notice.subject).toMatch(/already have/);
    expect(notice.text).not.toMatch(/\b\d{6}\b/);
    // The existing password still works, the one sent with the sign-up does not.
    expect((await login(existing.email, existing.password)).status).toBe(200);
  });

  it('limits attempts per email', async () => {
    const email = newEmail();
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++)
      statuses.push((await call(url(), 'POST', '/api/v1/auth/password-reset', { body: { email } })).status);
    expect(statuses.slice(0, 12).every((s) => s === 202)).toBe(true);
    expect(statuses[12]).toBe(429);
  });
});

describe('password reset', () => {
  it('emails a single-use link; using it ends every session', async () => {
    const user = await signIn(url(), 'operator');
    const other = cookieOf((await login(user.email, user.password)).headers);
    const res = await call(url(), 'POST', '/api/v1/auth/password-reset', { body: { email: user.email } });
    expect(res.status).toBe(202);
    const token = resetTokenOf(await inbox.next(user.email));

    const confirm = await call(url(), 'POST', '/api/v1/auth/password-reset/confirm', {
      body: { token, password: 'a brand new password' },
    });
    expect(confirm.status).toBe(204);
    expect((await refresh(user.cookie)).status).toBe(401);
    expect((await refresh(other)).status).toBe(401);
    expect((await login(user.email, user.password)).status).toBe(401);
    expect((await login(user.email, 'a brand new password')).status).toBe(200);
    const reuse = await call(url(), 'POST', '/api/v1/auth/password-reset/confirm', {
      body: { token, password: 'yet another password' },
    });
    expect(reuse.json.error.code).toBe('invalid_token');
  });

  it('answers unknown emails the same, in similar time', async () => {
    const known = await signIn(url(), 'operator');
    const ask = async (email: string) => {
      const started = performance.now();
      const res = await call(url(), 'POST', '/api/v1/auth/password-reset', { body: { email } });
      return { res, ms: performance.now() - started };
    };
    const first = await ask(known.email);
    const unknown = await ask(newEmail());
    expect(unknown.res.status).toBe(first.res.status);
    expect(unknown.res.json).toEqual(first.res.json);

    // Alternating, so load on this shared machine falls on both alike; medians, compared loosely.
    const times = { known: [] as number[], unknown: [] as number[] };
    for (let i = 0; i < 7; i++) {
      times.unknown.push((await ask(newEmail())).ms);
      const other = await signIn(url(), 'operator');
      times.known.push((await ask(other.email)).ms);
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const ratio = median(times.known) / median(times.unknown);
    expect(ratio).toBeGreaterThan(1 / 3);
    expect(ratio).toBeLessThan(3);
  });
});

describe('sessions and profile', () => {
  it('lists sessions with their device and revokes one', async () => {
    const user = await signIn(url(), 'operator');
    const phone = await login(user.email, user.password, 'Phone Browser');
    const laptop = await login(user.email, user.password, 'Laptop Browser');
    const list = await call(url(), 'GET', '/api/v1/auth/sessions', {
      token: laptop.json.access_token,
      headers: { cookie: cookieOf(laptop.headers) },
    });
    expect(list.status).toBe(200);
    expect(list.json.data).toHaveLength(3);
    const current = list.json.data.filter((s: { current: boolean }) => s.current);
    expect(current).toHaveLength(1);
    expect(current[0]).toMatchObject({ user_agent: 'Laptop Browser', ip: '127.0.0.1' });
    const phoneSession = list.json.data.find((s: { user_agent: string }) => s.user_agent === 'Phone Browser');

    const revoked = await call(url(), 'DELETE', `/api/v1/auth/sessions/${phoneSession.id}`, {
      token: laptop.json.access_token,
    });
    expect(revoked.status).toBe(204);
    expect((await refresh(cookieOf(phone.headers))).status).toBe(401);
    expect((await refresh(cookieOf(laptop.headers))).status).toBe(200);
    // Not another user's, nor twice.
    const stranger = await signIn(url(), 'operator');
    const foreign = await call(url(), 'DELETE', `/api/v1/auth/sessions/${current[0].id}`, { token: stranger.token });
    expect(foreign.status).toBe(404);
  });

  it('changes the profile and the password, keeping only this session', async () => {
    const user = await signIn(url(), 'operator');
    const other = await login(user.email, user.password);
    const profile = await call(url(), 'PUT', '/api/v1/auth/me', {
      token: user.token,
      body: { display_name: 'Jan', language: 'pl', time_zone: 'Europe/Warsaw' },
    });
    expect(profile.json).toMatchObject({ display_name: 'Jan', language: 'pl', time_zone: 'Europe/Warsaw' });
    const badZone = await call(url(), 'PUT', '/api/v1/auth/me', {
      token: user.token,
      body: { time_zone: 'Mars/Base' },
    });
    expect(badZone.status).toBe(400);

    const wrong = await call(url(), 'PUT', '/api/v1/auth/me/password', {
      token: user.token,
      body: { current_password: 'not it at all', new_password: 'another good password' },
    });
    expect(wrong.json.error.code).toBe('wrong_password');
    const changed = await call(url(), 'PUT', '/api/v1/auth/me/password', {
      token: user.token,
      headers: { cookie: user.cookie },
      body: { current_password: user.password, new_password: 'another good password' },
    });
    expect(changed.status).toBe(204);
    expect((await refresh(cookieOf(other.headers))).status).toBe(401);
    expect((await refresh(user.cookie)).status).toBe(200);
    expect((await login(user.email, 'another good password')).status).toBe(200);
  });

  it('refuses deactivated accounts at login and refresh', async () => {
    const user = await signIn(url(), 'operator');
    await User.query().patch({ active: false }).where({ email: user.email });
    expect((await login(user.email, user.password)).json.error.code).toBe('account_inactive');
    expect((await refresh(user.cookie)).status).toBe(403);
  });
});

describe('development mailbox', () => {
  it('shows caught mail to admins only, and only where the catcher runs', async () => {
    const email = newEmail();
    await register(email);
    await inbox.next(email);
    const admin = await signIn(url(), 'admin');
    const operator = await signIn(url(), 'operator');
    const list = await call(url(), 'GET', `/api/v1/dev/mailbox?to=${encodeURIComponent(email)}`, {
      token: admin.token,
    });
    expect(list.status).toBe(200);
    expect(list.json.data[0].to).toEqual([email]);
    expect((await call(url(), 'GET', '/api/v1/dev/mailbox', { token: operator.token })).status).toBe(403);
    const elsewhere = await call(shortCodes.url, 'GET', '/api/v1/dev/mailbox', { token: admin.token });
    expect(elsewhere.json.error.code).toBe('mailbox_disabled');
  });
});
