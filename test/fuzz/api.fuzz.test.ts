/**
 * Bad-input fuzzing of every operation in openapi/openapi.json against a real stack (API, worker,
 * PostgreSQL, Redis, Temporal). Requests are generated with fast-check from each operation's
 * schemas: path ids that exist, look right or are garbage (traversal, unicode, broken escapes,
 * huge); query parameters of the wrong type or size; bodies built from the request schema and then
 * mutated, random JSON, malformed JSON, wrong content types and bodies over the 1 MB limit — each
 * sent with credentials that pass the operation's access check, so that validation is exercised.
 *
 * Every answer must be below 500, an error must be the documented JSON error shape, and its status
 * one the operation documents. Afterwards the database must hold no half-written records, and each
 * table must have grown by exactly the creations the API acknowledged.
 *
 * FUZZ_SEED reproduces a run; FUZZ_RUNS scales the number of cases per operation.
 */
import { DateTime } from 'luxon';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, releaseDb, type Knex } from '../../db/knex.js';
import { appointmentWorkflowId } from '../../workflows/contracts/booking.js';
import { diagnosisWorkflowId } from '../../workflows/contracts/diagnosis.js';
import { monitorDispatchScheduleId } from '../../workflows/contracts/monitors.js';
import { paymentWorkflowId } from '../../workflows/contracts/payments.js';
import { call, createMerchant, createWorkshop, signIn, startStack, unique } from '../helpers.js';
import {
  garbage,
  injection,
  mutate,
  mutations,
  RawJson,
  toJsonText,
  unicodeString,
  validArb,
  WEIRD_NUMBERS,
  type Hints,
} from './arbitraries.js';
import { startWhiteList } from '../whitelist.js';
import { closeAgent, send, type RawRequest, type RawResponse } from './http.js';
import { loadOperations, type Access, type Operation, type Parameter } from './spec.js';

const settings = {
  OUTBOUND_ALLOWLIST: '127.0.0.1/32',
  COT_SCHEDULE: 'off',
  CFTC_BASE_URL: 'http://127.0.0.1:9',
  COT_RETRY_ATTEMPTS: '1',
  COT_RETRY_INITIAL_MS: '100',
  MONITOR_RETRY_ATTEMPTS: '1',
  MONITOR_RETRY_INITIAL_MS: '100',
  MONITOR_FETCH_TIMEOUT_MS: '2000',
  WEBHOOK_RETRY_SCHEDULE_S: '0',
  WEBHOOK_TIMEOUT_MS: '1000',
  BOOKING_MIN_NOTICE_MIN: '0',
};

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2_147_483_647;
const SCALE = Number(process.env.FUZZ_RUNS ?? 1);
const BODY_LIMIT = 1024 * 1024;
const DAY = 24 * 3600 * 1000;
/** Far above any answer's time (a price check waits 10 s at most): a request that outlasts it hangs. */
const REQUEST_TIMEOUT_MS = 15_000;
/** Below this many cases in all, the run proves too little. */
const MIN_TOTAL_CASES = Math.floor(4000 * SCALE);

const operations = loadOperations();

type Credential = 'none' | 'admin' | 'operator' | 'merchant' | 'bad';

interface Fixture {
  url: string;
  tokens: { admin: string; operator: string; merchant: string };
  /** Values that exist or fit, by parameter or field name. */
  known: Record<string, unknown[]>;
}

let stack: Awaited<ReturnType<typeof startStack>>;
/** The VAT white list's stand-in: every valid NIP is a company, so look-ups and account checks answer. */
let whitelist: Awaited<ReturnType<typeof startWhiteList>>;
let db: Knex;
let fx: Fixture;
let countsBefore: Record<string, number>;

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/** Percent-encodes every byte outside RFC 3986's unreserved set (lone surrogates become U+FFFD). */
const encode = (text: string) =>
  [...Buffer.from(text, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');

/** A path segment: text to encode, or bytes that go on the wire as they are (broken escapes, raw `..`). */
type Segment = { encoded: string } | { raw: string };

const RAW_SEGMENTS = [
  '%FF',
  '%E0%A4%A',
  '%',
  '%00',
  '%0A',
  '%C0%AF',
  '%u002e',
  '..',
  '%2e%2e',
  '..;',
  '..%2F..%2F..%2Fetc%2Fpasswd',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '%252e%252e%252f',
  'a%2Fb',
  '%20',
  '+',
  '*',
  '@',
  ':',
  ';a=1',
  '~',
];

interface Case {
  credential: Credential;
  /** Which malformed Authorization header a `bad` credential sends. */
  badAuth: number;
  path: Record<string, Segment>;
  query: [string, string][];
  rawQuery?: string;
  headers: Record<string, string>;
  body:
    | { kind: 'none' }
    | { kind: 'json'; value: unknown; contentType: string }
    | { kind: 'text'; text: string; contentType: string | null; encoding?: string }
    | { kind: 'oversized'; bytes: number; contentType: string };
}

/** `arb` one time in `n`, else undefined. */
const sometimes = <T>(arb: fc.Arbitrary<T>, n: number) =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: n - 1 }, { arbitrary: arb, weight: 1 });

const scalarText = (value: unknown): string =>
  value instanceof RawJson ? value.text : typeof value === 'string' ? value : toJsonText(value);

