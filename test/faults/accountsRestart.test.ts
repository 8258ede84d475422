/**
 * A sign-up's durable timers survive its worker: the worker (a separate process) is killed right after the code
 * was emailed, stays down past the code's expiry and the removal of unverified accounts, and once a new worker
 * starts, both timers fire — the code is forgotten and the abandoned account removed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountCode } from '../../db/models/AccountCode.js';
import { User } from '../../db/models/User.js';
import { call, unique } from '../helpers.js';
import { startInbox } from '../inbox.js';
import { apiWithWorkerProcess, pause } from './processes.js';

let inbox: Awaited<ReturnType<typeof startInbox>>;

beforeAll(async () => {
  inbox = await startInbox();
});
// Declared before the stack: hooks after run in reverse, so the worker and the API stop before the inbox.
afterAll(async () => {
  await inbox?.stop();
});
const stack = apiWithWorkerProcess(() => ({
  TEMPORAL_TASK_QUEUE: unique('faults-accounts'),
  SMTP_URL: inbox.url,
  // Every test signs up from 127.0.0.1, and the per-IP count outlives a run in Redis: this test is not about limits.
  ACCOUNT_LIMIT_PER_IP: '100000',
  ACCOUNT_CODE_TTL_S: '4',
  ACCOUNT_UNVERIFIED_TTL_S: '8',
}));

describe('a registration’s worker killed mid-way', () => {
  it('keeps the code expiry and the unverified-account removal', async () => {
    const email = `${unique('restart')}@test.local`;
    const res = await call(stack.api.url, 'POST', '/api/v1/auth/register', {
      body: { email, password: 'correct horse battery' },
    });
    expect(res.status).toBe(202);
    await inbox.next(email);
    await stack.killWorker();
    const user = await User.query().findOne({ email });
    expect(user).toBeDefined();

    // Past both deadlines with no worker: nothing fired.
    await pause(10_000);
    expect((await AccountCode.query().findOne({ user_id: user!.id }))?.code_hash).not.toBeNull();
    expect(await User.query().findById(user!.id)).toBeDefined();

    await stack.startWorker();
    await expect.poll(() => User.query().findById(user!.id), { timeout: 60_000 }).toBeUndefined();
    // The code went first (its timer was due first), then the account with it (cascade).
    expect(await AccountCode.query().findOne({ user_id: user!.id })).toBeUndefined();
  });
});
