/**
 * The built-in diagnosis engine: deterministic and rule-based, driven by the data files beside it.
 * It scores causes by the symptoms the owner describes (and OBD-II codes), asks targeted follow-ups
 * until one cause stands out, then answers with a structured diagnosis. Pure: no I/O, no clock.
 */
import { z } from 'zod';
import knowledge from './knowledge.json' with { type: 'json' };
import obd from './obd-codes.json' with { type: 'json' };

export const severities = ['low', 'medium', 'high', 'critical'] as const;

// Strict objects: the same schema is the JSON Schema an LLM provider must answer in (strict mode).
export const DiagnosisSchema = z
  .strictObject({
    possible_causes: z
      .array(
        z.strictObject({ cause: z.string().min(1), probability: z.number().min(0).max(1), explanation: z.string() }),
      )
      .min(1)
      .max(5),
    severity: z.enum(severities),
    recommended_actions: z.array(z.string().min(1)).min(1).max(10),
    estimated_cost_min: z.number().nonnegative(),
    estimated_cost_max: z.number().nonnegative(),
    currency: z.string().regex(/^[A-Z]{3}$/),
    urgent_workshop_visit: z.boolean(),
    confidence: z.number().min(0).max(1),
  })
  .refine((d) => d.estimated_cost_min <= d.estimated_cost_max, {
    message: 'estimated_cost_min must not exceed estimated_cost_max',
    path: ['estimated_cost_max'],
  });
export type Diagnosis = z.infer<typeof DiagnosisSchema>;

export interface ConversationMessage {
  role: 'user' | 'assistant';
  content: string;
}
export interface Vehicle {
  make: string;
  model: string;
  year: number;
  mileage: number;
  vin?: string | null;
  obd_codes?: string[];
}

export type Reply =
  | { type: 'question'; text: string; confidence: number }
  | { type: 'diagnosis'; text: string; confidence: number; diagnosis: Diagnosis };

// The data files are checked when loaded: a typo in them fails at start-up, not mid-conversation.
const Knowledge = z.object({
  causes: z.array(
    z.object({
      id: z.string(),
      cause: z.string(),
      keywords: z.record(z.string(), z.number().positive()),
      severity: z.enum(severities),
      explanation: z.string(),
      actions: z.array(z.string()).min(1),
      cost: z.tuple([z.number(), z.number()]),
    }),
  ),
  followups: z.array(z.object({ id: z.string(), question: z.string(), answers: z.array(z.string()) })),
});
const ObdCodes = z.object({
  codes: z.record(z.string(), z.object({ meaning: z.string(), causes: z.array(z.string()) })),
});

const { causes, followups } = Knowledge.parse(knowledge);
const { codes } = ObdCodes.parse(obd);
/** Score at which one cause is clear enough to diagnose without asking more. */
const CONFIDENT_SCORE = 6;
const CODE_WEIGHT = 6;
const MAX_FOLLOWUPS = 3;
const CURRENCY = 'USD';

export const OBD_CODE = /\b[PBCU][0-3][0-9A-F]{3}\b/gi;

/** OBD-II codes from the vehicle and from anything the owner wrote. */
export function codesIn(vehicle: Vehicle, text: string): string[] {
  return [...new Set([...(vehicle.obd_codes ?? []), ...(text.match(OBD_CODE) ?? [])].map((c) => c.toUpperCase()))];
}

function score(text: string, found: string[]) {
  return causes
    .map((c) => {
      const words = Object.entries(c.keywords).filter(([stem]) => text.includes(stem));
      const byCode = found.filter((code) => codes[code]?.causes.includes(c.id));
      return { cause: c, score: words.reduce((sum, [, w]) => sum + w, 0) + byCode.length * CODE_WEIGHT, codes: byCode };
    })
    .filter((s) => s.score > 0)
    .sort((a, b) => b.score - a.score);
}

const round2 = (n: number) => Math.round(n * 100) / 100;

function diagnose(scored: ReturnType<typeof score>): Reply {
  if (!scored.length) {
    const diagnosis: Diagnosis = {
      possible_causes: [
        {
          cause: 'Not identifiable from the description',
          probability: 1,
          explanation: 'The symptoms described do not match a known pattern well enough.',
        },
      ],
      severity: 'medium',
      recommended_actions: ['Have a mechanic inspect the car and read the fault memory'],
      estimated_cost_min: 50,
      estimated_cost_max: 150,
      currency: CURRENCY,
      urgent_workshop_visit: false,
      confidence: 0.2,
    };
    return {
      type: 'diagnosis',
      text: 'I could not narrow this down from the description; a workshop inspection is the next step.',
      confidence: 0.2,
      diagnosis,
    };
  }
  const top = scored.slice(0, 3);
  const total = top.reduce((sum, s) => sum + s.score, 0);
  const likely = top.map((s) => ({ ...s, probability: round2(s.score / total) }));
  const relevant = likely.filter((s, i) => i === 0 || s.probability >= 0.25);
  const severity = severities[Math.max(...relevant.map((s) => severities.indexOf(s.cause.severity)))];
  const confidence = round2(Math.min(0.95, likely[0].score / (likely[0].score + 4)));
  const diagnosis: Diagnosis = {
    possible_causes: likely.map((s) => ({
      cause: s.cause.cause,
      probability: s.probability,
      explanation: s.codes.length
        ? `${s.cause.explanation} Codes: ${s.codes.map((c) => `${c} (${codes[c].meaning})`).join(', ')}.`
        : s.cause.explanation,
    })),
    severity,
    recommended_actions: [...new Set(relevant.flatMap((s) => s.cause.actions))].slice(0, 8),
    estimated_cost_min: Math.min(...relevant.map((s) => s.cause.cost[0])),
    estimated_cost_max: Math.max(...relevant.map((s) => s.cause.cost[1])),
    currency: CURRENCY,
    urgent_workshop_visit: severity === 'high' || severity === 'critical',
    confidence,
  };
  const text =
    `Most likely: ${likely[0].cause.cause} (${Math.round(likely[0].probability * 100)} %). Severity: ${severity}. ` +
    `Estimated cost ${diagnosis.estimated_cost_min}–${diagnosis.estimated_cost_max} ${CURRENCY}.` +
    (diagnosis.urgent_workshop_visit ? ' Please book a workshop visit soon.' : '');
  return { type: 'diagnosis', text, confidence, diagnosis };
}

/** The next assistant turn for a conversation: a follow-up question or the diagnosis. */
export function builtInReply(vehicle: Vehicle, messages: ConversationMessage[]): Reply {
  const text = messages
    .filter((m) => m.role === 'user')
    .map((m) => m.content.toLowerCase())
    .join(' \n ');
  const scored = score(text, codesIn(vehicle, text));
  const asked = followups.filter((f) => messages.some((m) => m.role === 'assistant' && m.content === f.question));
  const topScore = scored[0]?.score ?? 0;
  if (topScore >= CONFIDENT_SCORE || asked.length >= MAX_FOLLOWUPS) return diagnose(scored);
  // The first follow-up not asked yet whose answer the owner has not already given.
  const next = followups.find((f) => !asked.includes(f) && !f.answers.some((a) => text.includes(a)));
  if (!next) return diagnose(scored);
  return { type: 'question', text: next.question, confidence: round2(Math.min(0.95, topScore / (topScore + 4))) };
}
