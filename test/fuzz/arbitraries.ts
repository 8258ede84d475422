/**
 * fast-check arbitraries derived from the OpenAPI document's JSON Schemas: values that should pass
 * (built from types, formats, patterns, enums and bounds, with real ids where the fixture has them),
 * and the bad input the API must refuse politely — wrong types, missing and extra fields, huge
 * strings and numbers, unicode, injection payloads, deep nesting.
 */
import fc from 'fast-check';

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  $ref?: string;
  default?: unknown;
}

/** A JSON token written as is: numbers JSON.stringify cannot express (1e400, -0, 2^53 + 1 …). */
export class RawJson {
  constructor(readonly text: string) {}
  toJSON() {
    return `<raw ${this.text}>`;
  }
}

/** JSON text for a generated value; RawJson tokens go in verbatim, non-finite numbers as overflowing literals. */
export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'null';
    if (!Number.isFinite(value)) return value > 0 ? '1e400' : '-1e400';
    return Object.is(value, -0) ? '-0' : JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** Known-good values by field or parameter name (ids of fixture records, free slots …). */
export type Hints = (name: string) => readonly unknown[] | undefined;

export const INJECTIONS = [
  "' OR 1=1 --",
  "'; DROP TABLE merchants; --",
  '" OR ""="',
  "1' UNION SELECT password_hash FROM users --",
  "admin'--",
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  'javascript:alert(1)',
  '{{7*7}}',
  '${7*7}',
  '../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '/etc/passwd\u0000.png',
  'null\u0000byte',
  '\u0000',
  '\u202egnp.exe',
  '\ufeffbom',
  'Zalgo z̸̧̛̙a̵l̶g̷o̸',
  '𝕳𝖊𝖑𝖑𝖔 👩‍👩‍👧‍👦 🇺🇦',
  '\ud800',
  '   ',
  '',
  '\r\nSet-Cookie: x=1',
  '$where',
  '{"$gt":""}',
  '__proto__',
  'NaN',
  'Infinity',
  '-1',
  '1e400',
  'true',
  'null',
  'undefined',
];

export const WEIRD_NUMBERS = [
  '1e400',
  '-1e400',
  '1e-400',
  '-0',
  '0',
  '-1',
  '0.5',
  '1.005',
  '2147483647',
  '2147483648',
  '-2147483649',
  '4294967296',
  '9007199254740991',
  '9007199254740993',
  '123456789012345678901234567890',
  '1.7976931348623157e308',
  '5e-324',
  '1E2',
  '100000000000.01',
];

const weirdNumber = fc.constantFrom(...WEIRD_NUMBERS).map((t) => new RawJson(t));

/** Long enough to break any length limit (≥ 100 k characters) yet within the 1 MB body limit. */
export const hugeString = fc
  .record({
    length: fc.integer({ min: 100_000, max: 180_000 }),
    unit: fc.constantFrom('a', 'é', '😀', "'", '<', '\\', '0'),
  })
  .map(({ length, unit }) => unit.repeat(Math.ceil(length / unit.length)));

export const unicodeString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'grapheme-composite', maxLength: 20 }),
);

export const injection = fc.constantFrom(...INJECTIONS);

/** Nested arrays and objects far deeper than any schema goes. */
export const deepNesting = fc
  .record({
    depth: fc.oneof(fc.integer({ min: 50, max: 5000 }), fc.constantFrom(100_000, 300_000)),
    kind: fc.constantFrom('array', 'object'),
  })
  .map(
    ({ depth, kind }) =>
      new RawJson(
        kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth),
      ),
  );

/** Any value of the wrong kind, or of the right kind with an absurd content. */
export const garbage: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: injection, weight: 3 },
  { arbitrary: unicodeString, weight: 2 },
  { arbitrary: weirdNumber, weight: 3 },
  { arbitrary: fc.double(), weight: 1 },
  { arbitrary: fc.constantFrom(null, true, false, [], {}, [null], { '': null }), weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 2 },
  { arbitrary: hugeString, weight: 1 },
  { arbitrary: deepNesting, weight: 1 },
);

export const EXTRA_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'id',
  'merchant_id',
  'role',
  'status',
  'admin',
  '',
  ' ',
  '$where',
  'a'.repeat(300),
  'ключ',
  '😀',
];

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const DAY_MS = 24 * 3600 * 1000;

const dateInRange = fc.integer({ min: -30, max: 400 }).map((days) => new Date(Date.now() + days * DAY_MS));
const oddDates = [
  '2026-02-30',
  '2026-13-01',
  '2026-00-10',
  '0000-01-01',
  '9999-12-31',
  '2026-1-1',
  '20260101',
  '2026-02-29',
];
const oddDateTimes = [
  '2026-02-30T10:00:00Z',
  '2026-12-01T24:00:00Z',
  '2026-12-01T10:00:00+99:99',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999999999Z',
  '2026-12-01T10:00:00',
  '2026-12-01 10:00:00Z',
  '1970-01-01T00:00:00Z',
  '-000001-01-01T00:00:00Z',
];
const URLS = [
  'http://127.0.0.1:9/hook',
  'https://127.0.0.1:9/p?id=1',
  'http://10.0.0.1/internal',
  'http://169.254.169.254/latest/meta-data/',
  'ftp://127.0.0.1/x',
  'http://[::1]:9/',
];

