/**
 * An OpenAI-compatible chat-completions provider (OpenAI, Ollama, vLLM, LiteLLM) asked for the next
 * assistant turn as structured output. Failures are classified for Temporal's retries: 408/409/429/5xx
 * and network errors are retryable (honouring retry-after-ms / retry-after), the rest are not.
 */
import { request } from 'undici';
import { z } from 'zod';
import { DiagnosisSchema, type ConversationMessage, type Reply, type Vehicle } from './engine.js';

export interface ProviderSettings {
  baseUrl: string;
  apiKey?: string;
  model: string;
  timeoutMs: number;
}

export const ProviderTurn = z.strictObject({
  type: z.enum(['question', 'diagnosis']),
  text: z.string().min(1).max(4000),
  confidence: z.number().min(0).max(1),
  diagnosis: DiagnosisSchema.nullable(),
});

const { $schema: _draft, ...turnJsonSchema } = z.toJSONSchema(ProviderTurn) as Record<string, unknown>;

export class ProviderError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
}

const SYSTEM_PROMPT = `You are a careful car mechanic helping an owner by chat. Ask one short, targeted follow-up
question at a time until you are confident, then give a diagnosis. Answer only as JSON in the given schema:
type "question" (diagnosis null) or type "diagnosis" (with possible_causes whose probabilities sum to about 1,
severity, recommended_actions, estimated cost range and currency, urgent_workshop_visit, confidence).`;

function retryAfter(headers: Record<string, string | string[] | undefined>): number | null {
  const one = (h: string | string[] | undefined) => (Array.isArray(h) ? h[0] : h);
  const ms = Number(one(headers['retry-after-ms']));
  if (Number.isFinite(ms) && ms >= 0 && one(headers['retry-after-ms']) !== undefined) return ms;
  const value = one(headers['retry-after']);
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** One chat completion; `correction` asks again after an answer that failed validation. */
async function complete(
  settings: ProviderSettings,
  vehicle: Vehicle,
  messages: ConversationMessage[],
  correction?: string,
): Promise<unknown> {
  const body = {
    model: settings.model,
    messages: [
      { role: 'system', content: `${SYSTEM_PROMPT}\nVehicle: ${JSON.stringify(vehicle)}` },
      ...messages.map((m) => ({ role: m.role, content: m.content })),
      ...(correction
        ? [
            {
              role: 'system',
              content: `Your previous answer was invalid (${correction}). Answer again, exactly in the schema.`,
            },
          ]
        : []),
    ],
    response_format: {
      type: 'json_schema',
      json_schema: { name: 'diagnosis_turn', schema: turnJsonSchema, strict: true },
    },
  };
  let res;
  try {
    res = await request(`${settings.baseUrl.replace(/\/$/, '')}/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {}),
      },
      body: JSON.stringify(body),
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
    });
  } catch (error) {
    throw new ProviderError(`provider unreachable: ${(error as Error).message}`, true);
  }
  const text = await res.body.text();
  if (res.statusCode >= 400) {
    let code: string | undefined;
    try {
      code = (JSON.parse(text) as { error?: { code?: string; type?: string } }).error?.code ?? undefined;
    } catch {
      code = undefined;
    }
    const retryable =
      code !== 'insufficient_quota' &&
      [408, 409, 429].concat(res.statusCode >= 500 ? [res.statusCode] : []).includes(res.statusCode);
    throw new ProviderError(
      `provider answered ${res.statusCode}${code ? ` (${code})` : ''}`,
      retryable,
      retryable ? retryAfter(res.headers) : null,
    );
  }
  const message = (
    JSON.parse(text) as { choices?: Array<{ message?: { content?: string | null; refusal?: string | null } }> }
  ).choices?.[0]?.message;
  if (message?.refusal) return { refusal: message.refusal };
  try {
    return JSON.parse(message?.content ?? '');
  } catch {
    return { invalid_json: message?.content ?? null };
  }
}

/** The provider's next turn, validated; one corrective retry; null when it still does not validate. */
export async function providerReply(
  settings: ProviderSettings,
  vehicle: Vehicle,
  messages: ConversationMessage[],
): Promise<Reply | null> {
  let correction: string | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    const parsed = ProviderTurn.safeParse(await complete(settings, vehicle, messages, correction));
    if (parsed.success) {
      const turn = parsed.data;
      if (turn.type === 'diagnosis' && turn.diagnosis)
        return { type: 'diagnosis', text: turn.text, confidence: turn.confidence, diagnosis: turn.diagnosis };
      if (turn.type === 'question') return { type: 'question', text: turn.text, confidence: turn.confidence };
      correction = 'type "diagnosis" needs a diagnosis';
    } else {
      correction = parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || 'answer'}: ${i.message}`)
        .join('; ');
    }
  }
  return null;
}
