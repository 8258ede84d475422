import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startStack } from './helpers.js';
import { startLlm } from './llm.js';

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
  };
}

describe('OpenAI-compatible provider', () => {
  it('asks for strict structured output and returns the validated turns', async () => {
    const s = await session();
    const before = llm.requests.length;
    expect((await s.say('Grinding noise')).json).toMatchObject({ type: 'question', model: 'test-model' });
    const reply = await s.say('Yes, only when braking');
    expect(reply.json).toMatchObject({
      type: 'diagnosis',
      model: 'test-model',
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
    expect(reply.json).toMatchObject({ type: 'question', model: 'test-model' });
    const tries = llm.requests.slice(before);
    expect(tries).toHaveLength(3);
    expect(tries[1].at - tries[0].at).toBeGreaterThanOrEqual(290);
  });

  it('corrects one invalid answer; after two, the built-in engine answers', async () => {
    const s = await session();
    llm.script.push('invalid_json');
    let before = llm.requests.length;
    expect((await s.say('Grinding noise')).json.model).toBe('test-model');
    const corrected = llm.requests[before + 1].body.messages.at(-1);
    expect(corrected).toMatchObject({ role: 'system' });
    expect(corrected.content).toMatch(/previous answer was invalid/);

    llm.script.push('wrong_schema', 'wrong_schema');
    before = llm.requests.length;
    const fallback = await s.say('Only when braking');
    expect(fallback.json.model).toBe('built-in (fallback: invalid provider answer)');
    expect(llm.requests.length - before).toBe(2);
  });

  it('does not retry an exhausted quota and falls back to the built-in engine', async () => {
    const s = await session();
    llm.script.push('quota');
    const before = llm.requests.length;
    const reply = await s.say('Grinding noise when braking');
    expect(reply.status).toBe(200);
    expect(reply.json.model).toBe('built-in (fallback: provider unavailable)');
    expect(reply.json.type).toBe('diagnosis');
    expect(llm.requests.length - before).toBe(1);
  });
});