function stringArb(schema: JsonSchema, name: string | undefined): fc.Arbitrary<string> {
  if (schema.enum) return fc.constantFrom(...(schema.enum as string[]));
  switch (schema.format) {
    case 'uuid':
      return fc.uuid();
    case 'email':
      return fc.oneof(fc.constantFrom('owner@example.com', 'A.B+tag@example.co.uk'), fc.emailAddress());
    case 'date':
      return fc.oneof(
        {
          arbitrary: dateInRange.map((d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`),
          weight: 4,
        },
        { arbitrary: fc.constantFrom(...oddDates), weight: 1 },
      );
    case 'date-time':
      return fc.oneof(
        { arbitrary: dateInRange.map((d) => d.toISOString()), weight: 4 },
        { arbitrary: fc.constantFrom(...oddDateTimes), weight: 1 },
      );
    case 'uri':
      return fc.constantFrom(...URLS);
  }
  if (name === 'time_zone')
    return fc.constantFrom(
      'Europe/Kyiv',
      'UTC',
      'America/New_York',
      'Asia/Kolkata',
      'Mars/Olympus',
      'europe/kyiv',
      '+02:00',
    );
  if (name === 'currency') return fc.constantFrom('eur', 'usd', 'EUR', 'jpy', 'xxx', 'eu', 'EURO');
  if (schema.pattern) {
    // zod-to-openapi writes a case-insensitive regex as `…$/i`.
    const insensitive = schema.pattern.endsWith('/i');
    const source = insensitive ? schema.pattern.slice(0, -2) : schema.pattern;
    try {
      return fc
        .stringMatching(new RegExp(source, insensitive ? 'i' : ''), { maxLength: schema.maxLength ?? 80 })
        .filter((s) => s.length <= (schema.maxLength ?? 200));
    } catch {
      // A pattern fast-check cannot invert: plain strings will do.
    }
  }
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.min(schema.maxLength ?? 60, 60);
  return fc.oneof(
    {
      arbitrary: fc.string({ minLength: Math.max(minLength, 1), maxLength: Math.max(maxLength, minLength, 1) }),
      weight: 4,
    },
    { arbitrary: fc.string({ unit: 'grapheme', minLength, maxLength: Math.max(maxLength, minLength) }), weight: 1 },
  );
}

function numberArb(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const min =
    schema.minimum ??
    (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + (integer ? 1 : 0.01) : -1_000_000);
  const max =
    schema.maximum ??
    (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - (integer ? 1 : 0.01) : 1_000_000);
  if (integer) return fc.integer({ min: Math.ceil(min), max: Math.floor(Math.min(max, Number.MAX_SAFE_INTEGER)) });
  // Prices and the like: at most two decimals.
  return fc.integer({ min: Math.ceil(min * 100), max: Math.floor(Math.min(max, 1e11) * 100) }).map((n) => n / 100);
}

/** Values that satisfy the schema as far as a JSON Schema says (the API may still refuse them on business rules). */
export function validArb(schema: JsonSchema, hints: Hints, name?: string): fc.Arbitrary<unknown> {
  const known = name ? hints(name) : undefined;
  const base = validBase(schema, hints, name);
  return known?.length
    ? fc.oneof({ arbitrary: fc.constantFrom(...known), weight: 3 }, { arbitrary: base, weight: 1 })
    : base;
}

function validBase(schema: JsonSchema, hints: Hints, name?: string): fc.Arbitrary<unknown> {
  if (schema.anyOf || schema.oneOf)
    return fc.oneof(...(schema.anyOf ?? schema.oneOf)!.map((s) => validArb(s, hints, name)));
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const types = Array.isArray(schema.type) ? schema.type : [schema.type ?? 'object'];
  const nonNull = types.filter((t) => t !== 'null');
  const options: fc.Arbitrary<unknown>[] = nonNull.map((type) => {
    switch (type) {
      case 'string':
        return stringArb(schema, name);
      case 'integer':
        return numberArb(schema, true);
      case 'number':
        return numberArb(schema, false);
      case 'boolean':
        return fc.boolean();
      case 'array':
        return fc.array(validArb(schema.items ?? {}, hints, name), {
          minLength: schema.minItems ?? 0,
          maxLength: Math.min(schema.maxItems ?? 5, 5),
        });
      default:
        return objectArb(schema, hints);
    }
  });
  if (types.includes('null')) options.push(fc.constant(null));
  return options.length === 1 ? options[0] : fc.oneof(...options);
}

function objectArb(schema: JsonSchema, hints: Hints): fc.Arbitrary<Record<string, unknown>> {
  const props = schema.properties ?? {};
  if (
    Object.keys(props).length === 0 &&
    schema.additionalProperties &&
    typeof schema.additionalProperties === 'object'
  ) {
    return fc.dictionary(fc.string({ minLength: 1, maxLength: 40 }), validArb(schema.additionalProperties, hints), {
      maxKeys: 5,
    });
  }
  const shape = Object.fromEntries(Object.entries(props).map(([key, s]) => [key, validArb(s, hints, key)]));
  return fc.record(shape, { requiredKeys: (schema.required ?? []).filter((k) => k in props) }) as fc.Arbitrary<
    Record<string, unknown>
  >;
}

type Path = (string | number)[];

/** Every location inside a value where a mutation can land (the root included). */
function locations(value: unknown, at: Path = []): Path[] {
  const here: Path[] = [at];
  if (Array.isArray(value)) value.forEach((v, i) => here.push(...locations(v, [...at, i])));
  else if (value && typeof value === 'object' && !(value instanceof RawJson)) {
    for (const [k, v] of Object.entries(value)) here.push(...locations(v, [...at, k]));
  }
  return here;
}

const clone = (value: unknown): unknown =>
  value instanceof RawJson
    ? value
    : Array.isArray(value)
      ? value.map(clone)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clone(v)]))
        : value;

function setAt(root: unknown, path: Path, replace: (old: unknown) => unknown, remove = false): unknown {
  if (path.length === 0) return remove ? undefined : replace(root);
  const parent = path
    .slice(0, -1)
    .reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], root) as Record<
    string | number,
    unknown
  >;
  const key = path[path.length - 1];
  if (remove) {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else parent[key] = replace(parent[key]);
  return root;
}

export interface Mutation {
  kind:
    | 'remove'
    | 'wrong_type'
    | 'extra_field'
    | 'huge_string'
    | 'weird_number'
    | 'injection'
    | 'nested_garbage'
    | 'unicode'
    | 'null';
  pick: number;
  value: unknown;
  key: string;
}

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom<Mutation['kind']>(
    'remove',
    'wrong_type',
    'extra_field',
    'huge_string',
    'weird_number',
    'injection',
    'nested_garbage',
    'unicode',
    'null',
  ),
  pick: fc.nat(),
  value: garbage,
  key: fc.oneof(fc.constantFrom(...EXTRA_KEYS), fc.string({ maxLength: 20 })),
});

const wrongTypeFor = (old: unknown, value: unknown): unknown => {
  // Something certainly of another JSON type than the field had.
  if (typeof old === 'string') return typeof value === 'string' ? 12345 : value;
  if (typeof old === 'number') return typeof value === 'number' || value instanceof RawJson ? String(value) : value;
  if (typeof old === 'boolean') return typeof value === 'boolean' ? 'true' : value;
  if (Array.isArray(old)) return { items: old };
  if (old && typeof old === 'object') return [old];
  return value ?? 'x';
};

/** Applies mutations to a (cloned) valid value; each lands on a location chosen by `pick`. */
export function mutate(valid: unknown, mutations: Mutation[]): unknown {
  let value = clone(valid);
  for (const m of mutations) {
    const spots = locations(value);
    const leafSpots = spots.filter((p) => p.length > 0);
    const path = (m.kind === 'extra_field' || leafSpots.length === 0 ? spots : leafSpots)[
      m.pick % (m.kind === 'extra_field' || leafSpots.length === 0 ? spots : leafSpots).length
    ];
    switch (m.kind) {
      case 'remove':
        value = setAt(value, path, () => undefined, true);
        break;
      case 'wrong_type':
        value = setAt(value, path, (old) => wrongTypeFor(old, m.value));
        break;
      case 'extra_field':
        value = setAt(value, path, (old) =>
          old && typeof old === 'object' && !Array.isArray(old) && !(old instanceof RawJson)
            ? { ...old, [m.key]: m.value }
            : Array.isArray(old)
              ? [...old, m.value]
              : old,
        );
        break;
      case 'huge_string':
        value = setAt(value, path, () => 'x'.repeat(100_001 + (m.pick % 50_000)));
        break;
      case 'weird_number':
        value = setAt(value, path, () => new RawJson(WEIRD_NUMBERS[m.pick % WEIRD_NUMBERS.length]));
        break;
      case 'injection':
        value = setAt(value, path, (old) =>
          typeof old === 'string'
            ? old + INJECTIONS[m.pick % INJECTIONS.length]
            : INJECTIONS[m.pick % INJECTIONS.length],
        );
        break;
      case 'nested_garbage':
        value = setAt(value, path, () => ({ a: [m.value, { b: [[m.value]] }], c: { d: { e: m.value } } }));
        break;
      case 'unicode':
        value = setAt(value, path, (old) => (typeof old === 'string' ? `${old}é😀\u0301\u200d` : '𝕳😀é'));
        break;
      case 'null':
        value = setAt(value, path, () => null);
        break;
    }
    if (value === undefined) value = {};
  }
  return value;
}

export const mutations = fc.array(mutationArb, { minLength: 1, maxLength: 3 });
