import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiagnosisSchema } from '../lib/diagnosis/engine.js';
import { startWorker } from '../workers/worker.js';
import { call, signIn, startStack, testConfig } from './helpers.js';
import { waitFor } from './receiver.js';

// An 8 s idle timeout (instead of 30 minutes), 8 messages a minute per session and a new run every
// 6 messages (instead of 100) keep this quick.
const settings = { DIAGNOSIS_IDLE_S: '8', DIAGNOSIS_MESSAGES_PER_MIN: '8', DIAGNOSIS_CONTINUE_AS_NEW_AFTER: '6' };

let stack: Awaited<ReturnType<typeof startStack>>;
let operator: Awaited<ReturnType<typeof signIn>>;
const url = () => stack.api.url;

beforeAll(async () => {
  stack = await startStack(settings);
  operator = await signIn(url(), 'operator');
});
afterAll(async () => {
  await stack?.close();
});

const vehicle = { make: 'Skoda', model: 'Octavia', year: 2016, mileage: 142000 };
async function start(extra: Record<string, unknown> = {}) {
  const res = await call(url(), 'POST', '/api/v1/diagnosis/sessions', { body: { vehicle: { ...vehicle, ...extra } } });
  expect(res.status, res.text).toBe(201);
  return { id: res.json.id as string, as: { headers: { 'x-session-token': res.json.access_token as string } } };
}
const say = (s: Awaited<ReturnType<typeof start>>, text: string) =>
  call(url(), 'POST', `/api/v1/diagnosis/sessions/${s.id}/messages`, { ...s.as, body: { text } });

