/** Shared test plumbing: a real API on a loopback port, a real worker, real users and merchants. */
import { randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { listen } from '../api/server.js';
import { openApiDeps } from '../api/deps.js';
import { User, type Role } from '../db/models/User.js';
import { grantModules } from '../db/users.js';
import { MODULES, type Module } from '../lib/accounts/modules.js';
import type { DomainEvent } from '../lib/platform/events.js';
import { loadConfig } from '../lib/platform/config.js';
import { freePort } from '../scripts/services.js';
import { startWorker } from '../workers/worker.js';

export function testConfig(overrides: Record<string, string> = {}) {
  return loadConfig({ ...process.env, PORT: '0', ...overrides });
}

export async function startApi(overrides: Record<string, string> = {}) {
  // The port is chosen first so that PUBLIC_URL (checkout links, CORS) names the real one.
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const deps = await openApiDeps(testConfig({ PORT: String(port), PUBLIC_URL: url, ...overrides }));
  const server = await listen(deps, port, '127.0.0.1');
  return {
    url,
    deps,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await deps.close();
    },
  };
}

/** A worker on its own task queue, so test files never pick up each other's tasks. */
export async function startTestWorker(overrides: Record<string, string> = {}) {
  const config = testConfig({ TEMPORAL_TASK_QUEUE: unique('test'), ...overrides });
  const worker = await startWorker(config, { codePath: process.env.WORKFLOW_BUNDLE_PATH! });
  return { ...worker, config, taskQueue: config.temporal.taskQueue };
}

export const unique = (prefix: string) => `${prefix}-${randomBytes(5).toString('hex')}`;

/**
 * Creates a console user straight in the database and signs in through the API. The user holds `modules`
 * (default: every module, like the operators existing before permissions did).
 */
export async function signIn(
  apiUrl: string,
  role: Role,
  modules: readonly Module[] = MODULES,
): Promise<{ token: string; email: string; password: string; cookie: string; id: string }> {
  const email = `${unique(role)}@test.local`;
  const password = randomBytes(12).toString('base64url');
  const user = await User.query().insert({ email, password_hash: await bcrypt.hash(password, 4), role });
  await grantModules(User.knex(), user.id, modules, null);
  const res = await fetch(`${apiUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { access_token: string };
  return {
    token: body.access_token,
    email,
    password,
    cookie: res.headers.get('set-cookie')!.split(';')[0],
    id: user.id,
  };
}

/** A merchant created through the admin API, with its plaintext key and webhook secret. */
export async function createMerchant(apiUrl: string, adminToken: string, name = unique('shop')) {
  const res = await fetch(`${apiUrl}/api/v1/merchants`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 201) throw new Error(`merchant create failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { merchant: { id: string }; key: string; webhook_secret: string };
  return { id: body.merchant.id, key: body.key, webhookSecret: body.webhook_secret };
}

export async function call(
  apiUrl: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
  const send = () =>
    fetch(`${apiUrl}${path}`, {
      method,
      headers,
      body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
    });
  // A test that kept its process busy for longer than the server's keep-alive timeout (both share one event loop)
  // finds its pooled connection closed under it: an idempotent request is sent again, as RFC 9110 §9.2.2 allows.
  const res = await send().catch((error: Error & { cause?: { code?: string } }) => {
    if (error.cause?.code !== 'ECONNRESET' || !['GET', 'HEAD', 'PUT', 'DELETE'].includes(method)) throw error;
    return send();
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** An API and a worker sharing one private task queue and the same settings. */
export async function startStack(overrides: Record<string, string> = {}) {
  const settings = { TEMPORAL_TASK_QUEUE: unique('test'), ...overrides };
  const stack = {
    api: await startApi(settings),
    /** Replaceable: a test may stop the worker and put a fresh one here. */
    worker: await startWorker(testConfig(settings), { codePath: process.env.WORKFLOW_BUNDLE_PATH! }),
    settings,
    async close() {
      await stack.worker.stop();
      await stack.api.close();
    },
  };
  return stack;
}

export interface WorkshopOptions {
  mechanics?: number;
  duration?: number;
  bufferAfter?: number;
  hours?: { opens: string; closes: string };
  timeZone?: string;
}

/** A workshop open all day every day (unless `hours` says otherwise), with mechanics and one service. */
export async function createWorkshop(url: string, token: string, opts: WorkshopOptions = {}) {
  const op = { token };
  const w = await call(url, 'POST', '/api/v1/workshops', {
    ...op,
    body: { name: unique('Garage'), address: '1 Test St', time_zone: opts.timeZone ?? 'Europe/Kyiv' },
  });
  if (w.status !== 201) throw new Error(`workshop create failed: ${w.text}`);
  const mechanics: string[] = [];
  for (let i = 0; i < (opts.mechanics ?? 1); i++) {
    const m = await call(url, 'POST', `/api/v1/workshops/${w.json.id}/mechanics`, {
      ...op,
      body: { name: `Mechanic ${i}` },
    });
    if (m.status !== 201) throw new Error(`mechanic create failed: ${m.text}`);
    mechanics.push(m.json.id);
  }
  const { opens, closes } = opts.hours ?? { opens: '00:00', closes: '23:59' };
  for (let weekday = 1; weekday <= 7; weekday++) {
    const h = await call(url, 'POST', `/api/v1/workshops/${w.json.id}/hours`, {
      ...op,
      body: { weekday, opens, closes },
    });
    if (h.status !== 201) throw new Error(`hours create failed: ${h.text}`);
  }
  const s = await call(url, 'POST', `/api/v1/workshops/${w.json.id}/services`, {
    ...op,
    body: { name: 'Inspection', duration_min: opts.duration ?? 60, buffer_after_min: opts.bufferAfter ?? 0 },
  });
  if (s.status !== 201) throw new Error(`service create failed: ${s.text}`);
  return { id: w.json.id as string, mechanics, serviceId: s.json.id as string };
}

/**
 * The live event stream (SSE) of `token` at `path` (a `?types=` filter, say): the events received so far, and whether
 * the server ended it (false once `close`d by this side).
 */
export async function openStream(apiUrl: string, token: string, path = '/api/v1/events') {
  const controller = new AbortController();
  const res = await fetch(`${apiUrl}${path}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  if (res.status !== 200 || !res.headers.get('content-type')?.includes('text/event-stream'))
    throw new Error(`the event stream answered ${res.status} ${res.headers.get('content-type')}`);
  const events: DomainEvent[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const ended = (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return true;
        buffer += value;
        const frames = buffer.split('\n\n');
        buffer = frames.pop()!;
        for (const frame of frames) {
          const data = frame.split('\n').find((l) => l.startsWith('data: '));
          if (data) events.push(JSON.parse(data.slice(6)));
        }
      }
    } catch {
      return false; // closed by this side
    }
  })();
  // The server subscribes before it answers; a short pause lets the first frame through.
  await new Promise((r) => setTimeout(r, 100));
  return { events, ended, close: () => controller.abort() };
}
