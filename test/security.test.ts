/**
 * The security suite: an authentication/authorisation matrix generated from the OpenAPI document
 * (every operation × no credentials, an expired token, each caller kind, an operator without and with only the
 * route's module), tenant isolation on every
 * merchant-reachable resource route, secrets kept out of logs and responses, outbound URLs to
 * private addresses refused, rate limits under a parallel burst, and security headers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMerchant as createMerchantInDb, issueApiKey } from '../db/merchants.js';
import { Merchant } from '../db/models/Merchant.js';
import { MODULES } from '../lib/accounts/modules.js';
import { decryptSecret } from '../lib/platform/crypto.js';
import { createMerchant, signIn, startApi, startStack, testConfig, unique } from './helpers.js';
import { startReceiver, waitFor } from './receiver.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------------------------------------
// The route table, as the generated document declares it (test/contract.test.ts keeps it in step
// with the router; the first test below checks it against the spec the live API serves).

type Access = 'public' | 'operator' | 'admin' | 'merchant';
type Caller = 'merchant' | 'operator' | 'admin';
interface PathParam {
  name: string;
  schema: { format?: string; pattern?: string; enum?: unknown[] };
}
interface Operation {
  method: string;
  path: string;
  access: Access[];
  /** The module a console user needs (`x-module`), or null. */
  module: string | null;
  hasBody: boolean;
  params: PathParam[];
  label: string;
}

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const spec = JSON.parse(readFileSync(path.join(root, 'openapi', 'openapi.json'), 'utf8')) as {
  paths: Record<string, Record<string, any>>;
};