describe('diagnosis sessions', () => {
  it('asks a follow-up, then diagnoses worn pads; the transcript keeps model, latency and confidence', async () => {
    const s = await start();
    const first = await say(s, 'There is a horrible grinding noise');
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ type: 'question', model: 'built-in' });
    const second = await say(s, 'Only when I brake');
    expect(second.json.type).toBe('diagnosis');
    const diagnosis = DiagnosisSchema.parse(second.json.diagnosis);
    expect(diagnosis.possible_causes[0].cause).toMatch(/brake pads/i);
    expect(diagnosis.severity).toBe('high');

    const session = await call(url(), 'GET', `/api/v1/diagnosis/sessions/${s.id}`, s.as);
    expect(session.json.status).toBe('open');
    expect(session.json.diagnosis).toEqual(diagnosis);
    expect(session.json.messages.map((m: { seq: number; role: string }) => [m.seq, m.role])).toEqual([
      [1, 'user'],
      [2, 'assistant'],
      [3, 'user'],
      [4, 'assistant'],
    ]);
    expect(session.json.messages[3]).toMatchObject({
      kind: 'diagnosis',
      model: 'built-in',
      confidence: second.json.confidence,
    });
    expect(session.json.messages[3].latency_ms).toBeGreaterThanOrEqual(0);
    expect(session.json.workflow_id).toBeUndefined();

    const transcript = await stack.api.deps.temporal.client.workflow
      .getHandle(`diagnosis-${s.id}`)
      .query<Array<{ role: string }>>('transcript');
    expect(transcript.map((t) => t.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
  });

  it('uses OBD-II codes from the vehicle: P0300 with a rough idle is a misfire', async () => {
    const s = await start({ obd_codes: ['p0300'] });
    const reply = await say(s, 'It idles rough and shakes');
    expect(reply.json.type).toBe('diagnosis');
    expect(reply.json.diagnosis.possible_causes[0].cause).toMatch(/misfire/i);
  });

  it('keeps sessions private and refuses bad input', async () => {
    const s = await start();
    expect((await call(url(), 'GET', `/api/v1/diagnosis/sessions/${s.id}`)).status).toBe(401);
    expect(
      (await call(url(), 'GET', `/api/v1/diagnosis/sessions/${s.id}`, { headers: { 'x-session-token': 'ds_nope' } }))
        .status,
    ).toBe(404);
    expect(
      (
        await call(url(), 'POST', `/api/v1/diagnosis/sessions/${s.id}/messages`, {
          headers: { 'x-session-token': 'ds_nope' },
          body: { text: 'hi' },
        })
      ).status,
    ).toBe(404);
    expect((await call(url(), 'GET', '/api/v1/diagnosis/sessions', s.as)).status).toBe(401);
    const list = await call(url(), 'GET', '/api/v1/diagnosis/sessions?limit=100', { token: operator.token });
    expect(list.json.data.map((x: { id: string }) => x.id)).toContain(s.id);

    expect((await say(s, '   ')).status).toBe(400);
    expect((await say(s, 'x'.repeat(2001))).status).toBe(400);
    const badCode = await call(url(), 'POST', '/api/v1/diagnosis/sessions', {
      body: { vehicle: { ...vehicle, obd_codes: ['XYZ'] } },
    });
    expect(badCode.json.error.details[0].path).toBe('vehicle.obd_codes.0');
    expect(
      (await call(url(), 'POST', '/api/v1/diagnosis/sessions', { body: { vehicle: { ...vehicle, year: '2016' } } }))
        .status,
    ).toBe(400);
  });

  it('closes on request and takes feedback; a closed session refuses messages', async () => {
    const s = await start();
    await say(s, 'Clicking noise when I turn');
    const closed = await call(url(), 'POST', `/api/v1/diagnosis/sessions/${s.id}/close`, s.as);
    expect(closed.json).toMatchObject({ status: 'closed', close_reason: 'closed by the owner' });
    const late = await say(s, 'hello?');
    expect(late.status).toBe(409);
    expect(late.json.error.code).toBe('invalid_state');
    expect(
      (await call(url(), 'POST', `/api/v1/diagnosis/sessions/${s.id}/feedback`, { ...s.as, body: { rating: 6 } }))
        .status,
    ).toBe(400);
    const feedback = await call(url(), 'POST', `/api/v1/diagnosis/sessions/${s.id}/feedback`, {
      ...s.as,
      body: { rating: 4, comment: 'helpful' },
    });
    expect(feedback.json).toMatchObject({ rating: 4, feedback_comment: 'helpful' });
  });

  it('closes itself after the idle timeout', async () => {
    const s = await start();
    await say(s, 'Something is wrong');
    const closed = await waitFor(
      async () => {
        const got = await call(url(), 'GET', `/api/v1/diagnosis/sessions/${s.id}`, s.as);
        return got.json.status === 'closed' ? got.json : null;
      },
      20_000,
      'idle close',
    );
    expect(closed.close_reason).toBe('idle');
  });

  it('limits messages per session', async () => {
    const s = await start();
    const statuses = [];
    for (let i = 0; i < 9; i++) statuses.push((await say(s, `still nothing ${i}`)).status);
    expect(statuses.slice(0, 8).every((x) => x === 200)).toBe(true);
    expect(statuses[8]).toBe(429);
  });

  it('continues as new in long sessions without losing the conversation', async () => {
    const s = await start();
    const handle = stack.api.deps.temporal.client.workflow.getHandle(`diagnosis-${s.id}`);
    const firstRun = (await handle.describe()).runId;
    for (const line of ['a noise', 'not sure', 'maybe', 'a clunk over bumps'])
      expect((await say(s, line)).status).toBe(200);
    await waitFor(async () => ((await handle.describe()).runId !== firstRun ? true : null), 10_000, 'a new run');
    const transcript = await handle.query<Array<{ content: string }>>('transcript');
    expect(transcript.map((t) => t.content)).toContain('a clunk over bumps');
    expect((await say(s, 'still there')).status).toBe(200);
    const session = await call(url(), 'GET', `/api/v1/diagnosis/sessions/${s.id}`, s.as);
    expect(session.json.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('loses nothing when the worker restarts mid-session', async () => {
    const s = await start();
    expect((await say(s, 'There is a grinding noise')).status).toBe(200);
    await stack.worker.stop();
    const pending = say(s, 'Only when braking');
    await new Promise((r) => setTimeout(r, 1500));
    stack.worker = await startWorker(testConfig(stack.settings), { codePath: process.env.WORKFLOW_BUNDLE_PATH! });
    const reply = await pending;
    expect(reply.status).toBe(200);
    expect(reply.json.type).toBe('diagnosis');
    const session = await call(url(), 'GET', `/api/v1/diagnosis/sessions/${s.id}`, s.as);
    expect(session.json.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3, 4]);
  });
});
