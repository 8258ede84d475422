import { describe, expect, it } from 'vitest';
import { builtInReply, DiagnosisSchema, type ConversationMessage, type Vehicle } from '../../lib/diagnosis/engine.js';

const car: Vehicle = { make: 'Skoda', model: 'Octavia', year: 2016, mileage: 142_000 };

/** Plays the owner's lines, answering each assistant turn; returns the whole exchange. */
function converse(vehicle: Vehicle, lines: string[]) {
  const messages: ConversationMessage[] = [];
  const replies = [];
  for (const line of lines) {
    messages.push({ role: 'user', content: line });
    const reply = builtInReply(vehicle, messages);
    replies.push(reply);
    messages.push({ role: 'assistant', content: reply.text });
    if (reply.type === 'diagnosis') break;
  }
  return replies;
}

describe('built-in diagnosis engine', () => {
  it('grinding when braking → worn brake pads, high severity, urgent', () => {
    const replies = converse(car, [
      'There is a horrible grinding noise',
      'Only when I brake, getting worse for a week',
    ]);
    const last = replies.at(-1)!;
    expect(replies[0].type).toBe('question');
    expect(last.type).toBe('diagnosis');
    if (last.type !== 'diagnosis') return;
    expect(DiagnosisSchema.parse(last.diagnosis)).toBeTruthy();
    expect(last.diagnosis.possible_causes[0].cause).toMatch(/brake pads/i);
    expect(last.diagnosis.severity).toBe('high');
    expect(last.diagnosis.urgent_workshop_visit).toBe(true);
  });

  it('P0300 and a rough idle → misfire causes first', () => {
    const [reply] = converse({ ...car, obd_codes: ['P0300'] }, [
      'The engine idles rough and shakes, check engine light is on',
    ]);
    expect(reply.type).toBe('diagnosis');
    if (reply.type !== 'diagnosis') return;
    expect(reply.diagnosis.possible_causes[0].cause).toMatch(/misfire/i);
    expect(reply.diagnosis.possible_causes[0].explanation).toContain('P0300');
    expect(reply.diagnosis.possible_causes.map((c) => c.cause).join()).toMatch(/vacuum/i);
    expect(reply.confidence).toBeGreaterThan(0.7);
  });

  it('finds codes written in the message too', () => {
    const [reply] = converse(car, ['My scanner shows p0420 and there is a rotten egg smell']);
    expect(reply.type === 'diagnosis' && reply.diagnosis.possible_causes[0].cause).toMatch(/catalytic/i);
  });

  it('overheating with steam is critical', () => {
    const replies = converse(car, [
      'The temperature gauge goes to red and I saw steam from the bonnet',
      'It started yesterday',
    ]);
    const last = replies.at(-1)!;
    expect(last.type === 'diagnosis' && last.diagnosis.severity).toBe('critical');
  });

  it('asks targeted follow-ups, never the same twice, and gives up after three with a low-confidence answer', () => {
    const replies = converse(car, ['Something feels off', 'Not sure', 'Hard to say', 'No idea']);
    const questions = replies.filter((r) => r.type === 'question').map((r) => r.text);
    expect(questions).toHaveLength(3);
    expect(new Set(questions).size).toBe(3);
    const last = replies.at(-1)!;
    expect(last.type).toBe('diagnosis');
    expect(last.confidence).toBeLessThan(0.5);
  });

  it('skips a follow-up the owner already answered', () => {
    const [reply] = converse(car, ['Clicking noise']);
    expect(reply.type).toBe('question');
    expect(reply.text).toMatch(/^When does it happen/);
    const next = converse(car, ['Clicking when I turn']);
    expect(next[0].text).not.toMatch(/^When does it happen/);
  });

  it('is deterministic', () => {
    expect(converse(car, ['grinding when braking'])).toEqual(converse(car, ['grinding when braking']));
  });
});
