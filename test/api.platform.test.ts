import net from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createMerchant, openStream, signIn, startApi } from './helpers.js';

let api: Awaited<ReturnType<typeof startApi>>;
let admin: Awaited<ReturnType<typeof signIn>>;
let operator: Awaited<ReturnType<typeof signIn>>;

beforeAll(async () => {
  api = await startApi();
  admin = await signIn(api.url, 'admin');
  operator = await signIn(api.url, 'operator');
});
afterAll(() => api?.close());

const expectError = (res: { status: number; json: any }, status: number, code: string) => {
  expect(res.status).toBe(status);
  expect(res.json).toMatchObject({ error: { code, message: expect.any(String) } });
  expect(res.json.error).toHaveProperty('details');
};

describe('connections', () => {
  it('keeps an idle connection open longer than clients keep theirs (undici 4 s), so a reused one is never reset', async () => {
    // The server closing an idle keep-alive connection first raced a busy client reusing it: ECONNRESET.
    const res = await fetch(`${api.url}/healthz`);
    await res.arrayBuffer();
    const timeoutS = Number(/timeout=(\d+)/.exec(res.headers.get('keep-alive') ?? '')?.[1]);
    expect(timeoutS).toBeGreaterThanOrEqual(60);
  });

  // A body the server stopped reading half-way (too large, or not decodable) used to leave its keep-alive
  // connection waiting for the rest: the next request on it was taken for body bytes and never answered.
  it.each([
    ['too large', {}, Buffer.from(JSON.stringify({ name: 'x'.repeat(1_100_000) })), 413],
    ['not decodable', { 'content-encoding': 'gzip' }, Buffer.alloc(300_000, 'not gzip'), 400],
  ])(
    'a body left unread (%s) closes its connection instead of swallowing the next request',
    async (_, headers, body, status) => {
      const answers = await pipelined(api.url, [
        { path: '/api/v1/auth/login', headers: { 'content-type': 'application/json', ...headers }, body },
        { path: '/api/v1/auth/logout' },
      ]);
      expect(answers.statuses[0]).toBe(status);
      expect(answers.hung).toBe(false);
      // Either the server closed after its answer (the client sends the second request again), or it answered both.
      if (answers.statuses.length === 1) expect(answers.closed).toBe(true);
      else expect(answers.statuses[1]).toBe(204);
    },
  );
});

// Each API process keeps the access tokens it verified (api/middleware/authenticate.ts): what it kept must not
// outlive the token, nor vouch for another token naming the same user.
describe('access tokens already verified', () => {
  const tokenFor = (userId: string, expSeconds: number, secret: Uint8Array) =>
    new SignJWT({ role: 'operator' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(userId)
      .setIssuer('meridian')
      .setAudience('meridian-console')
      .setIssuedAt()
      .setExpirationTime(expSeconds)
      .sign(secret);

  it('a token accepted before is refused from its expiry on', async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const token = await tokenFor(operator.id, exp, api.deps.config.jwtSecret);
    expect((await call(api.url, 'GET', '/api/v1/meta', { token })).status).toBe(200);
    expect((await call(api.url, 'GET', '/api/v1/meta', { token })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 20));
    expectError(await call(api.url, 'GET', '/api/v1/meta', { token }), 401, 'unauthorized');
  });

  it('the same claims under another signature are refused after the right one was accepted', async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const good = await tokenFor(operator.id, exp, api.deps.config.jwtSecret);
    const forged = await tokenFor(operator.id, exp, new Uint8Array(32).fill(7));
    expect(forged.split('.').slice(0, 2)).toEqual(good.split('.').slice(0, 2));
    expect((await call(api.url, 'GET', '/api/v1/meta', { token: good })).status).toBe(200);
    expectError(await call(api.url, 'GET', '/api/v1/meta', { token: forged }), 401, 'unauthorized');
    expect((await call(api.url, 'GET', '/api/v1/meta', { token: good })).status).toBe(200);
  });
});