function hintsFor(op: Operation): Hints {
  return (name) => {
    const k = fx.known;
    if (name === 'id') {
      if (op.path.startsWith('/api/v1/merchants/')) return k.merchant_id;
      if (op.path.startsWith('/api/v1/webhooks/')) return k.delivery_id;
      if (op.path.startsWith('/api/v1/workshops/')) return k.workshop_id;
      if (op.path.startsWith('/api/v1/mechanics/')) return k.mechanic_path;
      if (op.path.startsWith('/api/v1/services/')) return k.service_id;
      if (op.path.startsWith('/api/v1/hours/')) return k.hours_id;
      if (op.path.startsWith('/api/v1/overrides/')) return k.override_id;
      if (op.path.startsWith('/api/v1/appointments/')) return k.appointment_id;
      if (op.path.startsWith('/api/v1/diagnosis/')) return k.session_id;
      if (op.path.startsWith('/api/v1/payments/')) return k.intent_id;
      // A real monitor would start a price check and wait up to 10 s for it: only unknown ids there.
      if (op.path === '/api/v1/monitors/{id}/check') return undefined;
      if (op.path.startsWith('/api/v1/monitors/')) return k.monitor_id;
      return undefined;
    }
    return k[name];
  };
}

function pathParamArb(p: Parameter, hints: Hints): fc.Arbitrary<Segment> {
  const text = (arb: fc.Arbitrary<unknown>) =>
    arb
      .map((v) => scalarText(v))
      .filter((s) => s.length > 0)
      .map((s): Segment => ({ encoded: s }));
  return fc.oneof(
    // Mostly well-formed, so that the rest of the request gets its turn to be wrong.
    { arbitrary: text(validArb(p.schema, hints, p.name)), weight: 24 },
    { arbitrary: text(fc.uuid()), weight: 1 },
    { arbitrary: text(injection), weight: 2 },
    { arbitrary: text(unicodeString), weight: 2 },
    { arbitrary: text(fc.string({ minLength: 1, maxLength: 80 })), weight: 1 },
    // Long, yet short enough that the request line stays under Node's 16 KB header limit.
    { arbitrary: fc.integer({ min: 1000, max: 5000 }).map((n): Segment => ({ encoded: 'x'.repeat(n) })), weight: 1 },
    { arbitrary: fc.constantFrom(...RAW_SEGMENTS).map((raw): Segment => ({ raw })), weight: 2 },
  );
}

function queryValueArb(p: Parameter, hints: Hints): fc.Arbitrary<string[]> {
  const one = fc.oneof(
    { arbitrary: validArb(p.schema, hints, p.name).map(scalarText), weight: 15 },
    { arbitrary: fc.constantFrom(...WEIRD_NUMBERS, 'abc', '', ' ', 'true', '1,2', '0x10', '1_000', '١٢'), weight: 2 },
    { arbitrary: injection, weight: 2 },
    { arbitrary: unicodeString, weight: 1 },
    { arbitrary: fc.integer({ min: 1000, max: 5000 }).map((n) => '9'.repeat(n)), weight: 1 },
  );
  // Sometimes repeated: `?limit=1&limit=2` arrives as an array.
  return fc.oneof(
    { arbitrary: one.map((v) => [v]), weight: 10 },
    { arbitrary: fc.array(one, { minLength: 2, maxLength: 3 }), weight: 1 },
  );
}

const RAW_QUERIES = [
  '%',
  '%ZZ',
  'limit=%FF',
  'a[b]=1&a[c]=2',
  '&&&',
  '=',
  'limit',
  'limit=1&limit',
  '__proto__=1',
  'constructor[prototype][x]=1',
  'x'.repeat(6000),
];

const MALFORMED_JSON = [
  '{',
  '{"a":',
  '{"amount": 1,}',
  "{'a':1}",
  'undefined',
  'NaN',
  '{"a":NaN}',
  '[1,2',
  '{"a":1}}',
  '\u0000',
  '{"a":"\\x41"}',
  '{"a":01}',
  '{"a":1e}',
  '{"a":"\u0000"',
  ' ',
  '{"a":"\\ud800"',
  '\ufeff{}',
  'null',
  '"just a string"',
  '123',
  'true',
  '[]',
];
const WRONG_CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/json; charset=utf-16',
  'application/json; charset=bogus',
  'application/vnd.api+json',
  'application/jsonx',
  'APPLICATION/JSON',
  'json',
  '*/*',
];

function bodyArb(op: Operation, hints: Hints): fc.Arbitrary<Case['body']> {
  const json = (arb: fc.Arbitrary<unknown>) =>
    arb.map((value): Case['body'] => ({ kind: 'json', value, contentType: 'application/json' }));
  const malformed = fc
    .constantFrom(...MALFORMED_JSON)
    .map((text): Case['body'] => ({ kind: 'text', text, contentType: 'application/json' }));
  const oversized = fc
    .integer({ min: BODY_LIMIT + 1, max: BODY_LIMIT * 1.5 })
    .map((bytes): Case['body'] => ({ kind: 'oversized', bytes, contentType: 'application/json' }));
  if (!op.body) {
    // Operations that take no body still get one now and then; GET and DELETE bodies are ignored.
    const text = fc.tuple(
      garbage,
      fc.constantFrom<string | null>(...WRONG_CONTENT_TYPES, null),
      fc.constantFrom(undefined, 'gzip', 'br', 'x-unknown'),
    );
    return fc.oneof(
      { arbitrary: fc.constant<Case['body']>({ kind: 'none' }), weight: 12 },
      { arbitrary: json(garbage), weight: 1 },
      { arbitrary: malformed, weight: 1 },
      {
        arbitrary: text.map(([v, contentType, encoding]): Case['body'] => ({
          kind: 'text',
          text: toJsonText(v),
          contentType,
          encoding,
        })),
        weight: 1,
      },
      { arbitrary: oversized, weight: 1 },
    );
  }
  const valid = validArb(op.body, hints);
  const truncated = fc.tuple(valid, fc.nat()).map(([v, cut]): Case['body'] => {
    const text = toJsonText(v);
    return { kind: 'text', text: text.slice(0, cut % Math.max(text.length, 1)), contentType: 'application/json' };
  });
  const wrongType = fc
    .tuple(valid, fc.constantFrom<string | null>(...WRONG_CONTENT_TYPES, null))
    .map(([v, contentType]): Case['body'] => ({ kind: 'text', text: toJsonText(v), contentType }));
  const badEncoding = fc
    .tuple(valid, fc.constantFrom('gzip', 'deflate', 'br', 'x-unknown'))
    .map(([v, encoding]): Case['body'] => ({
      kind: 'text',
      text: toJsonText(v),
      contentType: 'application/json',
      encoding,
    }));
  return fc.oneof(
    { arbitrary: json(valid), weight: 3 },
    { arbitrary: json(fc.tuple(valid, mutations).map(([v, m]) => mutate(v, m))), weight: 8 },
    { arbitrary: json(garbage), weight: 1 },
    { arbitrary: malformed, weight: 1 },
    { arbitrary: truncated, weight: 1 },
    { arbitrary: wrongType, weight: 2 },
    { arbitrary: badEncoding, weight: 1 },
    { arbitrary: oversized, weight: 1 },
    { arbitrary: fc.constant<Case['body']>({ kind: 'none' }), weight: 1 },
  );
}

