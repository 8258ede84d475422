import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startStack } from './helpers.js';
import { startLlm } from './llm.js';
import { CONSTRAINT_KEYWORDS } from '../lib/diagnosis/structuredOutput.js';

let stack: Awaited<ReturnType<typeof startStack>>;
let llm: Awaited<ReturnType<typeof startLlm>>;
const url = () => stack.api.url;

beforeAll(async () => {
  llm = await startLlm();
  stack = await startStack({
    AI_BASE_URL: llm.url,
    AI_API_KEY: 'sk-test-123',
    AI_MODEL: 'test-model',
    DIAGNOSIS_MESSAGES_PER_MIN: '100',
  });
});
afterAll(async () => {
  await stack?.close();
  await llm?.close();
});

async function session() {
  const res = await call(url(), 'POST', '/api/v1/diagnosis/sessions', {
    body: { vehicle: { make: 'VW', model: 'Golf', year: 2014, mileage: 180000, obd_codes: ['C0035'] } },
  });
  const as = { headers: { 'x-session-token': res.json.access_token as string } };
  return {
    say: (text: string) =>
      call(url(), 'POST', `/api/v1/diagnosis/sessions/${res.json.id}/messages`, { ...as, body: { text } }),
    /** The models recorded on the stored assistant messages, oldest first. */
    storedModels: async () =>
      (await call(url(), 'GET', `/api/v1/diagnosis/sessions/${res.json.id}`, as)).json.messages
        .filter((m: { role: string }) => m.role === 'assistant')
        .map((m: { model: string }) => m.model),
  };
}

/** Every key used anywhere in a JSON value: a schema's keywords (and its property names). */
const keysOf = (value: unknown): string[] =>
  typeof value !== 'object' || value === null
    ? []
    : Object.entries(value).flatMap(([k, v]) => (Array.isArray(value) ? keysOf(v) : [k, ...keysOf(v)]));

describe('OpenAI-compatible provider', () => {
  it('asks for strict structured output and returns the validated turns', async () => {
    const s = await session();
    const before = llm.requests.length;
    expect((await s.say('Grinding noise')).json).toMatchObject({ type: 'question', model: 'test-model (json_schema)' });
    const reply = await s.say('Yes, only when braking');
    expect(reply.json).toMatchObject({
      type: 'diagnosis',
      model: 'test-model (json_schema)',
      diagnosis: { severity: 'high', currency: 'USD' },
    });
    const request = llm.requests[before];
    expect(request.headers.authorization).toBe('Bearer sk-test-123');
    expect(request.body.model).toBe('test-model');
    expect(request.body.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { name: 'diagnosis_turn', strict: true },
    });
    expect(request.body.response_format.json_schema.schema.required).toEqual([
      'type',
      'text',
      'confidence',
      'diagnosis',
    ]);
    expect(request.body.messages[0].content).toContain('C0035');
    expect(
      llm.requests[before + 1].body.messages
        .filter((m: { role: string }) => m.role !== 'system')
        .map((m: { role: string }) => m.role),
    ).toEqual(['user', 'assistant', 'user']);
  });

  it('retries a 429 after retry-after-ms and a 500 with backoff', async () => {
    const s = await session();
    llm.script.push('rate_limited', 'server_error');
    const before = llm.requests.length;
    const reply = await s.say('Grinding noise');
    expect(reply.json).toMatchObject({ type: 'question', model: 'test-model (json_schema)' });
    const tries = llm.requests.slice(before);
    expect(tries).toHaveLength(3);
    expect(tries[1].at - tries[0].at).toBeGreaterThanOrEqual(290);
  });

  it('corrects one invalid answer; after two, the built-in engine answers', async () => {
    const s = await session();
    llm.script.push('invalid_json');
    let before = llm.requests.length;
    expect((await s.say('Grinding noise')).json.model).toBe('test-model (json_schema)');
    const corrected = llm.requests[before + 1].body.messages.at(-1);
    expect(corrected).toMatchObject({ role: 'system' });
    expect(corrected.content).toMatch(/previous answer was invalid/);

    llm.script.push('wrong_schema', 'wrong_schema');
    before = llm.requests.length;
    const fallback = await s.say('Only when braking');
    // The model recorded says why: what was wrong with the second answer.
    expect(fallback.json.model).toMatch(/^built-in \(fallback: invalid provider answer: confidence: /);
    expect(llm.requests.length - before).toBe(2);
    expect((await s.storedModels()).at(-1)).toBe(fallback.json.model);
  });

  it('does not retry an exhausted quota and falls back to the built-in engine', async () => {
    const s = await session();
    llm.script.push('quota');
    const before = llm.requests.length;
    const reply = await s.say('Grinding noise when braking');
    expect(reply.status).toBe(200);
    expect(reply.json.model).toBe('built-in (fallback: provider answered 429 (insufficient_quota))');
    expect(reply.json.type).toBe('diagnosis');
    expect(llm.requests.length - before).toBe(1);
  });
});