/**
 * Sends POST requests back to back on one TCP connection and reads what comes back: the statuses, whether
 * the server closed the connection, and whether it went quiet with the connection open (hung).
 */
async function pipelined(url: string, requests: { path: string; headers?: Record<string, string>; body?: Buffer }[]) {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (received += chunk));
  const ended = new Promise<boolean>((resolve) => {
    socket.on('data', () => {
      if (statusesIn(received).length === requests.length) resolve(false);
    });
    socket.on('close', () => resolve(true));
    socket.on('error', () => resolve(true));
    // Far longer than either answer takes; quiet this long with the connection open is a hang.
    setTimeout(() => resolve(false), 10_000).unref();
  });
  for (const r of requests) {
    const headers = { host: `${hostname}:${port}`, 'content-length': String(r.body?.length ?? 0), ...r.headers };
    const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
    socket.write(`POST ${r.path} HTTP/1.1\r\n${head.join('')}\r\n`);
    if (r.body) socket.write(r.body);
  }
  const closed = await ended;
  socket.destroy();
  const statuses = statusesIn(received);
  return { statuses, closed, hung: !closed && statuses.length < requests.length };
}

const statusesIn = (received: string) => [...received.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));

describe('error format', () => {
  it('unknown routes are a JSON 404', async () => {
    expectError(await call(api.url, 'GET', '/api/v1/does-not-exist'), 404, 'route_not_found');
  });

  it('invalid bodies are a 400 naming each field', async () => {
    const res = await call(api.url, 'POST', '/api/v1/merchants', {
      token: admin.token,
      body: { name: '', webhook_url: 'ftp://x' },
    });
    expectError(res, 400, 'validation_error');
    expect(res.json.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['name', 'webhook_url']);
  });

  it('malformed JSON is a 400, not a 500', async () => {
    expectError(await call(api.url, 'POST', '/api/v1/auth/login', { body: '{"email":' }), 400, 'malformed_json');
  });

  it('bodies over 1 MB are a 413', async () => {
    const huge = JSON.stringify({ name: 'x'.repeat(1_100_000) });
    expectError(
      await call(api.url, 'POST', '/api/v1/merchants', { token: admin.token, body: huge }),
      413,
      'payload_too_large',
    );
  });

  it('non-JSON bodies are a 415', async () => {
    const res = await call(api.url, 'POST', '/api/v1/merchants', {
      token: admin.token,
      body: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectError(res, 415, 'unsupported_media_type');
  });

  it('a URL or headers over the 16 KB limit of Node get the JSON error format too', async () => {
    expectError(
      await call(api.url, 'GET', `/api/v1/merchants?name=${'x'.repeat(20_000)}`, { token: admin.token }),
      431,
      'headers_too_large',
    );
    expectError(
      await call(api.url, 'GET', '/healthz', { headers: { 'x-padding': 'y'.repeat(20_000) } }),
      431,
      'headers_too_large',
    );
  });

  it('bad path parameters are a 400', async () => {
    expectError(
      await call(api.url, 'GET', '/api/v1/merchants/..%2F..%2Fetc', { token: admin.token }),
      400,
      'validation_error',
    );
  });

  it('every response carries a request id, echoing a sane incoming one', async () => {
    const res = await call(api.url, 'GET', '/healthz', { headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('abc-123');
    const fresh = await call(api.url, 'GET', '/healthz', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('authentication and roles', () => {
  it('rejects missing and invalid credentials with 401', async () => {
    expectError(await call(api.url, 'GET', '/api/v1/merchants'), 401, 'unauthorized');
    expectError(await call(api.url, 'GET', '/api/v1/merchants', { token: 'not-a-jwt' }), 401, 'unauthorized');
    expectError(await call(api.url, 'GET', '/api/v1/merchants', { token: 'mk_live_unknown' }), 401, 'unauthorized');
    expectError(
      await call(api.url, 'GET', '/api/v1/merchants', { headers: { authorization: 'Basic abc' } }),
      401,
      'unauthorized',
    );
  });

  it('rejects a wrong password without saying which part was wrong', async () => {
    const wrong = await call(api.url, 'POST', '/api/v1/auth/login', { body: { email: admin.email, password: 'nope' } });
    const unknown = await call(api.url, 'POST', '/api/v1/auth/login', {
      body: { email: 'nobody@test.local', password: 'nope' },
    });
    expectError(wrong, 401, 'unauthorized');
    expect(unknown.json).toEqual(wrong.json);
  });

  it('forbids operators from admin routes with 403', async () => {
    expectError(
      await call(api.url, 'POST', '/api/v1/merchants', { token: operator.token, body: { name: 'x' } }),
      403,
      'forbidden',
    );
    expect((await call(api.url, 'GET', '/api/v1/merchants', { token: operator.token })).status).toBe(200);
  });

  it('forbids merchant keys from console routes with 403', async () => {
    const m = await createMerchant(api.url, admin.token);
    expectError(await call(api.url, 'GET', '/api/v1/merchants', { token: m.key }), 403, 'forbidden');
  });

  const refresh = (url: string, cookie: string) =>
    fetch(`${url}/api/v1/auth/refresh`, { method: 'POST', headers: { cookie } });
  const logout = (url: string, cookie: string) =>
    fetch(`${url}/api/v1/auth/logout`, { method: 'POST', headers: { cookie } });
  const cookieOf = (res: Response) => res.headers.get('set-cookie')!.split(';')[0];

  it('rotates the refresh token and treats reuse of an old one after the grace window as theft', async () => {
    const short = await startApi({ REFRESH_REUSE_GRACE_S: '1' });
    try {
      const user = await signIn(short.url, 'operator');
      const first = await refresh(short.url, user.cookie);
      expect(first.status).toBe(200);
      const rotated = cookieOf(first);
      expect(rotated).not.toBe(user.cookie);
      expect(first.headers.get('set-cookie')).toMatch(/httponly/i);
      await new Promise((r) => setTimeout(r, 1_500));
      // The old cookie again: refused, and the rotated one dies with it.
      expect((await refresh(short.url, user.cookie)).status).toBe(401);
      expect((await refresh(short.url, rotated)).status).toBe(401);
    } finally {
      await short.close();
    }
  });

  it('two refreshes racing with one cookie both answer, and the session lives on', async () => {
    const user = await signIn(api.url, 'operator');
    const twins = await Promise.all([refresh(api.url, user.cookie), refresh(api.url, user.cookie)]);
    expect(twins.map((r) => r.status)).toEqual([200, 200]);
    for (const twin of twins) {
      const { access_token } = await twin.json();
      expect((await call(api.url, 'GET', '/api/v1/auth/me', { token: access_token })).status).toBe(200);
      // Whichever of the two cookies the browser kept goes on working.
      expect((await refresh(api.url, cookieOf(twin))).status).toBe(200);
    }
  });

  it('a spent cookie is refused, within the grace window too, once the session logged out', async () => {
    const user = await signIn(api.url, 'operator');
    const rotated = cookieOf(await refresh(api.url, user.cookie));
    expect((await logout(api.url, rotated)).status).toBe(204);
    expect((await refresh(api.url, user.cookie)).status).toBe(401);
    expect((await refresh(api.url, rotated)).status).toBe(401);
  });

  it('a logout racing a refresh leaves no live token behind', async () => {
    for (let i = 0; i < 5; i++) {
      const user = await signIn(api.url, 'operator');
      const [refreshed] = await Promise.all([refresh(api.url, user.cookie), logout(api.url, user.cookie)]);
      if (refreshed.status === 200) expect((await refresh(api.url, cookieOf(refreshed))).status).toBe(401);
    }
  });

  it('logout ends the session', async () => {
    const user = await signIn(api.url, 'operator');
    expect(
      (await fetch(`${api.url}/api/v1/auth/logout`, { method: 'POST', headers: { cookie: user.cookie } })).status,
    ).toBe(204);
    expect(
      (await fetch(`${api.url}/api/v1/auth/refresh`, { method: 'POST', headers: { cookie: user.cookie } })).status,
    ).toBe(401);
  });

  it('tells callers who they are', async () => {
    expect((await call(api.url, 'GET', '/api/v1/auth/me', { token: admin.token })).json).toMatchObject({
      kind: 'user',
      role: 'admin',
      email: admin.email,
    });
    const m = await createMerchant(api.url, admin.token);
    expect((await call(api.url, 'GET', '/api/v1/auth/me', { token: m.key })).json).toMatchObject({
      kind: 'merchant',
      merchant_id: m.id,
    });
  });
});

describe('merchants and API keys', () => {
  it('stores only a hash of each key and shows its prefix', async () => {
    const m = await createMerchant(api.url, admin.token);
    expect(m.key).toMatch(/^mk_live_[A-Za-z0-9]{32}$/);
    expect(m.webhookSecret).toMatch(/^whsec_/);
    const rows = await api.deps.db('api_keys').where({ merchant_id: m.id });
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(m.key);
    expect(rows[0].prefix).toBe(m.key.slice(0, 12));
    const merchantRow = await api.deps.db('merchants').where({ id: m.id }).first();
    expect(JSON.stringify(merchantRow)).not.toContain(m.webhookSecret.slice(6));
  });

  it('a merchant sees itself and never another merchant', async () => {
    const a = await createMerchant(api.url, admin.token);
    const b = await createMerchant(api.url, admin.token);
    expect((await call(api.url, 'GET', `/api/v1/merchants/${a.id}`, { token: a.key })).status).toBe(200);
    expectError(await call(api.url, 'GET', `/api/v1/merchants/${b.id}`, { token: a.key }), 404, 'not_found');
    expectError(await call(api.url, 'GET', `/api/v1/merchants/${b.id}/api-keys`, { token: a.key }), 404, 'not_found');
    const own = await call(api.url, 'GET', `/api/v1/merchants/${a.id}/api-keys`, { token: a.key });
    expect(own.json.data).toHaveLength(1);
    expect(JSON.stringify(own.json)).not.toContain(a.key);
  });

  it('issues and revokes keys; a revoked key stops working', async () => {
    const m = await createMerchant(api.url, admin.token);
    const issued = await call(api.url, 'POST', `/api/v1/merchants/${m.id}/api-keys`, {
      token: admin.token,
      body: { name: 'ci' },
    });
    expect(issued.status).toBe(201);
    expect((await call(api.url, 'GET', '/api/v1/auth/me', { token: issued.json.key })).status).toBe(200);
    const revoked = await call(api.url, 'DELETE', `/api/v1/merchants/${m.id}/api-keys/${issued.json.api_key.id}`, {
      token: admin.token,
    });
    expect(revoked.status).toBe(200);
    expect(revoked.json.revoked_at).not.toBeNull();
    expectError(await call(api.url, 'GET', '/api/v1/auth/me', { token: issued.json.key }), 401, 'unauthorized');
    expectError(
      await call(api.url, 'DELETE', `/api/v1/merchants/${m.id}/api-keys/${issued.json.api_key.id}`, {
        token: admin.token,
      }),
      404,
      'not_found',
    );
    // The first key still works.
    expect((await call(api.url, 'GET', '/api/v1/auth/me', { token: m.key })).status).toBe(200);
  });

  it('a revoked key is refused on another API process as soon as the revocation is announced, and its event streams end', async () => {
    // Caching keys for a minute: only the announcement can make that process refuse the key in time.
    const other = await startApi({ API_KEY_CACHE_MS: '60000' });
    try {
      const m = await createMerchant(api.url, admin.token);
      const keyId = (await call(api.url, 'GET', `/api/v1/merchants/${m.id}/api-keys`, { token: admin.token })).json
        .data[0].id;
      expect((await call(other.url, 'GET', '/api/v1/auth/me', { token: m.key })).status).toBe(200);
      const stream = await openStream(other.url, m.key);
      expect(
        (await call(api.url, 'DELETE', `/api/v1/merchants/${m.id}/api-keys/${keyId}`, { token: admin.token })).status,
      ).toBe(200);
      await expect
        .poll(async () => (await call(other.url, 'GET', '/api/v1/auth/me', { token: m.key })).status, { timeout: 5000 })
        .toBe(401);
      const stillOpen = new Promise((resolve) => setTimeout(() => resolve('still open'), 5000));
      expect(await Promise.race([stream.ended, stillOpen])).toBe(true);
      expect(stream.events.map((e) => e.type)).toContain('api_key.revoked');
    } finally {
      await other.close();
    }
  });

  it('a revoked key is refused by the process that revoked it from the very next request, even when the announcement is lost', async () => {
    const own = await startApi({ API_KEY_CACHE_MS: '60000' });
    try {
      // This process hears no announcements any more, its own included.
      await own.deps.events.close();
      const ownAdmin = await signIn(own.url, 'admin');
      const m = await createMerchant(own.url, ownAdmin.token);
      const keyId = (await call(own.url, 'GET', `/api/v1/merchants/${m.id}/api-keys`, { token: ownAdmin.token })).json
        .data[0].id;
      expect((await call(own.url, 'GET', '/api/v1/auth/me', { token: m.key })).status).toBe(200);
      expect(
        (await call(own.url, 'DELETE', `/api/v1/merchants/${m.id}/api-keys/${keyId}`, { token: ownAdmin.token }))
          .status,
      ).toBe(200);
      expectError(await call(own.url, 'GET', '/api/v1/auth/me', { token: m.key }), 401, 'unauthorized');
    } finally {
      await own.close();
    }
  });

  it('records when a key was last used, writing it once a minute however busy the key is', async () => {
    const m = await createMerchant(api.url, admin.token);
    const lastUsed = async () =>
      (await call(api.url, 'GET', `/api/v1/merchants/${m.id}/api-keys`, { token: admin.token })).json.data[0]
        .last_used_at as string | null;
    expect(await lastUsed()).toBeNull();
    const before = Date.now();
    await call(api.url, 'GET', '/api/v1/auth/me', { token: m.key });
    await expect.poll(lastUsed).not.toBeNull();
    const first = (await lastUsed())!;
    expect(Date.parse(first)).toBeGreaterThanOrEqual(before - 1000);
    // A busy minute: every request used to write the row again (and queue on its lock).
    await Promise.all(Array.from({ length: 20 }, () => call(api.url, 'GET', '/api/v1/auth/me', { token: m.key })));
    await new Promise((r) => setTimeout(r, 300));
    expect(await lastUsed()).toBe(first);
  });
});

describe('metrics, docs and CORS', () => {
  it('exposes request durations by route template plus process metrics', async () => {
    const m = await createMerchant(api.url, admin.token);
    await call(api.url, 'GET', `/api/v1/merchants/${m.id}`, { token: admin.token });
    const res = await call(api.url, 'GET', '/metrics');
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    expect(res.text).toMatch(
      /http_request_duration_seconds_count\{route="\/api\/v1\/merchants\/:id",method="GET",status="200"\} [1-9]/,
    );
    expect(res.text).not.toContain(m.id);
    expect(res.text).toContain('process_cpu_seconds_total');
  });

  it('serves the spec and the docs page from the npm package', async () => {
    const spec = await call(api.url, 'GET', '/openapi.json');
    expect(spec.json.openapi).toBe('3.1.0');
    const docs = await call(api.url, 'GET', '/docs');
    expect(docs.text).toContain('swagger-ui-bundle.js');
    expect(docs.headers.get('content-security-policy')).toContain("script-src 'self' 'sha256-");
    const asset = await fetch(`${api.url}/docs/assets/swagger-ui-bundle.js`);
    expect(asset.status).toBe(200);
    expect((await asset.text()).length).toBeGreaterThan(100_000);
  });

  it('allows the console origin and no other', async () => {
    const allowed = await fetch(`${api.url}/api/v1/meta`, { headers: { origin: 'http://localhost:5173' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await fetch(`${api.url}/api/v1/meta`, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