const BAD_AUTH = [
  'Bearer',
  'Bearer ',
  'Basic YWRtaW46YWRtaW4=',
  'Bearer mk_not-a-key',
  'Bearer eyJhbGciOiJub25lIn0.eyJyb2xlIjoiYWRtaW4ifQ.',
  'Bearer x y',
  'bearer ' + 'a'.repeat(4000),
];

function credentialsFor(access: Access[]): Credential[] {
  const allowed = new Set<Credential>();
  for (const a of access) {
    if (a === 'public') allowed.add('none');
    if (a === 'operator') allowed.add('admin').add('operator');
    if (a === 'admin') allowed.add('admin');
    if (a === 'merchant') allowed.add('merchant');
  }
  return [...allowed];
}

function caseArb(op: Operation): fc.Arbitrary<Case> {
  const hints = hintsFor(op);
  const pathParams = op.params.filter((p) => p.in === 'path');
  const queryParams = op.params.filter((p) => p.in === 'query');
  const headerParams = op.params.filter((p) => p.in === 'header');
  const customerHeader =
    op.access.includes('public') && op.path.startsWith('/api/v1/appointments')
      ? 'x-appointment-token'
      : op.access.includes('public') && op.path.startsWith('/api/v1/diagnosis')
        ? 'x-session-token'
        : null;
  const printable = fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    minLength: 1,
    maxLength: 300,
  });

  const query = fc
    .tuple(
      fc.tuple(
        ...queryParams.map((p) =>
          p.required
            ? queryValueArb(p, hints).map((v) => v as string[] | null)
            : fc.option(queryValueArb(p, hints), { freq: 2 }),
        ),
      ),
      sometimes(
        fc.tuple(
          fc.constantFrom('unknown', 'limit[]', '__proto__', 'order', 'sort', 'admin'),
          fc.oneof(injection, unicodeString),
        ),
        6,
      ),
    )
    .map(([values, extra]) => {
      const pairs: [string, string][] = [];
      queryParams.forEach((p, i) => values[i]?.forEach((v) => pairs.push([p.name, v])));
      if (extra) pairs.push(extra);
      return pairs;
    });

  const headers = fc
    .tuple(
      fc.tuple(...headerParams.map(() => fc.option(fc.oneof(printable, fc.constant('k'.repeat(256))), { freq: 2 }))),
      customerHeader
        ? fc.option(
            fc.oneof(printable, fc.constantFrom(...((fx.known[customerHeader] as string[] | undefined) ?? ['x']))),
            { freq: 2 },
          )
        : fc.constant(null),
    )
    .map(([values, customer]) => {
      const out: Record<string, string> = {};
      headerParams.forEach((p, i) => {
        if (values[i] !== null) out[p.name] = values[i]!;
      });
      if (customerHeader && customer !== null) out[customerHeader] = customer;
      return out;
    });

  const allowed = credentialsFor(op.access);
  return fc.record({
    credential: fc.oneof(
      { arbitrary: fc.constantFrom(...allowed), weight: 15 },
      { arbitrary: fc.constant<Credential>('bad'), weight: 1 },
    ),
    badAuth: fc.nat({ max: BAD_AUTH.length - 1 }),
    path: fc.record(Object.fromEntries(pathParams.map((p) => [p.name, pathParamArb(p, hints)]))),
    query,
    rawQuery: sometimes(fc.constantFrom(...RAW_QUERIES), 12),
    headers,
    body: bodyArb(op, hints),
  });
}

function toRequest(op: Operation, c: Case): RawRequest {
  const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const segment = c.path[name];
    return 'raw' in segment ? segment.raw : encode(segment.encoded);
  });
  const query = [c.rawQuery, ...c.query.map(([k, v]) => `${encode(k)}=${encode(v)}`)]
    .filter((s) => s !== undefined && s !== '')
    .join('&');
  const headers: Record<string, string> = { accept: 'application/json', ...c.headers };
  if (c.credential === 'bad') headers.authorization = BAD_AUTH[c.badAuth];
  else if (c.credential !== 'none') headers.authorization = `Bearer ${fx.tokens[c.credential]}`;
  let body: Buffer | undefined;
  switch (c.body.kind) {
    case 'json':
      body = Buffer.from(toJsonText(c.body.value));
      headers['content-type'] = c.body.contentType;
      break;
    case 'text':
      body = Buffer.from(c.body.text);
      if (c.body.contentType !== null) headers['content-type'] = c.body.contentType;
      if (c.body.encoding) headers['content-encoding'] = c.body.encoding;
      break;
    case 'oversized':
      // Valid JSON, only too big.
      body = Buffer.from(`{"name":"${'x'.repeat(c.body.bytes - 11)}"}`);
      headers['content-type'] = c.body.contentType;
      break;
  }
  return { method: op.method, path: query ? `${path}?${query}` : path, headers, body };
}