function operationsOf(document: { paths: Record<string, Record<string, any>> }): Operation[] {
  return Object.entries(document.paths).flatMap(([p, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.includes(method))
      .map(([method, op]) => ({
        method,
        path: p,
        access: op['x-access'] as Access[],
        module: (op['x-module'] as string | undefined) ?? null,
        hasBody: op.requestBody !== undefined,
        params: ((op.parameters ?? []) as Array<PathParam & { in: string }>).filter((x) => x.in === 'path'),
        label: `${method.toUpperCase()} ${p}`,
      })),
  );
}

const operations = operationsOf(spec);
/** Routes that check credentials before anything else; public ones (even `public` + others) answer anyone. */
const guarded = operations.filter((op) => !op.access.includes('public'));

/** The documented rule (api/route.ts), restated here so a regression in `allows()` cannot hide. */
function admits(access: Access[], caller: Caller): boolean {
  if (access.includes('public')) return true;
  if (caller === 'merchant') return access.includes('merchant');
  return access.includes('operator') || (caller === 'admin' && access.includes('admin'));
}

/** A syntactically valid value for a path parameter, from its schema. */
function sampleValue(op: Operation, param: PathParam): string {
  if (param.schema.format === 'uuid') return randomUUID();
  if (param.schema.enum?.length) return String(param.schema.enum[0]);
  if (param.schema.pattern) {
    const re = new RegExp(param.schema.pattern);
    // The last: a NIP-shaped value whose check digit is wrong (admitted, then refused with a 400, no registry call).
    const found = [
      `pi_${randomBytes(12).toString('hex')}`,
      `pt_${randomBytes(24).toString('hex')}`,
      'ABC123',
      '1234567890',
    ].find((c) => re.test(c));
    if (found) return found;
  }
  throw new Error(`no sample value for {${param.name}} of ${op.label}: extend sampleValue()`);
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing: like helpers.call, but an event stream is not read to its (never) end.

interface Sent {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}
async function send(
  base: string,
  method: string,
  p: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Sent> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  }
  const res = await fetch(`${base}${p}`, {
    method: method.toUpperCase(),
    headers,
    body,
    signal: AbortSignal.timeout(20_000),
    redirect: 'manual',
  });
  let text = '';
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) await res.body?.cancel();
  else text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const expectError = (res: Sent, status: number, code: string, what = '') => {
  expect(res.status, `${what} → ${res.status} ${res.text.slice(0, 300)}`).toBe(status);
  expect(res.json, what).toMatchObject({ error: { code, message: expect.any(String) } });
};

const clientIp = () =>
  `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;

/** A shop on loopback: a product page, and a page that redirects to the cloud metadata address. */
async function startShop() {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/redirect') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(
      '<html><body><span itemprop="price" content="12.00">12.00</span><meta itemprop="priceCurrency" content="EUR"></body></html>',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

// ---------------------------------------------------------------------------------------------
// One stack for the matrix and the tenant checks: two merchants, each with a payment, a webhook
// delivery and a monitor.

let stack: Awaited<ReturnType<typeof startStack>>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let shop: Awaited<ReturnType<typeof startShop>>;
let admin: Awaited<ReturnType<typeof signIn>>;
let operator: Awaited<ReturnType<typeof signIn>>;
/** Per module: an operator holding every module but it, and one holding only it. */
const moduleOperators: Record<string, { lacking: string; only: string }> = {};
let adminId: string;

interface Tenant {
  id: string;
  key: string;
  webhookSecret: string;
  keyId: string;
  payment: { id: string; payment_token: string; order_id: string };
  deliveryId: string;
  monitorId: string;
  monitorUrl: string;
  watchId: string;
}
let a: Tenant;
let b: Tenant;
const url = () => stack.api.url;

async function tenant(label: string): Promise<Tenant> {
  const m = await createMerchant(url(), admin.token, unique(`tenant-${label}`));
  expect(
    (await send(url(), 'PATCH', `/api/v1/merchants/${m.id}`, { token: m.key, body: { webhook_url: receiver.url } }))
      .status,
  ).toBe(200);
  const keys = await send(url(), 'GET', `/api/v1/merchants/${m.id}/api-keys`, { token: m.key });
  const payment = await send(url(), 'POST', '/api/v1/payments', {
    token: m.key,
    body: { amount: 1234, currency: 'eur', order_id: unique(`order-${label}`) },
  });
  expect(payment.status, payment.text).toBe(201);
  const history = await send(url(), 'GET', `/api/v1/webhooks/history?intent_id=${payment.json.id}`, { token: m.key });
  expect(history.json.data, 'a delivery row is created with the intent').toHaveLength(1);
  const monitorUrl = `${shop.url}/product-${label}`;
  const monitor = await send(url(), 'POST', '/api/v1/monitors', {
    token: m.key,
    body: { url: monitorUrl, target_price: 10, currency: 'EUR', interval: 3600 },
  });
  expect(monitor.status, monitor.text).toBe(201);
  const watch = await send(url(), 'POST', '/api/v1/companies/watches', { token: m.key, body: { nip: '5260181596' } });
  expect(watch.status, watch.text).toBe(201);
  return {
    ...m,
    keyId: keys.json.data[0].id,
    payment: payment.json,
    deliveryId: history.json.data[0].id,
    monitorId: monitor.json.id,
    monitorUrl,
    watchId: watch.json.id,
  };
}

beforeAll(async () => {
  [stack, receiver, shop] = await Promise.all([
    startStack({ OUTBOUND_ALLOWLIST: '127.0.0.1/32', COT_SCHEDULE: 'off', CFTC_BASE_URL: 'http://127.0.0.1:9' }),
    startReceiver(),
    startShop(),
  ]);
  [admin, operator] = await Promise.all([signIn(url(), 'admin'), signIn(url(), 'operator')]);
  for (const m of MODULES) {
    const [lacking, only] = await Promise.all([
      signIn(
        url(),
        'operator',
        MODULES.filter((x) => x !== m),
      ),
      signIn(url(), 'operator', [m]),
    ]);
    moduleOperators[m] = { lacking: lacking.token, only: only.token };
  }
  adminId = (await send(url(), 'GET', '/api/v1/auth/me', { token: admin.token })).json.id;
  [a, b] = await Promise.all([tenant('a'), tenant('b')]);
});
afterAll(async () => {
  // Monitors are Temporal Schedules: remove ours rather than leave them firing at a closed worker.
  if (stack)
    for (const t of [a, b])
      if (t) await send(url(), 'DELETE', `/api/v1/monitors/${t.monitorId}`, { token: operator.token }).catch(() => {});
  await stack?.close();
  await receiver?.close();
  await shop?.close();
});

/** Fills a path: tenant B's real ids where the resource is B's (only for calls that must be refused). */
function tenantValue(p: string, name: string): string | undefined {
  if (p.startsWith('/api/v1/merchants/{id}')) return name === 'id' ? b.id : name === 'keyId' ? b.keyId : undefined;
  if (p.startsWith('/api/v1/payments/{')) return name === 'token' ? b.payment.payment_token : b.payment.id;
  if (p.startsWith('/api/v1/webhooks/{id}')) return b.deliveryId;
  if (p.startsWith('/api/v1/monitors/{id}')) return b.monitorId;
  if (p.startsWith('/api/v1/companies/watches/{id}')) return b.watchId;
  return undefined;
}
function fillPath(op: Operation, realIds: boolean): string {
  return op.params.reduce(
    (p, param) =>
      p.replace(
        `{${param.name}}`,
        encodeURIComponent((realIds && tenantValue(op.path, param.name)) || sampleValue(op, param)),
      ),
    op.path,
  );
}

const expiredAdminToken = () =>
  new SignJWT({ role: 'admin' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(adminId)
    .setIssuer('meridian')
    .setAudience('meridian-console')
    .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
    .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
    .sign(testConfig().jwtSecret);

// ---------------------------------------------------------------------------------------------

describe('access matrix (generated from openapi/openapi.json)', () => {
  it('covers every operation the live API documents, each declaring who may call it', async () => {
    const live = operationsOf((await send(url(), 'GET', '/openapi.json')).json);
    expect(live.map((o) => `${o.label} ${o.access} ${o.module}`).sort()).toEqual(
      operations.map((o) => `${o.label} ${o.access} ${o.module}`).sort(),
    );
    for (const op of operations) {
      expect(op.access.length, op.label).toBeGreaterThan(0);
      for (const x of op.access) expect(['public', 'operator', 'admin', 'merchant'], op.label).toContain(x);
      if (op.module !== null) expect(MODULES, op.label).toContain(op.module);
    }
    expect(guarded.length).toBeGreaterThan(40);
    // Every operator route of a business area needs its module (the tag map in lib/accounts/modules.ts).
    expect(guarded.filter((op) => op.module && admits(op.access, 'operator')).length).toBeGreaterThan(40);
  });

  const tokenOf = (caller: Caller) =>
    caller === 'merchant' ? b.key : caller === 'admin' ? admin.token : operator.token;

  describe.each(guarded.map((op) => [op.label, op] as const))('%s', (_label, op) => {
    // Validation runs after the access check, so an empty object is enough to reach it.
    const refusedBody = op.hasBody ? {} : undefined;

    it('no credentials → 401 unauthorized', async () => {
      expectError(
        await send(url(), op.method, fillPath(op, true), { body: refusedBody }),
        401,
        'unauthorized',
        op.label,
      );
    });

    it('an expired (correctly signed) admin token → 401 unauthorized', async () => {
      expectError(
        await send(url(), op.method, fillPath(op, true), { token: await expiredAdminToken(), body: refusedBody }),
        401,
        'unauthorized',
        op.label,
      );
    });

    for (const caller of ['merchant', 'operator', 'admin'] as const) {
      if (!admits(op.access, caller)) {
        it(`${caller} → 403 forbidden`, async () => {
          // The merchant is B itself, on B's own resources: the role is refused, not the tenant.
          expectError(
            await send(url(), op.method, fillPath(op, true), { token: tokenOf(caller), body: refusedBody }),
            403,
            'forbidden',
            `${caller} ${op.label}`,
          );
        });
      } else {
        it(`${caller} passes the access check`, async () => {
          // Dummy ids and a body that can never validate: admitted, then stopped by a 400/404, no side effects.
          const res = await send(url(), op.method, fillPath(op, false), {
            token: tokenOf(caller),
            body: op.hasBody ? [] : undefined,
          });
          const what = `${caller} ${op.label} → ${res.status} ${res.text.slice(0, 300)}`;
          expect([401, 403], what).not.toContain(res.status);
          expect(res.status, what).toBeLessThan(500);
          expect(res.json?.error?.code, what).not.toBe('route_not_found');
        });
      }
    }

    if (op.module && admits(op.access, 'operator')) {
      const module = op.module;
      it(`operator without the ${module} module → 403 forbidden`, async () => {
        const res = await send(url(), op.method, fillPath(op, true), {
          token: moduleOperators[module].lacking,
          body: refusedBody,
        });
        expectError(res, 403, 'forbidden', `operator without ${module}: ${op.label}`);
        expect(res.json.error.message).toContain(`needs the ${module} permission`);
      });
      it(`operator with only the ${module} module passes the access check`, async () => {
        const res = await send(url(), op.method, fillPath(op, false), {
          token: moduleOperators[module].only,
          body: op.hasBody ? [] : undefined,
        });
        const what = `operator with ${module} ${op.label} → ${res.status} ${res.text.slice(0, 300)}`;
        expect([401, 403], what).not.toContain(res.status);
        expect(res.status, what).toBeLessThan(500);
      });
    }
  });

  // A route anyone may call (a customer's booking, an owner's chat) serves an operator without its module as
  // anyone: the same answer as without credentials, never the operator's reach.
  const publicWithModule = operations.filter(
    (op) => op.access.includes('public') && op.access.includes('operator') && op.module,
  );
  it.each(publicWithModule.map((op) => [op.label, op] as const))(
    '%s: an operator without its module is answered as anyone',
    async (_label, op) => {
      const path = fillPath(op, false);
      const body = op.hasBody ? [] : undefined;
      const anyone = await send(url(), op.method, path, { body });
      const lacking = await send(url(), op.method, path, { token: moduleOperators[op.module!].lacking, body });
      expect(lacking.status, `${op.label} → ${lacking.text.slice(0, 300)}`).toBe(anyone.status);
      expect(lacking.json?.error?.code).toBe(anyone.json?.error?.code);
    },
  );

  it('malformed, forged and foreign credentials are a 401, on protected and public routes alike', async () => {
    const secret = testConfig().jwtSecret;
    const claims = (jwt: SignJWT) => jwt.setSubject(adminId).setIssuedAt().setExpirationTime('10m');
    const forged = [
      'not-a-jwt',
      `mk_live_${randomBytes(24).toString('hex')}`,
      `${b.key.slice(0, -1)}${b.key.endsWith('A') ? 'B' : 'A'}`,
      new UnsecuredJWT({ role: 'admin' })
        .setSubject(adminId)
        .setIssuer('meridian')
        .setAudience('meridian-console')
        .setExpirationTime('10m')
        .encode(),
      await claims(
        new SignJWT({ role: 'admin' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer('meridian')
          .setAudience('meridian-console'),
      ).sign(randomBytes(32)),
      await claims(
        new SignJWT({ role: 'admin' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer('meridian')
          .setAudience('somebody-else'),
      ).sign(secret),
      await claims(
        new SignJWT({ role: 'admin' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer('elsewhere')
          .setAudience('meridian-console'),
      ).sign(secret),
      await claims(
        new SignJWT({ role: 'root' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer('meridian')
          .setAudience('meridian-console'),
      ).sign(secret),
      // An operator's token with its payload swapped for an admin one keeps the operator's signature.
      [
        operator.token.split('.')[0],
        Buffer.from(
          JSON.stringify({
            ...JSON.parse(Buffer.from(operator.token.split('.')[1], 'base64url').toString()),
            role: 'admin',
          }),
        ).toString('base64url'),
        operator.token.split('.')[2],
      ].join('.'),
    ];
    for (const token of forged) {
      expectError(
        await send(url(), 'GET', '/api/v1/merchants', { token }),
        401,
        'unauthorized',
        `GET /api/v1/merchants with ${token.slice(0, 40)}`,
      );
      expectError(
        await send(url(), 'GET', '/api/v1/meta', { token }),
        401,
        'unauthorized',
        `GET /api/v1/meta with ${token.slice(0, 40)}`,
      );
    }
    for (const authorization of [
      `Basic ${Buffer.from('admin:admin').toString('base64')}`,
      'Bearer',
      `Token ${admin.token}`,
    ]) {
      expectError(
        await send(url(), 'GET', '/api/v1/merchants', { headers: { authorization } }),
        401,
        'unauthorized',
        authorization.slice(0, 20),
      );
    }
    // The real operator token still works, and is refused where only admins may go.
    expect((await send(url(), 'GET', '/api/v1/merchants', { token: operator.token })).status).toBe(200);
    expectError(
      await send(url(), 'POST', '/api/v1/merchants', { token: operator.token, body: { name: 'nope' } }),
      403,
      'forbidden',
    );
  });
});

// ---------------------------------------------------------------------------------------------

/** Valid bodies, so the tenant check (not validation) is what refuses merchant A on B's resource. */
const tenantBodies: Record<string, unknown> = {
  'PATCH /api/v1/merchants/{id}': { webhook_url: 'http://127.0.0.1:1/stolen' },
  'POST /api/v1/payments/{id}/cancel': { reason: 'fraudulent' },
  'PATCH /api/v1/monitors/{id}': { paused: true, target_price: 1 },
};
/** Parameters that name a catalogue entry rather than a tenant's resource (a NIP names a public registry entry). */
const catalogueParams = new Set(['type', 'subtype', 'code', 'nip']);
const tenantRoutes = operations.filter(
  (op) => op.access.includes('merchant') && op.params.some((p) => !catalogueParams.has(p.name)),
);

describe('tenant isolation: merchant A on merchant B’s resources', () => {
  it('every merchant-reachable route with a resource id is covered', () => {
    expect(tenantRoutes.length).toBeGreaterThanOrEqual(12);
    for (const op of tenantRoutes) {
      for (const p of op.params.filter((x) => !catalogueParams.has(x.name)))
        expect(tenantValue(op.path, p.name), `${op.label} {${p.name}}: which tenant resource?`).toBeDefined();
      if (op.hasBody) expect(tenantBodies, `${op.label}: add a valid body to tenantBodies`).toHaveProperty([op.label]);
    }
  });

  it.each(tenantRoutes.map((op) => [op.label, op] as const))('%s → 404 without a trace of B', async (_label, op) => {
    const res = await send(url(), op.method, fillPath(op, true), {
      token: a.key,
      body: op.hasBody ? tenantBodies[op.label] : undefined,
    });
    // Merchants "do not exist" to each other (visibleMerchant, visibleIntent, visibleMonitor, visibleDelivery): 404, never 403.
    expectError(res, 404, 'not_found', `A on ${op.label}`);
    for (const leak of [b.payment.order_id, b.payment.payment_token, b.monitorUrl, b.keyId, receiver.url])
      expect(res.text).not.toContain(leak);
  });

  it('B’s resources are untouched by A’s (and by the refused callers’) attempts', async () => {
    const merchant = await send(url(), 'GET', `/api/v1/merchants/${b.id}`, { token: b.key });
    expect(merchant.json).toMatchObject({ id: b.id, webhook_url: receiver.url });
    expect((await send(url(), 'GET', `/api/v1/payments/${b.payment.id}`, { token: b.key })).json.status).toBe(
      'requires_payment_method',
    );
    expect((await send(url(), 'GET', `/api/v1/monitors/${b.monitorId}`, { token: b.key })).json).toMatchObject({
      paused: false,
      target_price: 10,
    });
    const keys = await send(url(), 'GET', `/api/v1/merchants/${b.id}/api-keys`, { token: b.key });
    expect(keys.json.data.map((k: { id: string; revoked_at: string | null }) => [k.id, k.revoked_at])).toEqual([
      [b.keyId, null],
    ]);
    const stored = await Merchant.query().findById(b.id);
    expect(decryptSecret(stored!.webhook_secret_enc, stack.api.deps.config.secretsKey)).toBe(b.webhookSecret);
    expect(stored!.webhook_secret_prev_enc).toBeNull();
  });

  it('reading a payment by id needs credentials although the route is public (for payer tokens)', async () => {
    expectError(await send(url(), 'GET', `/api/v1/payments/${b.payment.id}`), 401, 'unauthorized');
    expect((await send(url(), 'GET', `/api/v1/payments/${b.payment.id}`, { token: operator.token })).status).toBe(200);
  });

  it('list endpoints show A only its own resources, whatever the filters say', async () => {
    const cases: Array<[string, string | null, string]> = [
      ['/api/v1/payments', a.payment.id, b.payment.id],
      [`/api/v1/payments?merchant_id=${b.id}`, a.payment.id, b.payment.id],
      [`/api/v1/payments?order_id=${b.payment.order_id}`, null, b.payment.id],
      ['/api/v1/monitors', a.monitorId, b.monitorId],
      ['/api/v1/companies/watches', a.watchId, b.watchId],
      ['/api/v1/webhooks/history', a.deliveryId, b.deliveryId],
      [`/api/v1/webhooks/history?merchant_id=${b.id}`, a.deliveryId, b.deliveryId],
      [`/api/v1/webhooks/history?intent_id=${b.payment.id}`, null, b.deliveryId],
    ];
    for (const [p, own, theirs] of cases) {
      const res = await send(url(), 'GET', p, { token: a.key });
      expect(res.status, p).toBe(200);
      const ids = res.json.data.map((x: { id: string }) => x.id);
      if (own) expect(ids, p).toContain(own);
      expect(ids, p).not.toContain(theirs);
      for (const leak of [b.id, b.payment.payment_token, b.monitorUrl]) expect(res.text, p).not.toContain(leak);
    }
    // The same filter works for an operator, so the merchant's view above is a real restriction.
    const all = await send(url(), 'GET', `/api/v1/payments?merchant_id=${b.id}`, { token: operator.token });
    expect(all.json.data.map((x: { id: string }) => x.id)).toContain(b.payment.id);
  });

  it('the live event stream carries no event of another merchant', async () => {
    const controller = new AbortController();
    const res = await fetch(`${url()}/api/v1/events`, {
      headers: { authorization: `Bearer ${a.key}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    let seen = '';
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>)
        seen += decoder.decode(chunk, { stream: true });
    })().catch(() => {});
    try {
      await waitFor(() => seen.includes(': connected'), 5_000, 'the stream to open');
      const theirs = await send(url(), 'POST', '/api/v1/payments', {
        token: b.key,
        body: { amount: 1, currency: 'eur', order_id: unique('sse-b') },
      });
      const ours = await send(url(), 'POST', '/api/v1/payments', {
        token: a.key,
        body: { amount: 1, currency: 'eur', order_id: unique('sse-a') },
      });
      // Published in this order on one channel: once A's event is here, B's would have been too.
      await waitFor(() => seen.includes(ours.json.id), 10_000, 'A’s own event');
      expect(seen).not.toContain(theirs.json.id);
      expect(seen).not.toContain(b.id);
    } finally {
      controller.abort();
      await reading;
    }
  });

  it('an Idempotency-Key is scoped to its merchant: A reusing B’s key gets its own new payment', async () => {
    const key = unique('idem');
    const body = { amount: 500, currency: 'eur', order_id: unique('idem-order') };
    const theirs = await send(url(), 'POST', '/api/v1/payments', {
      token: b.key,
      body,
      headers: { 'idempotency-key': key },
    });
    expect(theirs.status).toBe(201);
    const ours = await send(url(), 'POST', '/api/v1/payments', {
      token: a.key,
      body,
      headers: { 'idempotency-key': key },
    });
    expect(ours.status).toBe(201);
    expect(ours.headers.get('idempotent-replayed')).toBeNull();
    expect(ours.json.merchant_id).toBe(a.id);
    expect(ours.json.id).not.toBe(theirs.json.id);
    expect(ours.text).not.toContain(theirs.json.payment_token);
  });

  it('an admin cannot revoke B’s key through A’s merchant path', async () => {
    expectError(
      await send(url(), 'DELETE', `/api/v1/merchants/${a.id}/api-keys/${b.keyId}`, { token: admin.token }),
      404,
      'not_found',
    );
    expect((await send(url(), 'GET', '/api/v1/auth/me', { token: b.key })).json).toMatchObject({
      kind: 'merchant',
      merchant_id: b.id,
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('secrets never reach logs or later responses', () => {
  let child: ChildProcess | undefined;
  let logs = '';
  /** Plaintext secrets seen during the run, by name. */
  const secrets: Record<string, string> = {};
  /** Responses that are not the one-time creation/rotation/sign-in answers. */
  const later: Array<{ what: string; text: string }> = [];
  let paymentToken = '';
  let apiKeys: Sent;
  let loginCookie = '';

  async function stopChild() {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  beforeAll(async () => {
    child = spawn(path.join(root, 'node_modules', '.bin', 'tsx'), [path.join(root, 'test', 'securityLogs.ts')], {
      cwd: root,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    const api = await waitFor(
      () => {
        if (child!.exitCode !== null) throw new Error(`the logging API exited: ${logs}`);
        return /security-logs-api (\S+)/.exec(logs)?.[1];
      },
      60_000,
      'the logging API',
    );
    const keep = async (what: string, res: Promise<Sent>) => {
      const r = await res;
      later.push({ what, text: r.text });
      return r;
    };

    // Console users: a password sign-in (twice), a wrong password, a malformed login.
    const user = await signIn(api, 'admin');
    secrets.password = user.password;
    secrets.accessToken = user.token;
    secrets.refreshToken = user.cookie.split('=')[1];
    const login = await send(api, 'POST', '/api/v1/auth/login', {
      body: { email: user.email, password: user.password },
    });
    loginCookie = login.headers.get('set-cookie') ?? '';
    secrets.accessToken2 = login.json.access_token;
    secrets.refreshToken2 = loginCookie.split(';')[0].split('=')[1];
    secrets.wrongPassword = `wrong-${randomBytes(12).toString('base64url')}`;
    expect(
      (
        await keep(
          'wrong password',
          send(api, 'POST', '/api/v1/auth/login', { body: { email: user.email, password: secrets.wrongPassword } }),
        )
      ).status,
    ).toBe(401);
    secrets.malformedLoginPassword = `pw-${randomBytes(12).toString('base64url')}`;
    expect(
      (
        await keep(
          'malformed login',
          send(api, 'POST', '/api/v1/auth/login', {
            body: { email: 'not-an-email', password: secrets.malformedLoginPassword },
          }),
        )
      ).status,
    ).toBe(400);

    // A merchant: its key and webhook secret, used and looked at.
    const m = await createMerchant(api, user.token);
    secrets.apiKey = m.key;
    secrets.apiKeySecretPart = m.key.slice(12);
    secrets.webhookSecret = m.webhookSecret;
    secrets.webhookSecretKeyPart = m.webhookSecret.slice('whsec_'.length);
    await keep('me (merchant)', send(api, 'GET', '/api/v1/auth/me', { token: m.key }));
    await keep('me (admin)', send(api, 'GET', '/api/v1/auth/me', { token: user.token }));
    await keep('merchant (self)', send(api, 'GET', `/api/v1/merchants/${m.id}`, { token: m.key }));
    await keep('merchant (admin)', send(api, 'GET', `/api/v1/merchants/${m.id}`, { token: user.token }));
    await keep('merchants', send(api, 'GET', '/api/v1/merchants', { token: user.token }));
    apiKeys = await keep('api keys (self)', send(api, 'GET', `/api/v1/merchants/${m.id}/api-keys`, { token: m.key }));
    await keep('api keys (admin)', send(api, 'GET', `/api/v1/merchants/${m.id}/api-keys`, { token: user.token }));
    await keep(
      'patch merchant',
      send(api, 'PATCH', `/api/v1/merchants/${m.id}`, {
        token: m.key,
        body: { webhook_url: 'https://hooks.example.com/meridian' },
      }),
    );
    // Near misses of every credential: a 401 must not echo or log what was presented.
    expect((await keep('near-miss key', send(api, 'GET', '/api/v1/auth/me', { token: `${m.key}x` }))).status).toBe(401);
    expect((await keep('near-miss jwt', send(api, 'GET', '/api/v1/auth/me', { token: `${user.token}x` }))).status).toBe(
      401,
    );
    expect(
      (
        await keep(
          'basic auth',
          send(api, 'GET', '/api/v1/auth/me', {
            headers: { authorization: `Basic ${Buffer.from(`${user.email}:${user.password}`).toString('base64')}` },
          }),
        )
      ).status,
    ).toBe(401);

    // Session refresh and rotation of the merchant's secrets.
    const refreshed = await send(api, 'POST', '/api/v1/auth/refresh', {
      headers: { cookie: `meridian_refresh=${secrets.refreshToken2}` },
    });
    expect(refreshed.status).toBe(200);
    secrets.accessToken3 = refreshed.json.access_token;
    secrets.refreshToken3 = (refreshed.headers.get('set-cookie') ?? '').split(';')[0].split('=')[1];
    const rotated = await send(api, 'POST', `/api/v1/merchants/${m.id}/webhook-secret/rotate`, { token: m.key });
    expect(rotated.status).toBe(200);
    secrets.rotatedWebhookSecret = rotated.json.webhook_secret;
    const issued = await send(api, 'POST', `/api/v1/merchants/${m.id}/api-keys`, {
      token: user.token,
      body: { name: 'second' },
    });
    expect(issued.status).toBe(201);
    secrets.apiKey2 = issued.json.key;
    await keep('merchant after rotation', send(api, 'GET', `/api/v1/merchants/${m.id}`, { token: m.key }));
    await keep('api keys after issue', send(api, 'GET', `/api/v1/merchants/${m.id}/api-keys`, { token: user.token }));
    await keep('me (second key)', send(api, 'GET', '/api/v1/auth/me', { token: secrets.apiKey2 }));

    // A payment (no worker here, so Temporal only records it) and its payer page by token.
    const payment = await send(api, 'POST', '/api/v1/payments', {
      token: m.key,
      body: { amount: 100, currency: 'eur', order_id: unique('logs') },
    });
    expect(payment.status, payment.text).toBe(201);
    paymentToken = payment.json.payment_token;
    await keep('payer view', send(api, 'GET', `/api/v1/payments/${paymentToken}`));
    await keep('payments', send(api, 'GET', '/api/v1/payments', { token: m.key }));
    await keep('metrics', send(api, 'GET', '/metrics'));
    expect(
      (
        await send(api, 'POST', '/api/v1/auth/logout', {
          headers: { cookie: `meridian_refresh=${secrets.refreshToken3}` },
        })
      ).status,
    ).toBe(204);
    await new Promise((r) => setTimeout(r, 200));
    await stopChild();
  }, 120_000);
  afterAll(stopChild);

  it('captured the API’s request log lines (the scan below has something to scan)', () => {
    const requestLines = logs.split('\n').filter((l) => l.includes('"msg":"request"'));
    expect(requestLines.length).toBeGreaterThanOrEqual(20);
    expect(logs).toContain('"path":"/api/v1/auth/login"');
    expect(logs).toContain('/webhook-secret/rotate');
    expect(Object.values(secrets).every((s) => typeof s === 'string' && s.length >= 16)).toBe(true);
  });

  it('no password, API key, webhook secret, access token or refresh token appears in the logs', () => {
    for (const [name, value] of Object.entries(secrets))
      expect(logs.includes(value), `${name} found in the API logs`).toBe(false);
    // Nor the signature part of any access token alone.
    for (const name of ['accessToken', 'accessToken2', 'accessToken3'])
      expect(logs.includes(secrets[name].split('.')[2]), `${name} signature in the logs`).toBe(false);
  });

  it('payment tokens (the payer’s bearer capability, stored only hashed and encrypted) do not appear in the logs', () => {
    expect(paymentToken).toMatch(/^pt_/);
    expect(logs.includes(paymentToken), 'payment token found in the API logs').toBe(false);
  });

  it('responses after the one-time answers never contain a key, a webhook secret, a password or a refresh token', () => {
    expect(later.length).toBeGreaterThanOrEqual(15);
    const oneTimeAnswers = new Set(['accessToken', 'accessToken2', 'accessToken3']);
    for (const { what, text } of later) {
      for (const [name, value] of Object.entries(secrets))
        if (!oneTimeAnswers.has(name)) expect(text.includes(value), `${name} in the response to ${what}`).toBe(false);
    }
  });

  it('API keys are listed by prefix only', () => {
    expect(apiKeys.json.data).toHaveLength(1);
    const [listed] = apiKeys.json.data;
    expect(Object.keys(listed).sort()).toEqual(['created_at', 'id', 'last_used_at', 'name', 'prefix', 'revoked_at']);
    expect(secrets.apiKey.startsWith(listed.prefix)).toBe(true);
    expect(listed.prefix.length).toBeLessThanOrEqual(12);
    // What the prefix leaves unknown is still far beyond guessing (28 of 62 symbols ≈ 166 bits).
    expect(secrets.apiKey.length - listed.prefix.length).toBeGreaterThanOrEqual(24);
  });

  it('the refresh cookie is HttpOnly, SameSite=Strict and scoped to the auth routes', () => {
    expect(loginCookie).toMatch(/^meridian_refresh=/);
    expect(loginCookie.toLowerCase()).toContain('httponly');
    expect(loginCookie.toLowerCase()).toContain('samesite=strict');
    expect(loginCookie.toLowerCase()).toContain('path=/api/v1/auth');
  });
});

// ---------------------------------------------------------------------------------------------

describe('outbound requests to private addresses', () => {
  const privateTargets = [
    'http://169.254.169.254/latest/meta-data/',
    'http://127.0.0.1:1/',
    'http://[::1]/',
    'http://10.0.0.1/',
  ];
  // Spellings that normalise to private addresses, and other non-public ranges.
  const moreTargets = [
    'http://2130706433/',
    'http://0x7f.1/',
    'http://[::ffff:169.254.169.254]/',
    'http://0.0.0.0/',
    'http://192.168.1.1/',
    'http://100.64.0.1/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
  ];
  let strict: Awaited<ReturnType<typeof startApi>>;
  let strictAdmin: Awaited<ReturnType<typeof signIn>>;
  let strictOperator: Awaited<ReturnType<typeof signIn>>;
  let merchant: Awaited<ReturnType<typeof createMerchant>>;

  beforeAll(async () => {
    strict = await startApi({ OUTBOUND_ALLOWLIST: '', COT_SCHEDULE: 'off' });
    [strictAdmin, strictOperator] = await Promise.all([signIn(strict.url, 'admin'), signIn(strict.url, 'operator')]);
    merchant = await createMerchant(strict.url, strictAdmin.token);
  });
  afterAll(() => strict?.close());

  const expectRefused = (res: Sent, field: string, what: string) => {
    expectError(res, 400, 'validation_error', what);
    expect(res.json.error.details, what).toEqual([
      { path: field, message: expect.stringMatching(/not a public address/) },
    ]);
  };

  it.each([...privateTargets, ...moreTargets])(
    'without an allow-list, %s is refused for webhooks and monitors',
    async (target) => {
      expectRefused(
        await send(strict.url, 'PATCH', `/api/v1/merchants/${merchant.id}`, {
          token: merchant.key,
          body: { webhook_url: target },
        }),
        'webhook_url',
        `merchant webhook ${target}`,
      );
      expectRefused(
        await send(strict.url, 'POST', '/api/v1/merchants', {
          token: strictAdmin.token,
          body: { name: unique('ssrf'), webhook_url: target },
        }),
        'webhook_url',
        `new merchant ${target}`,
      );
      const monitor = { target_price: 10, currency: 'EUR', interval: 3600 };
      expectRefused(
        await send(strict.url, 'POST', '/api/v1/monitors', { token: merchant.key, body: { ...monitor, url: target } }),
        'url',
        `merchant monitor ${target}`,
      );
      expectRefused(
        await send(strict.url, 'POST', '/api/v1/monitors', {
          token: strictOperator.token,
          body: { ...monitor, url: target },
        }),
        'url',
        `operator monitor ${target}`,
      );
      expectRefused(
        await send(strict.url, 'POST', '/api/v1/monitors', {
          token: merchant.key,
          body: { ...monitor, url: 'https://shop.example.com/p/1', notify_webhook: target },
        }),
        'notify_webhook',
        `monitor alert webhook ${target}`,
      );
    },
  );

  it('nothing was stored by the refused requests', async () => {
    expect(
      (await send(strict.url, 'GET', `/api/v1/merchants/${merchant.id}`, { token: merchant.key })).json.webhook_url,
    ).toBeNull();
    expect((await send(strict.url, 'GET', '/api/v1/monitors', { token: merchant.key })).json.data).toEqual([]);
  });

  it('an allow-list opens exactly its range (127.0.0.1/32)', async () => {
    const c = await createMerchant(url(), admin.token);
    expect(
      (
        await send(url(), 'PATCH', `/api/v1/merchants/${c.id}`, {
          token: c.key,
          body: { webhook_url: 'http://127.0.0.1:1/' },
        })
      ).status,
    ).toBe(200);
    for (const target of ['http://127.0.0.2/', ...privateTargets.filter((t) => !t.includes('127.0.0.1'))]) {
      expectRefused(
        await send(url(), 'PATCH', `/api/v1/merchants/${c.id}`, { token: c.key, body: { webhook_url: target } }),
        'webhook_url',
        target,
      );
    }
  });

  it('a shop page redirecting to the metadata address is not followed', async () => {
    const created = await send(url(), 'POST', '/api/v1/monitors', {
      token: operator.token,
      body: { url: `${shop.url}/redirect`, target_price: 10, currency: 'EUR', interval: 3600 },
    });
    expect(created.status, created.text).toBe(201);
    try {
      const check = await send(url(), 'POST', `/api/v1/monitors/${created.json.id}/check`, { token: operator.token });
      expect(check.status, check.text).toBe(200);
      expect(check.json).toMatchObject({
        outcome: 'blocked',
        error: expect.stringMatching(/169\.254\.169\.254.*not a public address/),
      });
      expect(shop.hits.filter((h) => h === '/redirect').length).toBeGreaterThanOrEqual(1);
    } finally {
      await send(url(), 'DELETE', `/api/v1/monitors/${created.json.id}`, { token: operator.token });
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('rate limits under a parallel burst', () => {
  // Two API processes' worth of limiters on one Redis: the counters must be shared and atomic.
  const limits = { RATE_LIMIT_PER_IP: '5', RATE_LIMIT_PER_KEY: '5', RATE_LIMIT_WINDOW_S: '60', TRUST_PROXY: '1' };
  let apis: Array<Awaited<ReturnType<typeof startApi>>> = [];
  beforeAll(async () => {
    apis = await Promise.all([startApi(limits), startApi(limits)]);
  });
  afterAll(async () => {
    await Promise.all(apis.map((x) => x.close()));
  });

  const burst = (n: number, request: (base: string, i: number) => Promise<Sent>) =>
    Promise.all(Array.from({ length: n }, (_, i) => request(apis[i % 2].url, i)));
  const expectLimited = (results: Sent[], admitted: number, what: string) => {
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s !== 429).length, `${what}: ${statuses}`).toBe(admitted);
    for (const r of results.filter((x) => x.status === 429)) {
      expect(r.json.error.code).toBe('rate_limited');
      const retryAfter = Number(r.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
  };

  it('one API key from many IPs, across both processes: exactly the per-key budget', async () => {
    const { merchant } = await createMerchantInDb({ name: unique('burst') }, apis[0].deps.config.secretsKey);
    const { key } = await issueApiKey(merchant.id, 'burst');
    const results = await burst(20, (base) =>
      send(base, 'GET', '/api/v1/auth/me', { token: key, headers: { 'x-forwarded-for': clientIp() } }),
    );
    expectLimited(results, 5, 'merchant key');
    expect(results.filter((r) => r.status === 200).length).toBe(5);
  });

  it('one operator from many IPs: the same per-credential budget', async () => {
    // A fresh operator: the suite's own has spent far more than 5 points in this window already.
    const fresh = await signIn(url(), 'operator');
    const results = await burst(9, (base) =>
      send(base, 'GET', '/api/v1/auth/me', { token: fresh.token, headers: { 'x-forwarded-for': clientIp() } }),
    );
    expectLimited(results, 5, 'operator token');
  });

  it('one IP, anonymous, across both processes: exactly the per-IP budget', async () => {
    const ip = clientIp();
    const results = await burst(12, (base) =>
      send(base, 'GET', '/api/v1/meta', { headers: { 'x-forwarded-for': ip } }),
    );
    expectLimited(results, 5, 'anonymous IP');
  });

  it('a burst of guessed API keys from one IP is throttled like any other request', async () => {
    const ip = clientIp();
    const results = await burst(12, (base) =>
      send(base, 'GET', '/api/v1/auth/me', {
        token: `mk_live_${randomBytes(24).toString('hex')}`,
        headers: { 'x-forwarded-for': ip },
      }),
    );
    expectLimited(results, 5, 'guessed keys');
  });
});

// ---------------------------------------------------------------------------------------------

describe('security headers', () => {
  const directives = (csp: string) =>
    new Map(
      csp
        .split(';')
        .map((d) => d.trim())
        .filter(Boolean)
        .map((d) => [d.split(/\s+/)[0], d.split(/\s+/).slice(1)] as const),
    );
  const inlineScripts = (html: string) =>
    [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].filter(
      (m) => !/\bsrc=/.test(m[1]) && m[2].trim() !== '' && !/type="application\/(ld\+)?json"/.test(m[1]),
    );

  function expectBaseline(res: Sent, what: string) {
    expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
    expect(res.headers.get('x-frame-options'), what).toBe('DENY');
    expect(res.headers.get('referrer-policy'), what).toBe('no-referrer');
    const csp = res.headers.get('content-security-policy');
    expect(csp, what).toBeTruthy();
    const d = directives(csp!);
    expect(d.get('default-src'), what).toEqual(["'self'"]);
    const scripts = d.get('script-src') ?? d.get('default-src')!;
    expect(scripts, what).not.toContain("'unsafe-inline'");
    expect(scripts, what).not.toContain("'unsafe-eval'");
    expect(scripts, what).not.toContain('*');
    return d;
  }

  it.each(['/', '/login', '/monitors'])(
    'the console page %s: strict CSP, no inline script, framing refused',
    async (page) => {
      const res = await send(url(), 'GET', page);
      expect(res.status, 'the console is built (npm run build:ui)').toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      const d = expectBaseline(res, page);
      expect(d.get('frame-ancestors')).toEqual(["'none'"]);
      expect(inlineScripts(res.text)).toEqual([]);
      // Its scripts come from this origin, served with a script type (nosniff would block anything else).
      const srcs = [...res.text.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]);
      expect(srcs.length).toBeGreaterThan(0);
      for (const src of srcs) {
        expect(src).toMatch(/^\/(?!\/)/);
        const asset = await fetch(`${url()}${src}`);
        await asset.arrayBuffer();
        expect(asset.status, src).toBe(200);
        expect(asset.headers.get('content-type'), src).toMatch(/javascript/);
        expect(asset.headers.get('x-content-type-options'), src).toBe('nosniff');
      }
    },
  );

  it('the docs page allows exactly its own inline script by hash', async () => {
    const res = await send(url(), 'GET', '/docs');
    expect(res.status).toBe(200);
    const d = expectBaseline(res, '/docs');
    expect(d.get('frame-ancestors')).toEqual(["'none'"]);
    expect(d.get('object-src')).toEqual(["'none'"]);
    const inline = inlineScripts(res.text);
    expect(inline.length).toBe(1);
    for (const m of inline)
      expect(d.get('script-src')).toContain(`'sha256-${createHash('sha256').update(m[2]).digest('base64')}'`);
    for (const src of [...res.text.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1])) {
      expect(src).toMatch(/^\/docs\/assets\//);
      const asset = await fetch(`${url()}${src}`);
      await asset.arrayBuffer();
      expect(asset.status, src).toBe(200);
      expect(asset.headers.get('content-type'), src).toMatch(/javascript/);
    }
  });

  it.each([
    ['GET', '/openapi.json', undefined, 200],
    ['GET', '/api/v1/meta', undefined, 200],
    ['GET', '/api/v1/merchants', 'operator', 200],
    ['GET', '/api/v1/merchants', undefined, 401],
    ['POST', '/api/v1/merchants', 'operator', 403],
    ['GET', '/api/v1/nowhere', undefined, 404],
    ['GET', '/healthz', undefined, 200],
  ] as const)('%s %s (%s) → %i carries the baseline headers', async (method, p, who, status) => {
    const res = await send(url(), method, p, {
      token: who ? operator.token : undefined,
      body: method === 'POST' ? {} : undefined,
    });
    expect(res.status).toBe(status);
    const d = expectBaseline(res, `${method} ${p}`);
    expect(d.get('frame-ancestors')).toEqual(["'none'"]);
    // Answers of the API are never kept by caches (some carry tokens).
    if (p.startsWith('/api/')) expect(res.headers.get('cache-control')).toBe('no-store');
  });
});