describe('a provider that bends the format', () => {
  it.each([
    ['in a ```json fence', 'fenced'],
    ['between sentences of prose', 'prose'],
  ] as const)('accepts a valid turn %s after one provider call', async (_where, step) => {
    const s = await session();
    llm.script.push(step);
    const before = llm.requests.length;
    const reply = await s.say('Grinding noise');
    expect(reply.json).toMatchObject({
      type: 'question',
      text: 'Does it happen only when braking?',
      model: 'test-model (json_schema, extracted from prose)',
    });
    expect(llm.requests.length - before).toBe(1);
    expect(await s.storedModels()).toEqual(['test-model (json_schema, extracted from prose)']);
  });

  it('asks once more without the JSON-Schema keywords a 400 names, still validating the answer in full', async () => {
    const s = await session();
    llm.unsupportedKeywords.push('maxLength', 'minimum', 'maxItems', 'pattern');
    try {
      // The relaxed schema no longer stops a confidence of 2; zod does, and the correction fixes it.
      llm.script.push('wrong_schema');
      const before = llm.requests.length;
      const reply = await s.say('Grinding noise');
      expect(reply.json).toMatchObject({ type: 'question', model: 'test-model (json_schema, relaxed)' });
      const [strict, relaxed, corrected] = llm.requests.slice(before).map((r) => r.body.response_format.json_schema);
      expect(llm.requests.length - before).toBe(3);
      expect(keysOf(strict.schema)).toEqual(expect.arrayContaining(['maxLength', 'minimum', 'maxItems', 'pattern']));
      for (const sent of [relaxed, corrected]) {
        expect(keysOf(sent.schema).filter((k) => (CONSTRAINT_KEYWORDS as readonly string[]).includes(k))).toEqual([]);
        expect(sent.schema.required).toEqual(strict.schema.required);
        expect(sent.strict).toBe(true);
      }
      expect(llm.requests.at(-1)!.body.messages.at(-1).content).toMatch(/previous answer was invalid \(confidence/);
      expect(await s.storedModels()).toEqual(['test-model (json_schema, relaxed)']);
    } finally {
      llm.unsupportedKeywords.length = 0;
    }
  });

  it.each([
    ['a 400 naming no validation keyword is not asked again', ['required'], 1],
    ['a schema refused even relaxed is asked no more', ['maxLength', 'required'], 2],
  ])('%s: the built-in engine answers, saying why', async (_name, refused, calls) => {
    const s = await session();
    llm.unsupportedKeywords.push(...refused);
    try {
      const before = llm.requests.length;
      const reply = await s.say('Grinding noise when braking');
      expect(reply.json.model).toBe('built-in (fallback: provider answered 400)');
      expect(llm.requests.length - before).toBe(calls);
    } finally {
      llm.unsupportedKeywords.length = 0;
    }
  });
});