/** What a failure report shows of a request: long strings shortened, secrets named, not shown. */
function summary(req: RawRequest): string {
  const short = (s: string) => (s.length > 160 ? `${s.slice(0, 120)}…(${s.length} chars)` : s);
  const auth = req.headers.authorization;
  const who = !auth
    ? 'anonymous'
    : auth === `Bearer ${fx.tokens.admin}`
      ? 'admin'
      : auth === `Bearer ${fx.tokens.operator}`
        ? 'operator'
        : auth === `Bearer ${fx.tokens.merchant}`
          ? 'merchant key'
          : `authorization: ${short(auth)}`;
  const headers = Object.entries(req.headers)
    .filter(([k]) => k !== 'authorization' && k !== 'accept')
    .map(([k, v]) => `${k}: ${short(v)}`);
  const body = req.body ? short(req.body.toString('utf8')) : '(none)';
  return `${req.method} ${short(req.path)} [${who}${headers.length ? `; ${headers.join('; ')}` : ''}] body: ${body}`;
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/** What is wrong with an answer, if anything. */
function problemsWith(op: Operation, res: RawResponse): string[] {
  const problems: string[] = [];
  if (res.status >= 500) problems.push(`server error ${res.status}`);
  if (!op.documented.has(res.status)) problems.push(`undocumented status ${res.status}`);
  if (res.status >= 400) {
    let body: { error?: { code?: unknown; message?: unknown } } | null | undefined;
    let parsed = false;
    try {
      body = JSON.parse(res.text);
      parsed = true;
    } catch {
      problems.push(`non-JSON error body (${res.contentType || 'no content-type'})`);
    }
    if (parsed) {
      const e = body && typeof body === 'object' ? body.error : undefined;
      if (
        !e ||
        typeof e !== 'object' ||
        typeof e.code !== 'string' ||
        typeof e.message !== 'string' ||
        !('details' in e)
      )
        problems.push('error body is not {"error":{"code","message","details"}}');
    }
    if (!res.contentType.startsWith('application/json'))
      problems.push(`error content-type ${res.contentType || '(none)'}`);
  }
  return problems;
}

interface Failure {
  op: string;
  problem: string;
  status: number;
  request: string;
  response: string;
  seen: number;
}

const failures = new Map<string, Failure>();
const stats = new Map<string, { cases: number; shrinks: number; statuses: Map<number, number> }>();
/** Acknowledged creations and deletions, by "METHOD path status" (idempotent replays excluded). */
const acknowledged = new Map<string, number>();

function record(op: Operation, req: RawRequest, res: RawResponse | null, problems: string[], error?: Error) {
  const s = stats.get(op.key)!;
  s.cases++;
  if (res) s.statuses.set(res.status, (s.statuses.get(res.status) ?? 0) + 1);
  if (res && res.status < 300 && res.headers['idempotent-replayed'] !== 'true') {
    const key = `${op.key} ${res.status}`;
    acknowledged.set(key, (acknowledged.get(key) ?? 0) + 1);
  }
  for (const problem of error ? [`no answer: ${error.message}`] : problems) {
    const id = `${op.key} | ${problem}`;
    const request = summary(req);
    const existing = failures.get(id);
    const response = res ? `${res.status} ${res.contentType} ${res.text.slice(0, 300)}` : String(error);
    // Keep the smallest request that shows the problem (shrinking usually finds it).
    if (!existing) failures.set(id, { op: op.key, problem, status: res?.status ?? 0, request, response, seen: 1 });
    else {
      existing.seen++;
      if (request.length < existing.request.length) Object.assign(existing, { request, response });
    }
  }
}

function runsFor(op: Operation): number {
  let runs = op.body ? 100 : 50;
  if (op.key === 'post /api/v1/monitors/{id}/check') runs = 30;
  if (['get /healthz', 'get /readyz', 'get /metrics', 'get /openapi.json', 'get /docs'].includes(op.key)) runs = 15;
  return Math.max(1, Math.round(runs * SCALE));
}

// ---------------------------------------------------------------------------------------------
// Fixture: real records, so that some generated requests reach existing ids
// ---------------------------------------------------------------------------------------------

const TABLES = [
  'users',
  'merchants',
  'api_keys',
  'payment_intents',
  'workshops',
  'mechanics',
  'services',
  'working_hours',
  'date_overrides',
  'appointments',
  'monitors',
  'diagnosis_sessions',
  'cot_runs',
] as const;

async function tableCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLES)
    counts[table] = Number((await db(table).count<{ count: string }[]>('* as count'))[0].count);
  return counts;
}

async function buildFixture(url: string): Promise<Fixture> {
  const must = async (what: string, res: Promise<{ status: number; json: any; text: string }>, status: number) => {
    const r = await res;
    if (r.status !== status) throw new Error(`${what}: ${r.status} ${r.text}`);
    return r.json;
  };
  const admin = await signIn(url, 'admin');
  const operator = await signIn(url, 'operator');
  const merchant = await createMerchant(url, admin.token);
  // Deliveries to a closed local port fail at once: real webhook ids with a finished state.
  await must(
    'webhook url',
    call(url, 'PATCH', `/api/v1/merchants/${merchant.id}`, {
      token: admin.token,
      body: { webhook_url: 'http://127.0.0.1:9/hook' },
    }),
    200,
  );
  // A second key the fuzzer may revoke; the merchant's own key stays usable.
  const spareKey = await must(
    'api key',
    call(url, 'POST', `/api/v1/merchants/${merchant.id}/api-keys`, { token: admin.token, body: { name: 'spare' } }),
    201,
  );

  const orderId = unique('order');
  const intents = [];
  for (let i = 0; i < 2; i++) {
    intents.push(
      await must(
        'payment',
        call(url, 'POST', '/api/v1/payments', {
          token: merchant.key,
          body: { amount: 1999, currency: 'eur', order_id: `${orderId}-${i}`, metadata: { cart: 'c1' } },
        }),
        201,
      ),
    );
  }
  const page = await must('payments page', call(url, 'GET', '/api/v1/payments?limit=1', { token: merchant.key }), 200);

  const shop = await createWorkshop(url, operator.token, { mechanics: 3 });
  const hours = await must('hours', call(url, 'GET', `/api/v1/workshops/${shop.id}/hours`), 200);
  const tz = 'Europe/Kyiv';
  const day = DateTime.now().setZone(tz).plus({ days: 5 }).toISODate()!;
  const override = await must(
    'override',
    call(url, 'POST', `/api/v1/workshops/${shop.id}/overrides`, {
      token: operator.token,
      body: { date: DateTime.now().setZone(tz).plus({ days: 40 }).toISODate(), closed: true },
    }),
    201,
  );
  const slots = await must(
    'availability',
    call(
      url,
      'GET',
      `/api/v1/workshops/${shop.id}/availability?date_from=${day}&date_to=${day}&service=${shop.serviceId}`,
    ),
    200,
  );
  const starts = (slots.data as { start: string }[]).map((s) => s.start);
  const appointment = await must(
    'appointment',
    call(url, 'POST', '/api/v1/appointments', {
      body: {
        workshop_id: shop.id,
        service_id: shop.serviceId,
        start: starts[0],
        customer: { name: 'Fuzz', email: 'fuzz@example.com' },
        vehicle: { make: 'Skoda', model: 'Octavia', year: 2017 },
      },
    }),
    201,
  );
  const monitor = await must(
    'monitor',
    call(url, 'POST', '/api/v1/monitors', {
      token: merchant.key,
      body: { url: 'http://127.0.0.1:9/product', target_price: 10, currency: 'EUR', interval: 3600 },
    }),
    201,
  );
  const session = await must(
    'diagnosis',
    call(url, 'POST', '/api/v1/diagnosis/sessions', {
      body: { vehicle: { make: 'VW', model: 'Golf', year: 2015, mileage: 120000 } },
    }),
    201,
  );

  const deliveries = await db('webhook_deliveries').where({ merchant_id: merchant.id }).pluck('id');
  if (deliveries.length === 0) throw new Error('no webhook deliveries to fuzz');

  return {
    url,
    tokens: { admin: admin.token, operator: operator.token, merchant: merchant.key },
    known: {
      merchant_id: [merchant.id],
      keyId: [spareKey.api_key.id],
      delivery_id: deliveries,
      workshop_id: [shop.id],
      // In bodies and queries only the booked mechanic, which cannot be removed: removing another
      // would take rows created during the run along with it and blur the row counts below.
      mechanic_id: [appointment.mechanic_id],
      mechanic: [appointment.mechanic_id],
      mechanic_path: shop.mechanics,
      service_id: [shop.serviceId],
      service: [shop.serviceId],
      hours_id: (hours.data as { id: string }[]).slice(0, 3).map((h) => h.id),
      override_id: [override.id],
      appointment_id: [appointment.id],
      monitor_id: [monitor.id],
      session_id: [session.id],
      diagnosis_session_id: [session.id],
      intent_id: intents.map((i) => i.id),
      ref: [...intents.map((i) => i.id), ...intents.map((i) => i.payment_token)],
      token: intents.map((i) => i.payment_token),
      order_id: intents.map((i) => i.order_id),
      cursor: page.next_cursor ? [page.next_cursor] : [],
      start: starts.slice(1, 6),
      interval: [3600, 86_400],
      target_price: [19.99],
      date_from: [day],
      date_to: [day, DateTime.now().setZone(tz).plus({ days: 7 }).toISODate()!],
      since: [new Date(Date.now() - 3600_000).toISOString()],
      email: ['fuzz@example.com', admin.email],
      password: [admin.password],
      type: ['legacy', 'disagg', 'tff'],
      subtype: ['fo', 'co'],
      code: ['099741', '13874A'],
      // Valid NIPs (a fixture company's, and one written with a prefix and dashes) reach the registry path.
      nip: ['5260181596', 'PL 123-456-32-18'],
      account: ['11102010269935181909378657', 'PL 05 1020 1026 9754 3231 9487 5749'],
      'x-appointment-token': [appointment.access_token],
      'x-session-token': [session.access_token],
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  whitelist = await startWhiteList({ generate: true });
  stack = await startStack({ ...settings, WHITELIST_BASE_URL: whitelist.url });
  db = openDb(process.env.DATABASE_URL!);
  fx = await buildFixture(stack.api.url);
  countsBefore = await tableCounts();
  for (const op of operations) stats.set(op.key, { cases: 0, shrinks: 0, statuses: new Map() });
  stats.set('raw paths', { cases: 0, shrinks: 0, statuses: new Map() });
  console.log(`[fuzz] seed ${SEED} (FUZZ_SEED=${SEED} reproduces this run), ${operations.length} operations`);
}, 300_000);

afterAll(async () => {
  const lines = [...stats.entries()].map(([key, s]) => {
    const statuses = [...s.statuses.entries()]
      .sort(([a], [b]) => a - b)
      .map(([code, n]) => `${code}×${n}`)
      .join(' ');
    return `  ${String(s.cases).padStart(4)}  ${key.padEnd(58)} ${statuses}${s.shrinks ? ` (${s.shrinks} while shrinking)` : ''}`;
  });
  const total = [...stats.values()].reduce((n, s) => n + s.cases, 0);
  console.log(
    `[fuzz] cases tried per operation (seed ${SEED}):\n${lines.join('\n')}\n[fuzz] ${total} cases in all over ${stats.size} operations`,
  );
  if (failures.size) {
    console.log(
      `[fuzz] ${failures.size} distinct failures:\n${[...failures.values()].map((f) => `  ✗ ${f.op}: ${f.problem} (seen ${f.seen}×)\n      request:  ${f.request}\n      response: ${f.response}`).join('\n')}`,
    );
  }
  closeAgent();
  if (db) await releaseDb(db);
  await stack?.close();
  await whitelist?.close();
}, 120_000);

describe('bad input never breaks the API', () => {
  for (const op of operations) {
    it(op.key, async () => {
      const property = fc.asyncProperty(caseArb(op), async (c) => {
        const req = toRequest(op, c);
        let res: RawResponse;
        try {
          res = await send(fx.url, req, REQUEST_TIMEOUT_MS);
        } catch (error) {
          record(op, req, null, [], error as Error);
          return false;
        }
        const problems = problemsWith(op, res);
        record(op, req, res, problems);
        return problems.length === 0;
      });
      // A hanging request is found at once; the time limit keeps its shrinking from eating the run.
      const details = await fc.check(property, {
        numRuns: runsFor(op),
        seed: SEED,
        interruptAfterTimeLimit: 45_000,
        markInterruptAsFailure: false,
      });
      stats.get(op.key)!.shrinks = details.numShrinks;
      const mine = [...failures.values()].filter((f) => f.op === op.key);
      expect(mine.map((f) => `${f.problem}\n  request:  ${f.request}\n  response: ${f.response}`)).toEqual([]);
      expect(
        details.failed,
        details.counterexample
          ? `counterexample: ${summary(toRequest(op, details.counterexample[0]))}`
          : String(details.errorInstance),
      ).toBe(false);
    });
  }

  it('raw paths: traversal and broken escapes outside the operations', async () => {
    const op: Operation = {
      key: 'raw paths',
      method: 'GET',
      path: '',
      access: ['public'],
      documented: new Set(),
      params: [],
    };
    const prefixes = ['/', '/api/v1/', '/api/v1/workshops/', '/docs/assets/', '/assets/', '/pay/', '/api/v1/payments/'];
    const tails = [
      '../../../../etc/passwd',
      '..%2f..%2f..%2fetc%2fpasswd',
      '%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '....//....//etc/passwd',
      '..\\..\\..\\etc\\passwd',
      '%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd',
      '../package.json',
      '..%2fpackage.json',
      '%2e%2e%2f.env',
      '%00',
      '%FF',
      '/etc/passwd',
      '//etc/passwd',
    ];
    const property = fc.asyncProperty(
      fc.constantFrom(...prefixes),
      fc.constantFrom(...tails),
      fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND'),
      async (prefix, tail, method) => {
        const req: RawRequest = { method, path: prefix + tail, headers: { accept: '*/*' } };
        const res = await send(fx.url, req);
        const problems: string[] = [];
        if (res.status >= 500) problems.push(`server error ${res.status}`);
        if (/root:.*:0:0:|"name":\s*"meridian"|SECRETS_KEY|\[extensions\]/.test(res.text))
          problems.push('leaked a file outside the web roots');
        if (res.status >= 400 && method !== 'HEAD' && (prefix.startsWith('/api/') || method !== 'GET')) {
          try {
            const body = JSON.parse(res.text);
            if (typeof body?.error?.code !== 'string') problems.push('error body is not the error format');
          } catch {
            problems.push('non-JSON error body');
          }
        }
        record(op, req, res, problems);
        return problems.length === 0;
      },
    );
    await fc.check(property, { numRuns: Math.round(60 * SCALE), seed: SEED });
    const mine = [...failures.values()].filter((f) => f.op === op.key);
    expect(mine.map((f) => `${f.problem}\n  request:  ${f.request}\n  response: ${f.response}`)).toEqual([]);
  });
});

describe('what earlier runs of this suite found stays fixed', () => {
  const op = (key: string) => operations.find((o) => o.key === key)!;
  const json = (value: unknown, headers: Record<string, string> = {}) => ({
    body: Buffer.from(JSON.stringify(value)),
    headers: { 'content-type': 'application/json', ...headers },
  });
  /** Sends, records like any case, and returns the answer with what is wrong with it. */
  async function exchange(
    key: string,
    path: string,
    opts: { credential?: Credential; body?: Buffer; headers?: Record<string, string> } = {},
  ) {
    const o = op(key);
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    if (opts.credential && opts.credential !== 'none' && opts.credential !== 'bad')
      headers.authorization = `Bearer ${fx.tokens[opts.credential]}`;
    const req: RawRequest = { method: o.method, path, headers, body: opts.body };
    const res = await send(fx.url, req);
    const problems = problemsWith(o, res);
    record(o, req, res, problems);
    return {
      status: res.status,
      code: (JSON.parse(res.text || 'null') as { error?: { code?: string } } | null)?.error?.code,
      problems,
    };
  }

  it('a NUL character or an int4 overflow is a 400, not a database error', async () => {
    const [workshop] = fx.known.workshop_id as string[];
    expect(
      await exchange('patch /api/v1/workshops/{id}', `/api/v1/workshops/${workshop}`, {
        credential: 'admin',
        ...json({ phone: '\u0000' }),
      }),
    ).toEqual({ status: 400, code: 'validation_error', problems: [] });
    expect(await exchange('get /api/v1/payments', '/api/v1/payments?order_id=%00', { credential: 'merchant' })).toEqual(
      { status: 400, code: 'validation_error', problems: [] },
    );
    const tooBig = { name: 'Oil change', duration_min: 30, price_min: 2_147_483_648 };
    expect(
      await exchange('post /api/v1/workshops/{id}/services', `/api/v1/workshops/${workshop}/services`, {
        credential: 'admin',
        ...json(tooBig),
      }),
    ).toEqual({ status: 400, code: 'validation_error', problems: [] });
  });

  it('a NUL character in text a workflow stores is refused up front instead of hanging the request', async () => {
    const [appointment] = fx.known.appointment_id as string[];
    const [session] = fx.known.session_id as string[];
    const cancel = await exchange(
      'post /api/v1/appointments/{id}/cancel',
      `/api/v1/appointments/${appointment}/cancel`,
      { credential: 'admin', ...json({ reason: 'a\u0000b' }) },
    );
    expect(cancel).toEqual({ status: 400, code: 'validation_error', problems: [] });
    const message = await exchange(
      'post /api/v1/diagnosis/sessions/{id}/messages',
      `/api/v1/diagnosis/sessions/${session}/messages`,
      { credential: 'admin', ...json({ text: 'engine\u0000knocks' }) },
    );
    expect(message).toEqual({ status: 400, code: 'validation_error', problems: [] });
    const key = await exchange('post /api/v1/payments', '/api/v1/payments', {
      credential: 'merchant',
      ...json({ amount: 100, currency: 'eur', order_id: 'o', metadata: { 'k\u0000': 'v' } }),
    });
    expect(key).toEqual({ status: 400, code: 'validation_error', problems: [] });
  });

  it('a body nested hundreds of thousands deep is a 400', async () => {
    const depth = 400_000;
    const res = await exchange('post /api/v1/payments', '/api/v1/payments', {
      credential: 'merchant',
      body: Buffer.from('['.repeat(depth) + ']'.repeat(depth)),
      headers: { 'content-type': 'application/json' },
    });
    expect(res).toEqual({ status: 400, code: 'validation_error', problems: [] });
    const inField = Buffer.from(
      `{"amount":100,"currency":"eur","order_id":"o","metadata":{"k":${'['.repeat(depth)}${']'.repeat(depth)}}}`,
    );
    expect(
      await exchange('post /api/v1/payments', '/api/v1/payments', {
        credential: 'merchant',
        body: inField,
        headers: { 'content-type': 'application/json' },
      }),
    ).toMatchObject({ status: 400, problems: [] });
  });

  it('a body that does not match its Content-Encoding is a 400', async () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const res = await exchange('post /api/v1/workshops', '/api/v1/workshops', {
        credential: 'admin',
        ...json({ name: 'x', address: 'y', time_zone: 'UTC' }, { 'content-encoding': encoding }),
      });
      expect(res, encoding).toEqual({ status: 400, code: 'bad_request', problems: [] });
    }
    expect(
      await exchange('post /api/v1/auth/logout', '/api/v1/auth/logout', json({}, { 'content-encoding': 'x-unknown' })),
    ).toMatchObject({ status: 415, problems: [] });
  });

  it('bodies sent to operations without one: 413 and 415 are documented', async () => {
    const [session] = fx.known.session_id as string[];
    const big = Buffer.from(`{"a":"${'x'.repeat(BODY_LIMIT)}"}`);
    expect(
      await exchange('post /api/v1/diagnosis/sessions/{id}/close', `/api/v1/diagnosis/sessions/${session}/close`, {
        credential: 'admin',
        body: big,
        headers: { 'content-type': 'application/json' },
      }),
    ).toEqual({ status: 413, code: 'payload_too_large', problems: [] });
  });

  it('records still referred to, and ids that do not exist, answer with documented statuses', async () => {
    // The fixture appointment is booked with this mechanic and the workshop's one service.
    const [mechanic] = fx.known.mechanic_id as string[];
    const [service] = fx.known.service_id as string[];
    expect(
      await exchange('delete /api/v1/mechanics/{id}', `/api/v1/mechanics/${mechanic}`, { credential: 'admin' }),
    ).toMatchObject({ status: 409, problems: [] });
    expect(
      await exchange('delete /api/v1/services/{id}', `/api/v1/services/${service}`, { credential: 'admin' }),
    ).toMatchObject({ status: 409, problems: [] });
    const nobody = '00000000-0000-4000-8000-000000000000';
    expect(
      await exchange('post /api/v1/appointments/{id}/confirm', `/api/v1/appointments/${nobody}/confirm`, {
        credential: 'admin',
      }),
    ).toMatchObject({ status: 404, problems: [] });
    expect(
      await exchange('post /api/v1/diagnosis/sessions/{id}/feedback', `/api/v1/diagnosis/sessions/${nobody}/feedback`, {
        credential: 'admin',
        ...json({ rating: 5 }),
      }),
    ).toMatchObject({ status: 404, problems: [] });
    const body = {
      workshop_id: nobody,
      service_id: service,
      start: new Date(Date.now() + DAY).toISOString(),
      customer: { name: 'A', email: 'a@example.com' },
      vehicle: { make: 'A', model: 'B' },
    };
    expect(await exchange('post /api/v1/appointments', '/api/v1/appointments', json(body))).toMatchObject({
      status: 404,
      problems: [],
    });
  });

  it('a method a path does not support is a JSON 405 naming the allowed ones', async () => {
    for (const method of ['DELETE', 'PROPFIND']) {
      const res = await send(fx.url, { method, path: '/api/v1/payments/pi_0000000000000000', headers: {} });
      expect(res.status, method).toBe(405);
      expect(JSON.parse(res.text)).toMatchObject({
        error: { code: 'method_not_allowed', details: { allow: expect.stringContaining('GET') } },
      });
    }
  });
});

describe('nothing is partially written', () => {
  it('payments: every intent has its creation and current-state log rows, every logged transition its event', async () => {
    const { rows: missingLog } = await db.raw(`
      SELECT p.id, p.status FROM payment_intents p
      WHERE NOT EXISTS (SELECT 1 FROM payment_transactions t WHERE t.intent_id = p.id AND t.from_status IS NULL AND t.to_status = 'requires_payment_method')
         OR NOT EXISTS (SELECT 1 FROM payment_transactions t WHERE t.intent_id = p.id AND t.to_status = p.status)`);
    expect(missingLog).toEqual([]);
    const { rows: unmatched } = await db.raw(`
      SELECT t.intent_id, t.type FROM payment_transactions t
      WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.intent_id = t.intent_id AND e.type = 'payment_intent.' || t.type)
      UNION ALL
      SELECT e.intent_id, e.type FROM events e
      WHERE e.intent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM payment_transactions t WHERE t.intent_id = e.intent_id AND e.type = 'payment_intent.' || t.type)`);
    expect(unmatched).toEqual([]);
    const { rows: crossTenant } = await db.raw(
      `SELECT d.id FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE d.merchant_id <> e.merchant_id`,
    );
    expect(crossTenant).toEqual([]);
  });

  it('booking: every appointment has its "held" timeline row', async () => {
    const { rows } = await db.raw(
      `SELECT a.id FROM appointments a WHERE NOT EXISTS (SELECT 1 FROM appointment_events e WHERE e.appointment_id = a.id AND e.type = 'held')`,
    );
    expect(rows).toEqual([]);
  });

  it('merchants keep a key; no idempotency key is left claimed by a request that ended', async () => {
    const { rows: keyless } = await db.raw(
      `SELECT m.id FROM merchants m WHERE NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.merchant_id = m.id)`,
    );
    expect(keyless).toEqual([]);
    expect(await db('idempotency_keys').where({ state: 'running' }).select('merchant_id', 'key')).toEqual([]);
  });

  it('records started in Temporal together with their row exist on both sides', async () => {
    const client = stack.api.deps.temporal.client;
    const missing: string[] = [];
    const exists = (p: Promise<unknown>) =>
      p.then(
        () => true,
        () => false,
      );
    for (const { id } of await db('payment_intents').select('id'))
      if (!(await exists(client.workflow.getHandle(paymentWorkflowId(id)).describe()))) missing.push(`payment ${id}`);
    for (const { id } of await db('appointments').select('id'))
      if (!(await exists(client.workflow.getHandle(appointmentWorkflowId(id)).describe())))
        missing.push(`appointment ${id}`);
    for (const { id } of await db('diagnosis_sessions').select('id'))
      if (!(await exists(client.workflow.getHandle(diagnosisWorkflowId(id)).describe())))
        missing.push(`diagnosis session ${id}`);
    // Monitors are due in PostgreSQL and checked by the dispatcher Schedule of their task queue.
    for (const { task_queue } of await db('monitors').distinct('task_queue'))
      if (!(await exists(client.schedule.getHandle(monitorDispatchScheduleId(task_queue)).describe())))
        missing.push(`the monitor dispatcher of ${task_queue}`);
    expect(missing).toEqual([]);
  });

  it('each table grew by exactly the creations the API acknowledged', async () => {
    const n = (key: string) => acknowledged.get(key) ?? 0;
    const after = await tableCounts();
    const expected: Record<string, number> = {
      merchants: n('post /api/v1/merchants 201'),
      api_keys: n('post /api/v1/merchants 201') + n('post /api/v1/merchants/{id}/api-keys 201'),
      payment_intents: n('post /api/v1/payments 201') + n('post /api/v1/payments/create 201'),
      workshops: n('post /api/v1/workshops 201') - n('delete /api/v1/workshops/{id} 204'),
      mechanics: n('post /api/v1/workshops/{id}/mechanics 201') - n('delete /api/v1/mechanics/{id} 204'),
      services: n('post /api/v1/workshops/{id}/services 201') - n('delete /api/v1/services/{id} 204'),
      working_hours: n('post /api/v1/workshops/{id}/hours 201') - n('delete /api/v1/hours/{id} 204'),
      date_overrides: n('post /api/v1/workshops/{id}/overrides 201') - n('delete /api/v1/overrides/{id} 204'),
      appointments: n('post /api/v1/appointments 201'),
      monitors: n('post /api/v1/monitors 201'),
      diagnosis_sessions: n('post /api/v1/diagnosis/sessions 201'),
      cot_runs: n('post /api/v1/cot/ingestions 202'),
    };
    // A removed workshop takes its mechanics, hours and services along: only exact when none was removed.
    if (n('delete /api/v1/workshops/{id} 204') > 0)
      for (const t of ['mechanics', 'services', 'working_hours', 'date_overrides']) delete expected[t];
    const grown = Object.fromEntries(Object.keys(expected).map((t) => [t, after[t] - countsBefore[t]]));
    console.log(`[fuzz] rows added per table: ${JSON.stringify(grown)}`);
    expect(grown).toEqual(expected);
    // A sign-up (202) adds its user, or none when the email already had an account (answered the same).
    const users = after.users - countsBefore.users;
    expect(users).toBeGreaterThanOrEqual(0);
    expect(users).toBeLessThanOrEqual(n('post /api/v1/auth/register 202'));
  });

  it('enough cases were tried', () => {
    const total = [...stats.values()].reduce((n, s) => n + s.cases, 0);
    const tried = operations.filter((op) => stats.get(op.key)!.cases > 0).length;
    console.log(`[fuzz] ${total} cases tried over ${tried} of ${operations.length} operations`);
    expect(tried).toBe(operations.length);
    expect(total).toBeGreaterThanOrEqual(MIN_TOTAL_CASES);
  });
});
